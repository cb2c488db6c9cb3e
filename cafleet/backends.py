"""The coding agents cafleet can spawn into a pane, and how each is started and polled."""

from __future__ import annotations

import re
import shutil
from typing import NamedTuple

from cafleet.errors import InvalidInput, Refused

_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}")


class Backend(NamedTuple):
    name: str
    binary: str
    # Seconds after launch before the agent reliably takes input (measured: opencode drops
    # everything for ~4 s, claude loses an Enter in its first ~0.5 s).
    ready_after: float

    def argv(self, executable: str, name: str, prompt: str, model: str | None) -> list[str]:
        if self.name == "claude":
            argv = [executable, "--permission-mode", "dontAsk", "--name", name]
            if model:
                argv += ["--model", model]
            return argv + [prompt]
        if self.name == "codex":
            argv = [executable, "--ask-for-approval", "never", "--sandbox", "workspace-write"]
            if model:
                argv += ["--model", model]
            return argv + [prompt]
        argv = [executable]
        if model:
            argv += ["--model", model]
        return argv + ["--prompt", prompt]


BACKENDS = {
    "claude": Backend("claude", "claude", ready_after=1.0),
    "codex": Backend("codex", "codex", ready_after=2.0),
    "opencode": Backend("opencode", "opencode", ready_after=5.0),
}


def backend(name: str) -> Backend:
    try:
        return BACKENDS[name]
    except KeyError:
        raise InvalidInput(f"coding agent {name!r} is not supported; use one of {', '.join(BACKENDS)}") from None


def validate_model(backend_name: str, model: str | None) -> str | None:
    if model is None:
        return None
    if not _MODEL.fullmatch(model):
        raise InvalidInput(f"--model {model!r} is not a model name; use e.g. sonnet, gpt-5 or anthropic/claude-sonnet-4")
    if backend_name == "opencode" and "/" not in model:
        raise InvalidInput(f"--model {model!r}: opencode wants provider/model, e.g. anthropic/claude-sonnet-4")
    return model


def locate(backend_name: str) -> str:
    """The absolute path of the backend's binary, or a refusal that says how to get it."""
    spec = backend(backend_name)
    path = shutil.which(spec.binary)
    if path is None:
        raise Refused(
            f"coding agent {spec.binary!r} is not on PATH; install it or pick another with --coding-agent "
            f"({', '.join(BACKENDS)})"
        )
    return path


def ready_after(backend_name: str) -> float:
    spec = BACKENDS.get(backend_name)
    return spec.ready_after if spec else 1.0


def poll_command(fleet_id: int, agent_id: int) -> str:
    """What an agent runs to read its inbox (typed by `member ping` and the monitor)."""
    return f"cafleet --fleet-id {fleet_id} message poll --agent-id {agent_id}"
