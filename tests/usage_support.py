"""The usage files the real agents wrote (tests/fixtures/usage, made by
`CAFLEET_CAPTURE_USAGE_FILES=DIR pytest -m realagents tests/test_real_agents_usage.py`), put
where each agent keeps them under a test's HOME, and what the loopback model reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import NamedTuple

from cafleet.core.usage import Tokens

FIXTURES = Path(__file__).parent / "fixtures" / "usage"
BACKENDS = ("claude", "codex", "opencode", "gemini", "qwen", "pi")
SESSIONS = {
    "claude": "802f0907-9227-4fb2-8642-77b72322ad75",
    "codex": "01a24ee7-f91a-7e91-ba42-dd6b6bc09934",
    "opencode": "ses_db117b6a8ffermABdFkfA14Bx3",
    "gemini": "a86daf50-c5fa-4e30-8a71-5962fc191356",
    "qwen": "b30af2b4-2284-4049-8e6a-eaf6dc05da23",
    "pi": "01a24ee8-bdf4-74a9-82ed-888b4c63b6ef",
}
MODELS = {
    "claude": "claude-opus-5-5",
    "codex": "scripted",
    "opencode": "loop",
    "gemini": "gemini-3.1-pro-preview",
    "qwen": "scripted-loop",
    "pi": "loop",
}


class Installed(NamedTuple):
    session_id: str
    environment: dict[str, str]
    path: Path  # the file (opencode: the database) the agent wrote


def install(backend: str, home: Path) -> Installed:
    """Put `backend`'s captured file where the agent keeps it under `home`."""
    session = SESSIONS[backend]
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    target = {
        "claude": home / ".claude" / "projects" / "-work" / f"{session}.jsonl",
        "codex": home / ".codex" / "sessions" / "2026" / "12" / "07" / f"rollout-2026-12-07T05-09-15-{session}.jsonl",
        "opencode": home / ".local" / "share" / "opencode" / "opencode.db",
        "gemini": home / ".gemini" / "tmp" / "work" / "chats" / f"session-2026-12-07T05-09-{session[:8]}.jsonl",
        "qwen": home / ".qwen" / "projects" / "-work" / "chats" / f"{session}.jsonl",
        "pi": home / ".pi" / "agent" / "sessions" / "--work--" / f"2026-12-07T05-10-05-560Z_{session}.jsonl",
    }[backend]
    target.parent.mkdir(parents=True, exist_ok=True)
    source = FIXTURES / "opencode" / "opencode.db" if backend == "opencode" else FIXTURES / f"{backend}.jsonl"
    shutil.copyfile(source, target)
    return Installed(session, env, target)


def model_answers(backend: str) -> list[Tokens]:
    """What the loopback model reported for each answer the member's agent asked for in its
    conversation (requests offering the agent's tools; side requests, a title, offer none)."""
    answers = []
    for line in (FIXTURES / f"{backend}.model.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["usage"] and record["tools"]:
            fresh, cached, output = record["usage"]
            answers.append(Tokens(fresh, cached, output))
    return answers
