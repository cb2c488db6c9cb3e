"""Usage read from the real agents' own files (marker `realagents`).

One real member of each kind answers one message from the scripted loopback model, whose
every answer reports known, distinct token counts (`tests.realagents.script.usage_of`); then
`member list --usage` must show exactly the sums of what the model reported for that member's
conversation, and the context used must be the last answer's prompt.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.realagents.harness import ROUTES, SHELL_TOOLS, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, create_worker, fleet_json, real_agents, send, under_test  # noqa: F401

pytestmark = pytest.mark.realagents
# Set to a directory to keep each agent's own files there (how tests/fixtures/usage was made).
CAPTURE = os.environ.get("CAFLEET_CAPTURE_USAGE_FILES")
AGENT_STATE = (
    ".claude/projects",
    ".codex/sessions",
    ".local/share/opencode",
    ".gemini/tmp",
    ".qwen/projects",
    ".pi/agent/sessions",
)


@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_capture(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend)
            task = send(cafleet, field, fleet, director, "hello there")

            def answered():
                shown = fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task))
                return shown["state"] == "completed"

            wait_until(answered, 180, "the answer")

            def session():
                (row,) = fleet_json(cafleet, field, fleet, "member", "list", "--agent-id", str(director), "--activity")
                return row["session"]["id"] and row["activity"]["state"] == "ready"

            wait_until(session, 90, "the session")
            if CAPTURE:
                target = Path(CAPTURE) / backend
                for part in AGENT_STATE:
                    source = field.home / part
                    if source.exists():
                        shutil.copytree(
                            source, target / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules", "*.sock")
                        )
                shutil.copy(tmp_path / "model.jsonl", target / "model.jsonl")
        finally:
            stop_field(field)
