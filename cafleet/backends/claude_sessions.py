"""Where Claude Code keeps its conversations, and finding a member's (claude-code 2.1.330).

Claude saves a conversation from its first submitted prompt on, as
`<config>/projects/<cwd, each character but letters and digits as '-'>/<session id>.jsonl`,
where <config> is $CLAUDE_CONFIG_DIR, else ~/.claude. Each record carries the session id and
the cwd; the first `user` record is the first prompt. `--session-id UUID` starts a new
conversation under an id chosen beforehand, and `--resume UUID` continues it, still under
that id (both measured against the loopback model).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, head, home, only, same_directory, stamp_seconds, written_since


def config_dir(environment: Mapping[str, str]) -> Path:
    configured = environment.get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else home(environment) / ".claude"


def project_dir(environment: Mapping[str, str], cwd: Path) -> Path:
    """Where claude saves the conversations of agents started in `cwd`."""
    return config_dir(environment) / "projects" / re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def transcript(environment: Mapping[str, str], session_id: str) -> Path | None:
    """The saved conversation `session_id`, wherever its project directory is named."""
    found = sorted((config_dir(environment) / "projects").glob(f"*/{session_id}.jsonl"))
    return found[0] if found else None


def find_session(probe: SessionProbe) -> str | None:
    candidates = written_since((config_dir(probe.environment) / "projects").glob("*/*.jsonl"), probe.started_at)
    return only([path.stem for path in candidates if _first_prompt_is_ours(path, probe)])


def _first_prompt_is_ours(path: Path, probe: SessionProbe) -> bool:
    for record in head(path):
        if record.get("type") != "user" or record.get("isSidechain"):
            continue
        started = stamp_seconds(record.get("timestamp"))
        if started is None or started < probe.started_at - START_SLACK_SECONDS:
            return False
        return same_directory(record.get("cwd"), probe.cwd) and probe.marker in _text(record.get("message"))
    return False


def _text(message: object) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(block.get("text", "") for block in content if isinstance(block, dict) and block.get("type") == "text")
    return ""
