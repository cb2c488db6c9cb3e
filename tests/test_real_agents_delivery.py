"""Exactly-once notices with the real claude, codex and opencode builds (marker `realagents`).

Two cases the stand-in cannot prove: a courier killed between paste and Enter leaves the
notice in the real agent's input box, and the next courier submits it as exactly one turn;
and a pane whose program switched bracketed paste off still takes a notice as one turn, never
as a shell command (opencode, with the mode off, takes a typed `!` as its shell-mode key
anywhere in a line: notices type it as `！`). The model is the scripted loopback server in tests/realagents.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from cafleet.core.domain import NoticeStep
from tests.panes_support import couriers_of
from tests.realagents.harness import FIRST_TURN_S, ROUTES, SHELL_TOOLS, pane_text, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import (  # noqa: F401 (a fixture)
    create_fleet,
    create_worker,
    fleet_json,
    member_pane_of,
    real_agents,
)

pytestmark = pytest.mark.realagents
BACKENDS = ["claude", "codex", "opencode"]


def notice_turns(server, backend, task_id):
    return [r for r in server.requests if r.is_agent_turn(SHELL_TOOLS[backend]) and f"[cafleet msg {task_id} " in r.last_text]


def first_turn_done(server, backend):
    return wait_until(
        lambda: [r for r in server.requests if r.is_agent_turn(SHELL_TOOLS[backend])], FIRST_TURN_S, f"{backend}'s first turn"
    )


def notify_status(cafleet, field, fleet, director, task_id):
    shown = fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task_id))
    return shown["notify_status"]


def reader_state(field, pane, backend):
    from cafleet.backends import BACKENDS as READERS

    return READERS[backend].read_screen(pane_text(field, pane).splitlines()[-60:])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notice_left_between_paste_and_enter_is_submitted_once_by_the_next_courier(real_agents, tmp_path, backend):
    from cafleet.broker.messages import send_message
    from cafleet.panes.courier.loop import claimer_id
    from cafleet.panes.preview import preview_text
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend)
            first_turn_done(server, backend)
            pane = member_pane_of(field, cafleet, fleet, director, member)
            wait_until(lambda: reader_state(field, pane, backend).state == "ready", 60, f"{backend} to be ready")
            for pid in couriers_of():  # the courier dies ...
                os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not couriers_of(), 20, "the courier to be gone")
            open_database()
            task = send_message(fleet, director, str(member), "please look at the parser")
            notice = preview_text(task.id, "director", director, task.created_at, task.text)
            buffer = f"t-{uuid.uuid4().hex[:8]}"  # ... after its paste, before its Enter
            subprocess.run(["tmux", "-L", field.socket_name, "set-buffer", "-b", buffer, "--", notice], check=True)
            subprocess.run(["tmux", "-L", field.socket_name, "paste-buffer", "-p", "-d", "-b", buffer, "-t", pane], check=True)
            wait_until(
                lambda: f"[cafleet msg {task.id} " in reader_state(field, pane, backend).draft, 20, "the notice in the box"
            )
            dead = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
            claim = claimer_id(dead.pid)
            dead.communicate(b"")
            Task.update(
                notify_status="claimed",
                notice_claim=claim,
                notice_step=NoticeStep.ENTERING,
                notice_lease_until="9999-12-31T00:00:00.000000Z",
            ).where(Task.id == task.id).execute()
            fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director))  # a new courier
            wait_until(
                lambda: notify_status(cafleet, field, fleet, director, task.id) == "delivered", 60, "the notice to be submitted"
            )
            wait_until(lambda: notice_turns(server, backend, task.id), 60, f"{backend} to take the notice")
            assert len(notice_turns(server, backend, task.id)) == 1
            assert f"[cafleet msg {task.id} " not in reader_state(field, pane, backend).draft
        finally:
            stop_field(field)


@pytest.mark.parametrize("backend", BACKENDS)
def test_with_bracketed_paste_off_a_real_agent_takes_a_notice_as_one_turn(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    marker = tmp_path / "work" / "ran-as-shell"
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend)
            first_turn_done(server, backend)
            pane = member_pane_of(field, cafleet, fleet, director, member)
            wait_until(lambda: reader_state(field, pane, backend).state == "ready", 60, f"{backend} to be ready")
            tty = subprocess.run(
                ["tmux", "-L", field.socket_name, "display-message", "-p", "-t", pane, "#{pane_tty}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            with open(tty, "w") as terminal:  # as if the agent had written it: tmux turns the mode off
                terminal.write("\x1b[?2004l")
            sent = fleet_json(
                cafleet,
                field,
                fleet,
                "message",
                "send",
                "--agent-id",
                str(director),
                "--to",
                "worker",
                "--text",
                f"!touch {marker}\nand a second line",
            )
            task_id = sent["task_id"]
            wait_until(lambda: notify_status(cafleet, field, fleet, director, task_id) == "delivered", 60, "the notice")
            try:
                (turn,) = wait_until(lambda: notice_turns(server, backend, task_id), 60, f"{backend} to take the notice")
            except AssertionError:
                raise AssertionError(f"no turn held the notice; the pane shows:\n{pane_text(field, pane)[-3000:]}") from None
            assert f"！touch {marker}⏎and a second line" in turn.last_text  # a `!` is typed inert
            assert not marker.exists()
            assert not [
                r
                for r in server.requests
                if r.is_agent_turn(SHELL_TOOLS[backend]) and r.last_text.strip().startswith("and a second line")
            ]
        finally:
            stop_field(field)
