"""Where Codex keeps its sessions, and finding a member's (codex 0.169.0).

Codex writes each session to `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`
(CODEX_HOME defaults to ~/.codex). Its first record is `session_meta` (id, start time, cwd);
the first prompt follows as a `response_item` user message, after the `<environment_context>`
message codex adds itself. Codex picks the id itself (no option fixes it), so a member's
session is the one started in its cwd after its pane whose first prompt holds its marker:
two members started the same second in the same directory differ by their markers.
`codex resume <id>` continues it under the same id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, head, home, only, same_directory, stamp_seconds, written_since

# Texts codex puts in user messages itself, before the user's own prompt.
_OWN = ("<environment_context>", "<user_instructions>", "<skills_instructions>", "# AGENTS.md")


def codex_home(environment: Mapping[str, str]) -> Path:
    configured = environment.get("CODEX_HOME")
    return Path(configured) if configured else home(environment) / ".codex"


def rollout(environment: Mapping[str, str], session_id: str) -> Path | None:
    """The saved session `session_id`, whichever day it was started."""
    found = sorted((codex_home(environment) / "sessions").glob(f"*/*/*/rollout-*-{session_id}.jsonl"))
    return found[0] if found else None


def find_session(probe: SessionProbe) -> str | None:
    rollouts = (codex_home(probe.environment) / "sessions").glob("*/*/*/rollout-*.jsonl")
    return only([found for path in written_since(rollouts, probe.started_at) if (found := _ours(path, probe))])


def _ours(path: Path, probe: SessionProbe) -> str | None:
    """The session id of `path` when it is this member's session."""
    records = head(path)
    meta = next(records, {})
    payload = meta.get("payload") if meta.get("type") == "session_meta" else None
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
        return None
    started = stamp_seconds(payload.get("timestamp"))
    if started is None or started < probe.started_at - START_SLACK_SECONDS or not same_directory(payload.get("cwd"), probe.cwd):
        return None
    for record in records:
        text = _user_text(record)
        if text is not None and not text.lstrip().startswith(_OWN):
            return payload["id"] if probe.marker in text else None
    return None


def _user_text(record: dict) -> str | None:
    item = record.get("payload")
    if record.get("type") != "response_item" or not isinstance(item, dict):
        return None
    if item.get("type") != "message" or item.get("role") != "user":
        return None
    parts = item.get("content")
    if not isinstance(parts, list):
        return None
    return "".join(part.get("text", "") for part in parts if isinstance(part, dict) and part.get("type") == "input_text")
