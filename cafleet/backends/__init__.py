"""The coding agents cafleet can spawn into a pane: `BACKENDS`, one per `CodingAgent`.

`base` says what every backend provides; `claude`, `codex`, `opencode`, `gemini`, `qwen` and `pi`
each start their agent, and `<agent>_screen` reads its screen (helpers in `screen_lines`). `standin` recognises and reads cafleet's stand-in agent, and starts it as the
`standin` coding agent of `cafleet demo` (found by `backend`, never offered as a choice).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from cafleet.backends.base import STATE_VARIABLES, Autonomy, Backend, SessionProbe, SpawnContext, SpawnPlan, WorktreeAccess
from cafleet.backends.claude import Claude
from cafleet.backends.codex import Codex
from cafleet.backends.gemini import Gemini
from cafleet.backends.opencode import Opencode
from cafleet.backends.pi import Pi
from cafleet.backends.qwen import Qwen
from cafleet.backends.standin import Standin
from cafleet.core.domain import CodingAgent
from cafleet.core.errors import InvalidInput, Refused
from cafleet.core.invocation import fleet_command

__all__ = [
    "Autonomy",
    "Backend",
    "BACKENDS",
    "STATE_VARIABLES",
    "SessionProbe",
    "SpawnContext",
    "SpawnPlan",
    "WorktreeAccess",
    "backend",
    "known_backend",
    "locate",
    "poll_command",
    "validate_model",
]

_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")

# One per `CodingAgent`, in its order (error messages list them so).
BACKENDS: dict[str, Backend] = {b.name: b for b in (Claude(), Codex(), Opencode(), Gemini(), Qwen(), Pi())}
_STANDIN = Standin()


def backend(name: str) -> Backend:
    """The built-in backend `name`, or the backend file of that name; a usage error naming the
    choices otherwise."""
    found = known_backend(name)
    if found is None:
        from cafleet.backends.backend_files import backends_directory, file_backend_names, is_file_path

        if is_file_path(name):
            raise InvalidInput(
                f"backend file {name} is not there any more; put it back, or delete the member with "
                "`cafleet member delete --force`"
            )

        files = file_backend_names()
        listed = ", ".join([*BACKENDS, *files])
        raise InvalidInput(
            f"coding agent {name!r} is not supported; use one of {listed}, or describe it in a backend file "
            f"{backends_directory() / (name + '.toml')} (see docs/backend-files.md)"
        )
    return found


def known_backend(name: str) -> Backend | None:
    """`backend(name)`, or None when there is none (a backend file, read only when no built-in
    has the name)."""
    if name == CodingAgent.STANDIN:
        return _STANDIN
    spec = BACKENDS.get(name)
    if spec is not None:
        return spec
    from cafleet.backends.backend_files import file_backend, file_backend_at, is_file_path

    if is_file_path(name):
        return file_backend_at(Path(name)) if os.path.isabs(name) else None
    return file_backend(name)


def validate_model(backend_name: str, model: str | None) -> str | None:
    if model is None:
        return None
    if not _MODEL.fullmatch(model):
        raise InvalidInput(f"--model {model!r} is not a model name; use e.g. sonnet, gpt-5 or anthropic/claude-sonnet-4")
    if backend_name == CodingAgent.OPENCODE and "/" not in model:
        raise InvalidInput(f"--model {model!r}: opencode wants provider/model, e.g. anthropic/claude-sonnet-4")
    return model


def locate(backend_name: str) -> str:
    """The absolute path of the backend's binary, or a refusal that says how to get it."""
    spec = backend(backend_name)
    path = shutil.which(spec.binary)
    if path is None:
        raise Refused(
            f"coding agent {spec.binary!r} is not on PATH; install it or pick another with --coding-agent ({', '.join(BACKENDS)})"
        )
    return path


def poll_command(fleet_id: int, agent_id: int) -> str:
    """What an agent runs to read its inbox (typed by `member ping` and the monitor)."""
    return f"{fleet_command(fleet_id)} message poll --agent-id {agent_id}"
