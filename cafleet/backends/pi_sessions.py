"""Where pi keeps its conversations, and finding a member's (pi-coding-agent 0.73.1).

Pi saves each session as `<session dir>/--<cwd, '/' as '-'>--/<start time>_<id>.jsonl`, where
<session dir> is $PI_CODING_AGENT_SESSION_DIR, else `<agent dir>/sessions` with <agent dir>
$PI_CODING_AGENT_DIR or ~/.pi/agent. Its first record is the header (`"type": "session"`: id, a
UUIDv7 pi picks itself, start time, cwd); each prompt is a `message` record whose message has
the role `user`. `pi --session <id>` continues it under the same id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, head, home, only, same_directory, stamp_seconds, written_since


def session_dir(environment: Mapping[str, str]) -> Path:
    if environment.get("PI_CODING_AGENT_SESSION_DIR"):
        return Path(environment["PI_CODING_AGENT_SESSION_DIR"])
    configured = environment.get("PI_CODING_AGENT_DIR")
    return (Path(configured) if configured else home(environment) / ".pi" / "agent") / "sessions"


def session_file(environment: Mapping[str, str], session_id: str) -> Path | None:
    """The saved session `session_id` once it holds a prompt."""
    for path in sorted(session_dir(environment).glob(f"*/*_{session_id}.jsonl")):
        if any(_prompt(record) is not None for record in head(path)):
            return path
    return None


def find_session(probe: SessionProbe) -> str | None:
    found = []
    for path in written_since(session_dir(probe.environment).glob("*/*.jsonl"), probe.started_at):
        records = head(path)
        header = next(records, {})
        started = stamp_seconds(header.get("timestamp"))
        if header.get("type") != "session" or not isinstance(header.get("id"), str):
            continue
        if (
            started is None
            or started < probe.started_at - START_SLACK_SECONDS
            or not same_directory(header.get("cwd"), probe.cwd)
        ):
            continue
        prompt = next((text for record in records if (text := _prompt(record)) is not None), "")
        if probe.marker in prompt:
            found.append(header["id"])
    return only(found)


def _prompt(record: dict) -> str | None:
    message = record.get("message") if record.get("type") == "message" else None
    if not isinstance(message, dict) or message.get("role") != "user":
        return None
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict) and part.get("type") == "text")
