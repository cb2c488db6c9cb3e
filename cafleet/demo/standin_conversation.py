"""The stand-in agent's saved conversation, kept where and as Claude Code keeps its own.

Started as claude starts (`--session-id ID PROMPT`), the stand-in saves every submitted turn to
`<claude config>/projects/<cwd>/<ID>.jsonl`, one `user` record per turn carrying the session id
and the cwd; `--resume ID` reads them back, and refuses as claude does when there is no such
conversation or the id is already used. So what cafleet does with a member's saved session
(find it, check it is saved, resume it) runs in the fast suite against the stand-in.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from cafleet.backends.claude_sessions import project_dir


class SessionArgs(NamedTuple):
    """What claude's argv asks of the conversation: a new one under `session_id`, or the one
    to `resume`; `prompt` is the first turn given on the command line, if any."""

    session_id: str | None
    resume: bool
    prompt: str


class SessionRefused(Exception):
    """claude's own refusal, printed before it exits 1."""


def session_args(argv: list[str]) -> SessionArgs | None:
    """claude's `--session-id ID [PROMPT]` or `--resume ID [PROMPT]` (cafleet puts them last)."""
    for flag, resume in (("--resume", True), ("--session-id", False)):
        if flag in argv:
            at = argv.index(flag)
            if at + 1 >= len(argv):
                return None
            rest = argv[at + 2 :]
            return SessionArgs(argv[at + 1], resume, rest[-1] if rest else "")
    return None


class Conversation:
    """One saved conversation: its earlier turns, and every new one appended as it is submitted."""

    def __init__(self, path: Path, session_id: str, earlier: list[str]):
        self.path, self.session_id, self.earlier = path, session_id, earlier

    @classmethod
    def open(cls, args: SessionArgs) -> Conversation:
        assert args.session_id is not None  # session_args returns ids only
        path = project_dir(os.environ, Path.cwd()) / f"{args.session_id}.jsonl"
        if args.resume:
            if not path.exists():
                raise SessionRefused(f"No conversation found with session ID: {args.session_id}")
            return cls(path, args.session_id, _turns(path))
        if path.exists():
            raise SessionRefused(f"Error: Session ID {args.session_id} is already in use.")
        return cls(path, args.session_id, [])

    def save_turn(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        record = {
            "type": "user",
            "sessionId": self.session_id,
            "cwd": os.getcwd(),
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message": {"role": "user", "content": text},
        }
        with self.path.open("a", encoding="utf-8") as saved:
            saved.write(json.dumps(record) + "\n")


def _turns(path: Path) -> list[str]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") == "user":
            content = (record.get("message") or {}).get("content")
            if isinstance(content, str):
                turns.append(content)
    return turns
