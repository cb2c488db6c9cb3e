"""Finding a member's opencode session (opencode 1.18.33), through opencode's own commands.

opencode keeps its sessions in a SQLite database under $XDG_DATA_HOME/opencode (default
~/.local/share/opencode/opencode.db), an internal format; its CLI is the interface:
`opencode session list --format json` (run in the project: id, created in ms, directory)
and `opencode export <id>` (the session's messages as JSON). opencode picks the id itself
(`ses_…`; `--session` with an id it does not know exits), so a member's session is the
one created in its cwd after its pane whose first user message holds its marker.
`opencode --session <id>` continues it under the same id. Each command costs opencode's
start-up, about a second of CPU.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from cafleet.backends.base import SessionProbe
from cafleet.backends.session_files import START_SLACK_SECONDS, only, same_directory

COMMAND_TIMEOUT_SECONDS = 60


def find_session(probe: SessionProbe) -> str | None:
    listed = _opencode(probe, "session", "list", "--format", "json")
    if not isinstance(listed, list):
        return None
    fresh = [
        entry["id"]
        for entry in listed
        if isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and isinstance(entry.get("created"), int | float)
        and entry["created"] / 1000 >= probe.started_at - START_SLACK_SECONDS
        and same_directory(entry.get("directory"), probe.cwd)
    ]
    return only([session for session in fresh if probe.marker in _first_user_text(_opencode(probe, "export", session))])


def _first_user_text(exported: object) -> str:
    messages = exported.get("messages") if isinstance(exported, dict) else None
    for message in messages if isinstance(messages, list) else []:
        info = message.get("info") if isinstance(message, dict) else None
        if isinstance(info, dict) and info.get("role") == "user":
            parts = message.get("parts")
            parts = parts if isinstance(parts, list) else []
            return "".join(part.get("text", "") for part in parts if isinstance(part, dict) and part.get("type") == "text")
    return ""


def _opencode(probe: SessionProbe, *args: str) -> object:
    """One opencode command's JSON output, in the member's directory and environment; None on failure."""
    executable = probe.executable or shutil.which("opencode", path=probe.environment.get("PATH"))
    if not executable:
        return None
    try:
        done = subprocess.run(
            [executable, *args],
            cwd=probe.cwd,
            env=dict(probe.environment),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
