"""`fleet restore` with the real claude, codex and opencode builds (marker `realagents`).

A Director (the stand-in) spawns a member of each agent with the default `member create`; the
member takes a turn holding a unique word; once its session is recorded (claude's chosen id;
codex's and opencode's found by the courier), every process of the fleet is SIGKILLed and the
tmux server with them, as a reboot would. Messages sent meanwhile wait. On a new tmux server on
the same socket the Director's agent starts again in the first pane, and `fleet restore` run
there resumes the member: the waiting notices each reach the model exactly once, in order, and
a message sent after the restore is acted on (acked and answered with cafleet) in a request
that still carries the first turn. The model is the scripted loopback server in tests/realagents.
Set CAFLEET_REAL_AGENT_RUNS to repeat it, CAFLEET_REAL_AGENT_TIMINGS to a file to collect the times.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from cafleet.core.domain import LOST_PANE_SKIPS, NOTICE_PENDING
from tests.panes_support import couriers_of
from tests.realagents.fleet_restart import kill_fleet, new_server, restore
from tests.realagents.harness import ROUTES, SHELL_TOOLS, director_inputs, pane_text, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.realagents.script import FINAL_TEXT
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, create_worker, fleet_json, real_agents, send  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")
RUNS = int(os.environ.get("CAFLEET_REAL_AGENT_RUNS", "1"))
WHILE_DOWN = 2  # messages sent while the fleet is down


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_fleet_restore_resumes_a_real_member_and_delivers_what_waited_once(real_agents, tmp_path, backend, run):
    cafleet = cafleet_command()[0]
    tool = SHELL_TOOLS[backend]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:

            def turns_with(text):
                return [r for r in server.requests if r.is_agent_turn(tool) and text in r.last_text]

            def task(task_id):
                return fleet_json(
                    cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task_id)
                )

            def answered(task_id):
                """The member acked the message and its reply reached the Director's inbox."""
                inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--all", "--full")
                replies = [t for t in inbox if t["reply_to_id"] == task_id and t["from_agent_id"] == member]
                return task(task_id)["state"] == "completed" and replies

            def member_row():
                (row,) = fleet_json(cafleet, field, fleet, "member", "list", "--agent-id", str(director), "--activity")
                return row

            def turn_over(text):
                """The model answered the turn holding `text` and the agent shows it ready: it saved the turn."""
                finals = [r for r in server.requests if r.is_agent_turn(tool) and r.after_tool_result and r.carries(text)]
                return finals and member_row()["activity"]["state"] == "ready"

            def wait(predicate, timeout, what):
                """`wait_until`, failing with the member's state, its notices and its screen."""
                try:
                    return wait_until(predicate, timeout, f"{backend}: {what}", interval=0.3)
                except AssertionError as exc:
                    row = member_row()
                    statuses = {t: task(t)["notify_status"] for t in sent}
                    screen = pane_text(field, row["placement"]["tmux_pane_id"]) if row["activity"]["pane_alive"] else ""
                    lines = "\n".join(line.rstrip() for line in screen.splitlines() if line.strip())
                    raise AssertionError(
                        f"{exc}; notices {statuses}, the member {row['activity']}, its screen:\n{lines[-3000:]}"
                    ) from None

            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend)
            word = f"amber-{uuid.uuid4().hex[:8]}"
            first = send(cafleet, field, fleet, director, f"remember the word {word}")
            sent = [first]
            wait(lambda: answered(first), 120, "the answer to the first message")
            (first_turn,) = turns_with(word)
            wait(lambda: turn_over(word), 60, "the first turn to end")
            session = wait(lambda: member_row()["session"]["id"], 60, "the member's session to be recorded")
            # claude's is the id cafleet chose at spawn; codex's and opencode's the courier found.
            assert session == first_turn.conversation  # the conversation the model saw

            kill_fleet(field)
            waiting = [send(cafleet, field, fleet, director, f"while you were gone {n}") for n in range(WHILE_DOWN)]
            sent += waiting
            wait_until(lambda: not couriers_of(), 30, "no courier (its tmux server is gone)")
            for task_id in waiting:
                assert task(task_id)["notify_status"] in (NOTICE_PENDING, *LOST_PANE_SKIPS)
            assert not turns_with("while you were gone")

            field = new_server(field, tmp_path / "director-again.jsonl")
            restore_started = time.monotonic()
            restored = restore(cafleet, field, fleet)
            assert restored.returncode == 0, restored.stderr + restored.stdout
            assert f"moved to this pane, {field.director_pane}." in restored.stdout
            assert f"worker#{member} ({backend}): resumed its conversation {session} in pane %" in restored.stdout, (
                restored.stdout
            )
            row = member_row()
            assert row["session"]["restores"] == 1 and row["session"]["id"] == session
            assert row["placement"]["tmux_server_pid"] == field.server_pid
            pane = row["placement"]["tmux_pane_id"]

            # What waited is typed into the resumed agent, and acted on.
            for task_id in waiting:
                wait(lambda t=task_id: answered(t), 180, f"the answer to task {task_id} after the restore")
            ready_s = time.monotonic() - restore_started
            wait(lambda: turn_over(f"[cafleet msg {waiting[-1]} "), 60, "the last waiting notice's turn to end")
            later = send(cafleet, field, fleet, director, "second message: which word did I ask you to remember?")
            sent.append(later)
            wait(lambda: answered(later), 120, "the answer to the message sent after the restore")
            answered_s = time.monotonic() - restore_started

            # Each notice reached the model once: one user text of the resumed conversation, never
            # two (opencode sends the notices typed before its first turn went out in one request).
            heads = [f"[cafleet msg {task_id} " for task_id in [*waiting, later]]
            agent_turns = [r for r in server.requests if r.is_agent_turn(tool) and not r.after_tool_result]
            for head in heads:
                carrying = [r for r in agent_turns if r.carries(head)]
                assert carrying and all(sum(head in t for t in r.texts) == 1 for r in carrying), head
                assert carrying[0].conversation == session and carrying[0].carries(word)  # resumed: turn 1 is there
            positions = [next(i for i, t in enumerate(agent_turns[-1].texts) if head in t) for head in heads]
            assert positions == sorted(positions)  # in the order they were sent
            (after,) = turns_with(heads[-1])  # the message sent after the restore: a turn of its own
            assert after.conversation == first_turn.conversation == session  # the same conversation, resumed
            assert server.remembers(word, "second message:") == [after]  # the new turn carries the first
            for task_id in [*waiting, later]:
                assert task(task_id)["notify_status"] == "delivered"
            # The member's replies reached the Director's new pane, each once.
            replies = [
                t["task_id"]
                for t in fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--all", "--full")
                if t["from_agent_id"] == member and t["reply_to_id"] in [*waiting, later]
            ]
            assert len(replies) == WHILE_DOWN + 1
            for reply in replies:
                notice = f"[cafleet msg {reply} from worker#{member}"
                wait_until(
                    lambda n=notice: [t for t in director_inputs(field) if t.startswith(n)],
                    30,
                    f"{notice} in the Director's pane",
                )
                assert len([t for t in director_inputs(field) if t.startswith(notice)]) == 1
            screen = pane_text(field, pane)
            assert FINAL_TEXT in screen and "denied" not in screen.lower(), screen[-2000:]

            # Restoring again starts nothing: the member runs.
            twice = restore(cafleet, field, fleet)
            assert twice.returncode == 0 and f"worker#{member} ({backend}): still running in pane {pane}" in twice.stdout
            if TIMINGS:
                with open(TIMINGS, "a") as out:
                    record = {
                        "backend": backend,
                        "restore_to_waiting_answered_s": round(ready_s, 2),
                        "restore_to_next_answer_s": round(answered_s, 2),
                    }
                    out.write(json.dumps(record) + "\n")
        finally:
            stop_field(field)
