"""The core loop with the real claude, codex and opencode npm builds (marker `realagents`).

For each backend, with default `member create` arguments: the spawn prompt is the member's
own first turn; a Director's message arrives as exactly one turn; the member's shell tool
runs cafleet (ack, then a reply) without any permission or sandbox edit; the reply lands in
the Director's inbox and its notice in the Director's pane. The model is the scripted
loopback server in tests/realagents (127.0.0.1 only); nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.conftest import cafleet_command
from tests.realagents.harness import (
    ROUTES, SHELL_TOOLS, agents_bin, cafleet_json, director_inputs, pane_text, start_field, stop_field, wait_until,
)
from tests.realagents.model_server import ModelServer
from tests.realagents.script import NOTICE

pytestmark = pytest.mark.realagents
RUNS = int(os.environ.get("CAFLEET_REAL_AGENT_RUNS", "1"))
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")  # a JSON Lines file to append timings to


@pytest.fixture
def real_agents():
    if agents_bin() is None:
        pytest.fail(
            "the real agents are not installed; run `npm install --prefix ~/.cache/cafleet-agents "
            "@anthropic-ai/claude-code@2.1.330 @openai/codex@0.169.0 opencode-ai@1.18.33` "
            "(or set CAFLEET_REAL_AGENTS_DIR), as .ci/run does"
        )


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_a_real_member_acks_and_answers(real_agents, tmp_path, backend, run):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            check_core_loop(tmp_path, field, server, cafleet, backend)
        finally:
            stop_field(field)


def check_core_loop(tmp_path, field, server, cafleet, backend):
    tool = SHELL_TOOLS[backend]
    created = cafleet_json(cafleet, field, "fleet", "create", "--label", f"real {backend}", "--coding-agent", "claude")
    fleet, director = created["fleet_id"], created["director"]["agent_id"]
    at = cafleet_json  # noqa: E731 (short alias below)

    spawned_at = time.monotonic()
    member = at(cafleet, field, "--fleet-id", str(fleet), "member", "create", "--agent-id", str(director),
                "--name", "worker", "--description", "does the work", "--coding-agent", backend)
    member_id, member_pane = member["agent_id"], member["placement"]["tmux_pane_id"]

    def agent_turns():
        return [r for r in server.requests if r.is_agent_turn(tool)]

    first = wait_until(lambda: agent_turns(), 90, f"{backend}'s first turn")[0]
    first_turn_s = time.monotonic() - spawned_at
    assert "You are worker" in first.last_text and not NOTICE.search(first.last_text), first.last_text

    sent = at(cafleet, field, "--fleet-id", str(fleet), "message", "send", "--agent-id", str(director),
              "--to", "worker", "--text", "please look at the parser")
    task_id = sent["task_id"]
    sent_at = time.monotonic()

    def task(task_id, as_agent):
        return at(cafleet, field, "--fleet-id", str(fleet), "message", "show", "--agent-id", str(as_agent), "--task-id", str(task_id))

    wait_until(lambda: task(task_id, director)["state"] == "completed", 90, f"{backend} to ack task {task_id}",
               interval=0.2)
    acked_at = time.monotonic()
    wait_until(lambda: task(task_id, director)["notify_status"] == "delivered", 10, "the notice's notify_status")

    def reply():
        inbox = at(cafleet, field, "--fleet-id", str(fleet), "message", "poll", "--agent-id", str(director))
        return [t for t in inbox if t["reply_to_id"] == task_id and t["from_agent_id"] == member_id]

    (answer,) = wait_until(reply, 60, "the reply in the Director's inbox", interval=0.2)
    landed = wait_until(
        lambda: [t for t in director_inputs(field) if t.startswith(f"[cafleet msg {answer['task_id']} from worker#{member_id}")],
        30, "the reply's notice in the Director's pane",
    )
    landed_s = time.monotonic() - acked_at
    assert len(landed) == 1
    assert wait_until(lambda: task(answer["task_id"], director)["notify_status"] == "delivered", 10, "the reply's notify_status")

    notice_turns = [r for r in agent_turns() if f"[cafleet msg {task_id} " in r.last_text]
    assert len(notice_turns) == 1, [r.last_text for r in agent_turns()]
    assert notice_turns[0].command and "message ack" in notice_turns[0].command
    results = [r for r in agent_turns() if r.after_tool_result]
    assert results, "the model never saw the tool's result"
    screen = pane_text(field, member_pane)
    assert "denied" not in screen.lower() and "command not found" not in screen, screen[-2000:]

    if TIMINGS:
        with open(TIMINGS, "a") as out:
            out.write(json.dumps({
                "backend": backend, "spawn_to_first_turn_s": round(first_turn_s, 2),
                "notice_to_ack_s": round(acked_at - sent_at, 2), "ack_to_reply_notice_s": round(landed_s, 2),
            }) + "\n")
