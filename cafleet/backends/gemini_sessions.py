"""Where Gemini CLI keeps its conversations, and finding a member's (gemini-cli 0.61.0).

Gemini saves each session from its start as `<gemini dir>/tmp/<project>/chats/session-<start
time>-<first 8 characters of its id>.jsonl`, where <gemini dir> is `$GEMINI_CLI_HOME/.gemini`
(default ~/.gemini) and <project> a short name for the working directory (its path is in the
folder's `.project_root`). The first record holds `sessionId` and `startTime`; the session's
own context (`<session_context>`) comes next, then each prompt as a `"type": "user"` record.
`--session-id UUID` starts a new session under an id chosen beforehand and `--resume UUID`
continues it, still under that id (both measured against the loopback model).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, head, home, only, same_directory, stamp_seconds, written_since

CONTEXT_MARK = "<session_context>"  # the text gemini opens every session with itself


def gemini_dir(environment: Mapping[str, str]) -> Path:
    configured = environment.get("GEMINI_CLI_HOME")
    return (Path(configured) if configured else home(environment)) / ".gemini"


def _chats(environment: Mapping[str, str], pattern: str = "session-*.jsonl"):
    return (gemini_dir(environment) / "tmp").glob(f"*/chats/{pattern}")


def session_file(environment: Mapping[str, str], session_id: str) -> Path | None:
    """The saved session `session_id` once it holds a prompt (an agent killed before its first
    prompt was submitted leaves only the session's head: nothing to resume)."""
    for path in sorted(_chats(environment, f"session-*-{session_id[:8]}.jsonl")):
        records = list(head(path))
        if records and records[0].get("sessionId") == session_id and any(_prompt(record) is not None for record in records):
            return path
    return None


def find_session(probe: SessionProbe) -> str | None:
    found = []
    for path in written_since(_chats(probe.environment), probe.started_at):
        if not same_directory(_project_root(path), probe.cwd):
            continue
        records = head(path)
        first = next(records, {})
        started = stamp_seconds(first.get("startTime"))
        if not isinstance(first.get("sessionId"), str) or started is None or started < probe.started_at - START_SLACK_SECONDS:
            continue
        prompt = next((text for record in records if (text := _prompt(record)) is not None), "")
        if probe.marker in prompt:
            found.append(first["sessionId"])
    return only(found)


def _project_root(chat: Path) -> str | None:
    try:
        return (chat.parent.parent / ".project_root").read_text().strip()
    except OSError:
        return None


def _prompt(record: dict) -> str | None:
    """A user's prompt in a session record, or None (gemini's own context, other records)."""
    if record.get("type") != "user":
        return None
    content = record.get("content")
    parts = content if isinstance(content, list) else [{"text": content}] if isinstance(content, str) else []
    text = "".join(part.get("text", "") for part in parts if isinstance(part, dict) and isinstance(part.get("text"), str))
    return None if text.lstrip().startswith(CONTEXT_MARK) else text
