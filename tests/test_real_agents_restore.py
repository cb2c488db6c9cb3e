"""`fleet restore` with the real claude, codex and opencode builds (marker `realagents`).

A Director (the stand-in) spawns a member of each agent with the default `member create`; the
member takes a turn holding a unique word; once its session is recorded (claude's chosen id;
codex's and opencode's found by the courier), every process of the fleet is SIGKILLed and the
tmux server with them, as a reboot would. Messages sent meanwhile wait. On a new tmux server on
the same socket the Director's agent starts again in the first pane, and `fleet restore` run
there resumes the member: the waiting notices each reach the model exactly once, in order, and
a message sent after the restore is acted on (acked and answered with cafleet) in a request
that still carries the first turn. And a member killed while the model still held its first
answer comes back ready and answers. The model is the scripted loopback server in
tests/realagents. Set CAFLEET_REAL_AGENT_RUNS to repeat the first test,
CAFLEET_REAL_AGENT_TIMINGS to a file to collect its times.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import pytest

from cafleet.core.domain import LOST_PANE_SKIPS, NOTICE_PENDING
from tests.panes_support import couriers_of, date_pane_back
from tests.realagents.fleet_restart import kill_fleet, new_server, restore
from tests.realagents.freezing import freeze
from tests.realagents.harness import (
    FIRST_TURN_S,
    ROUTES,
    SHELL_TOOLS,
    Field,
    director_inputs,
    pane_text,
    start_field,
    stop_field,
    wait_until,
)
from tests.realagents.model_server import ModelServer
from tests.realagents.script import FINAL_TEXT, SLOW_MARK
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, create_worker, fleet_json, real_agents  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")
RUNS = int(os.environ.get("CAFLEET_REAL_AGENT_RUNS", "1"))
WHILE_DOWN = 2  # messages sent while the fleet is down


class Scene:
    """A Director and its one real member (`worker`), seen through the cafleet CLI and the model."""

    def __init__(self, field: Field, server: ModelServer, backend: str, *options: str):
        self.cafleet = cafleet_command()[0]
        self.field, self.server, self.backend, self.tool = field, server, backend, SHELL_TOOLS[backend]
        self.fleet, self.director = create_fleet(field, self.cafleet, backend)
        self.member, _ = create_worker(field, self.cafleet, self.fleet, self.director, backend, *options)
        self.sent: list[int] = []

    def cli(self, *args: str):
        return fleet_json(self.cafleet, self.field, self.fleet, *args)

    def send(self, text: str) -> int:
        task_id = self.cli("message", "send", "--agent-id", str(self.director), "--to", "worker", "--text", text)["task_id"]
        self.sent.append(task_id)
        return task_id

    def task(self, task_id: int) -> dict:
        return self.cli("message", "show", "--agent-id", str(self.director), "--task-id", str(task_id))

    def replies(self) -> list[dict]:
        inbox = self.cli("message", "poll", "--agent-id", str(self.director), "--all", "--full")
        return [t for t in inbox if t["from_agent_id"] == self.member]

    def answered(self, task_id: int) -> bool:
        """The member acked the message and its reply reached the Director's inbox."""
        replied = any(t["reply_to_id"] == task_id for t in self.replies())
        return replied and self.task(task_id)["state"] == "completed"

    def row(self) -> dict:
        (row,) = self.cli("member", "list", "--agent-id", str(self.director), "--activity")
        return row

    def turns_with(self, text: str) -> list:
        """The model requests of a turn whose latest input holds `text`."""
        return [r for r in self.server.requests if r.is_agent_turn(self.tool) and text in r.last_text]

    def turn_over(self, text: str) -> bool:
        """The model answered the turn holding `text` and the agent shows it ready: it saved the turn."""
        finals = [r for r in self.server.requests if r.is_agent_turn(self.tool) and r.after_tool_result and r.carries(text)]
        return bool(finals) and self.row()["activity"]["state"] == "ready"

    def wait(self, predicate, timeout: float, what: str):
        """`wait_until`, failing with the member's state, its notices and its screen."""
        try:
            return wait_until(predicate, timeout, f"{self.backend}: {what}", interval=0.3)
        except AssertionError as exc:
            row = self.row()
            statuses = {t: self.task(t)["notify_status"] for t in self.sent}
            screen = pane_text(self.field, row["placement"]["tmux_pane_id"]) if row["activity"]["pane_alive"] else ""
            lines = "\n".join(line.rstrip() for line in screen.splitlines() if line.strip())
            raise AssertionError(
                f"{exc}; notices {statuses}, the member {row['activity']}, its screen:\n{lines[-3000:]}"
            ) from None

    def reboot(self, tmp_path) -> str:
        """Every process of the fleet killed, a new tmux server on the socket, and `fleet restore`
        run in its first pane, where the Director's agent runs again: restore's output."""
        kill_fleet(self.field)
        self.field = new_server(self.field, tmp_path / "director-again.jsonl")
        restored = restore(self.cafleet, self.field, self.fleet)
        assert restored.returncode == 0, restored.stderr + restored.stdout
        assert f"moved to this pane, {self.field.director_pane}." in restored.stdout
        return restored.stdout


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_fleet_restore_resumes_a_real_member_and_delivers_what_waited_once(real_agents, tmp_path, backend, run):
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet_command()[0])
        scene = None
        try:
            scene = Scene(field, server, backend)
            word = f"amber-{uuid.uuid4().hex[:8]}"
            first = scene.send(f"remember the word {word}")
            scene.wait(lambda: scene.answered(first), FIRST_TURN_S, "the answer to the first message")
            (first_turn,) = scene.turns_with(word)
            scene.wait(lambda: scene.turn_over(word), 60, "the first turn to end")
            session = scene.wait(lambda: scene.row()["session"]["id"], 60, "the member's session to be recorded")
            # claude's is the id cafleet chose at spawn; codex's and opencode's the courier found.
            assert session == first_turn.conversation  # the conversation the model saw
            # One more than before: a start that hung was already started again once (opencode).
            restores_before = scene.row()["session"]["restores"]

            kill_fleet(scene.field)
            waiting = [scene.send(f"while you were gone {n}") for n in range(WHILE_DOWN)]
            wait_until(lambda: not couriers_of(), 30, "no courier (its tmux server is gone)")
            for task_id in waiting:
                assert scene.task(task_id)["notify_status"] in (NOTICE_PENDING, *LOST_PANE_SKIPS)
            assert not scene.turns_with("while you were gone")

            scene.field = field = new_server(scene.field, tmp_path / "director-again.jsonl")
            restore_started = time.monotonic()
            restored = restore(scene.cafleet, field, scene.fleet)
            assert restored.returncode == 0, restored.stderr + restored.stdout
            assert f"moved to this pane, {field.director_pane}." in restored.stdout
            resumed = f"worker#{scene.member} ({backend}): resumed its conversation {session} in pane %"
            assert resumed in restored.stdout, restored.stdout
            row = scene.row()
            assert row["session"]["restores"] == restores_before + 1 and row["session"]["id"] == session
            assert row["placement"]["tmux_server_pid"] == field.server_pid
            pane = row["placement"]["tmux_pane_id"]

            # What waited is typed into the resumed agent, and acted on.
            for task_id in waiting:
                scene.wait(lambda t=task_id: scene.answered(t), 180, f"the answer to task {task_id} after the restore")
            ready_s = time.monotonic() - restore_started
            scene.wait(lambda: scene.turn_over(f"[cafleet msg {waiting[-1]} "), 60, "the last waiting notice's turn to end")
            later = scene.send("second message: which word did I ask you to remember?")
            scene.wait(lambda: scene.answered(later), 120, "the answer to the message sent after the restore")
            answered_s = time.monotonic() - restore_started

            # Each notice reached the model once: one user text of the resumed conversation, never
            # two (opencode sends the notices typed before its first turn went out in one request).
            heads = [f"[cafleet msg {task_id} " for task_id in [*waiting, later]]
            agent_turns = [r for r in server.requests if r.is_agent_turn(scene.tool) and not r.after_tool_result]
            for head in heads:
                carrying = [r for r in agent_turns if r.carries(head)]
                assert carrying and all(sum(head in t for t in r.texts) == 1 for r in carrying), head
                assert carrying[0].conversation == session and carrying[0].carries(word)  # resumed: turn 1 is there
            positions = [next(i for i, t in enumerate(agent_turns[-1].texts) if head in t) for head in heads]
            assert positions == sorted(positions)  # in the order they were sent
            (after,) = scene.turns_with(heads[-1])  # the message sent after the restore: a turn of its own
            assert after.conversation == first_turn.conversation == session  # the same conversation, resumed
            assert server.remembers(word, "second message:") == [after]  # the new turn carries the first
            for task_id in [*waiting, later]:
                assert scene.task(task_id)["notify_status"] == "delivered"
            # The member's replies reached the Director's new pane, each once.
            replies = [t["task_id"] for t in scene.replies() if t["reply_to_id"] in [*waiting, later]]
            assert len(replies) == WHILE_DOWN + 1
            for reply in replies:
                notice = f"[cafleet msg {reply} from worker#{scene.member}"
                wait_until(
                    lambda n=notice: [t for t in director_inputs(field) if t.startswith(n)],
                    30,
                    f"{notice} in the Director's pane",
                )
                assert len([t for t in director_inputs(field) if t.startswith(notice)]) == 1
            screen = pane_text(field, pane)
            assert FINAL_TEXT in screen and "denied" not in screen.lower(), screen[-2000:]

            # Restoring again starts nothing: the member runs.
            twice = restore(scene.cafleet, field, scene.fleet)
            assert twice.returncode == 0, twice.stderr
            assert f"worker#{scene.member} ({backend}): still running in pane {pane}" in twice.stdout, twice.stdout
            if TIMINGS:
                with open(TIMINGS, "a") as out:
                    record = {
                        "backend": backend,
                        "restore_to_waiting_answered_s": round(ready_s, 2),
                        "restore_to_next_answer_s": round(answered_s, 2),
                    }
                    out.write(json.dumps(record) + "\n")
        finally:
            stop_field(scene.field if scene is not None else field)


# A starting prompt the script answers slowly (SLOW_MARK): the model holds the first answer.
SLOW_PROMPT = (
    "You are {name}, a member of cafleet fleet {fleet_id}. Acknowledge each message with "
    "{cafleet} --fleet-id {fleet_id} message ack --agent-id {agent_id} --task-id TASK, "
    f"and {SLOW_MARK}."
)


@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_a_member_killed_before_its_first_answer_comes_back_ready_and_answers(real_agents, tmp_path, backend):
    """The kill loses the running first turn (docs/agents.md): the resumed agent shows its
    session with no answer, which must read as ready (opencode's read as starting for good),
    and it acts on the next message."""
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet_command()[0])
        scene = None
        try:
            scene = Scene(field, server, backend, "--prompt", SLOW_PROMPT)
            scene.wait(lambda: scene.turns_with(SLOW_MARK), FIRST_TURN_S, "the first turn at the model")
            restored = scene.reboot(tmp_path)  # the model still holds the answer
            assert f"worker#{scene.member} ({backend}): resumed its conversation " in restored, restored
            scene.wait(lambda: scene.row()["activity"]["state"] == "ready", 90, "the resumed member to read ready")
            task_id = scene.send("are you there?")
            scene.wait(lambda: scene.answered(task_id), 120, "the answer to the message sent after the restore")
            (turn,) = scene.turns_with(f"[cafleet msg {task_id} ")
            assert turn.carries("You are worker, a member of cafleet fleet")  # the first prompt survived
        finally:
            stop_field(scene.field if scene is not None else field)


def test_a_real_opencode_frozen_before_its_first_frame_is_started_again_and_answers(real_agents, tmp_path):
    """opencode's start sometimes hangs before its first frame: its process lives, its pane stays
    blank. Played here by freezing it as soon as it is spawned. A minute on (its pane is dated
    back), the courier starts it again once, in a new pane, and tells the Director; the new
    opencode takes its starting prompt and answers the message that waited, once."""
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, "opencode", server, cafleet_command()[0])
        scene = None
        try:
            scene = Scene(field, server, "opencode")
            hung_pane = scene.row()["placement"]["tmux_pane_id"]
            pid = int(
                subprocess.run(
                    ["tmux", "-L", field.socket_name, "display-message", "-p", "-t", hung_pane, "#{pane_pid}"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            freeze(pid)
            assert not pane_text(field, hung_pane).strip(), "opencode drew before it was frozen: it cannot play a hang"
            task_id = scene.send("are you there?")
            date_pane_back(scene.member, 120)

            def told(tag: str) -> list[str]:
                inbox = scene.cli("message", "poll", "--agent-id", str(scene.director), "--all", "--full")
                return [t["text"] for t in inbox if t["text"].startswith(tag)]

            (restarted,) = scene.wait(lambda: told("[restarted]"), 60, "the Director to be told of the restart")
            new_pane = scene.row()["placement"]["tmux_pane_id"]
            assert new_pane != hung_pane and f"started it again in pane {new_pane}, with its starting prompt" in restarted
            scene.wait(lambda: scene.answered(task_id), 180, "the answer to the message that waited")
            (turn,) = scene.turns_with(f"[cafleet msg {task_id} ")
            assert turn.carries("You are worker, a member of cafleet fleet")  # its starting prompt, taken anew
            assert told("[unreadable]") == []
            assert scene.task(task_id)["notify_status"] == "delivered"
        finally:
            stop_field(scene.field if scene is not None else field)
