"""Where Qwen Code keeps its conversations, and finding a member's (qwen-code 0.24.4).

Qwen saves a conversation from its first submitted prompt on, as `<qwen dir>/projects/<cwd,
each character but letters and digits as '-'>/chats/<session id>.jsonl`, where <qwen dir> is
$QWEN_HOME, else ~/.qwen. Each record carries the session id and the cwd; a prompt is a
`"type": "user"` record with `"provenance": "real_user"` (the skills and date reminders qwen
adds are parts of their own). `--session-id UUID` starts a new conversation under an id chosen
beforehand and `--resume UUID` continues it (both measured against the loopback model).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, head, home, only, same_directory, stamp_seconds, written_since

REMINDER = "<system-reminder>"


def qwen_dir(environment: Mapping[str, str]) -> Path:
    configured = environment.get("QWEN_HOME")
    return Path(configured) if configured else home(environment) / ".qwen"


def transcript(environment: Mapping[str, str], session_id: str) -> Path | None:
    """The saved conversation `session_id` once it holds a prompt."""
    for path in sorted((qwen_dir(environment) / "projects").glob(f"*/chats/{session_id}.jsonl")):
        if any(_prompt(record) is not None for record in head(path)):
            return path
    return None


def find_session(probe: SessionProbe) -> str | None:
    chats = (qwen_dir(probe.environment) / "projects").glob("*/chats/*.jsonl")
    return only([path.stem for path in written_since(chats, probe.started_at) if _first_prompt_is_ours(path, probe)])


def _first_prompt_is_ours(path: Path, probe: SessionProbe) -> bool:
    for record in head(path):
        prompt = _prompt(record)
        if prompt is None:
            continue
        started = stamp_seconds(record.get("timestamp"))
        if started is None or started < probe.started_at - START_SLACK_SECONDS:
            return False
        return same_directory(record.get("cwd"), probe.cwd) and probe.marker in prompt
    return False


def _prompt(record: dict) -> str | None:
    """The text someone typed, in a record that holds a prompt; None for every other record."""
    if record.get("type") != "user" or record.get("provenance", "real_user") != "real_user":
        return None
    message = record.get("message")
    parts = message.get("parts") if isinstance(message, dict) else None
    texts = [part["text"] for part in parts or [] if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return "".join(text for text in texts if not text.lstrip().startswith(REMINDER))
