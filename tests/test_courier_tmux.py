"""The courier and the pane rules on a private tmux server with stand-in agents: one courier
however many sends, notices that outlive their sender, and nothing ever typed into anything
but the placement's own agent with an empty box."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    couriers_of,
    inputs,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    task_row,
    wait_for,
    wait_for_notify,
)

fleet = panes_fleet("courier")


def ready(agents, name):
    return agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))


def send(cli, fleet, to, text, sender=None):
    # An agent other than the Director sends from outside the Director's pane.
    runner = run if sender is None else run_as_human
    sent = runner(cli, fleet, "message", "send", "--agent-id", sender or fleet.director_id, "--to", to, "--quiet", "--text", text)
    assert sent.code == 0, sent.err
    return int(sent.out)


def test_a_burst_of_sends_runs_one_courier_and_every_notice_lands_once(cli, fleet, agents, db_path):
    spawn(cli, fleet, "ana")
    ready(agents, "ana")
    senders = [
        subprocess.Popen(
            [
                *cli_command(),
                "--fleet-id",
                str(fleet.fleet_id),
                "message",
                "send",
                "--agent-id",
                str(fleet.director_id),
                "--to",
                "ana",
                "--quiet",
                "--text",
                f"burst {n}",
            ],
            env=full_env(fleet),
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(30)
    ]
    task_ids = [int(p.communicate(timeout=60)[0]) for p in senders]
    assert len(couriers_of()) == 1
    assert [wait_for_notify(t, timeout=60) for t in task_ids] == ["delivered"] * 30
    landed = [t for t in inputs(agents.wait_for("ana", lambda ev: len(inputs(ev)) >= 30)) if "burst" in t]
    assert sorted(landed, key=lambda t: int(t.split()[2])) == landed  # one pane's notices in order
    assert sorted(int(t.split("] ", 1)[1].split()[1]) for t in landed) == list(range(30))


def test_a_notice_whose_sender_started_no_courier_is_delivered_by_the_next_command(cli, fleet, agents, db_path):
    """A send killed right after its commit, or made inside a sandbox, leaves a `pending` notice."""
    from cafleet.broker.messages import send_message
    from cafleet.store.db import open_database

    member = spawn(cli, fleet, "bea")
    ready(agents, "bea")
    for pid in couriers_of():  # the courier `member create` started dies
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not couriers_of(), what="the courier to be gone")
    open_database()
    task = send_message(fleet.fleet_id, fleet.director_id, str(member), "stored, never announced")
    time.sleep(1)
    assert task_row(task.id).notify_status == "pending" and couriers_of() == []
    assert run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id).code == 0
    assert wait_for_notify(task.id) == "delivered"
    assert any("stored, never announced" in t for t in inputs(agents.log_of("bea")))


def test_the_courier_leaves_with_the_tmux_server(cli, fleet, agents, tmux_server, db_path):
    spawn(cli, fleet, "cal")
    ready(agents, "cal")
    assert wait_for_notify(send(cli, fleet, "cal", "hello")) == "delivered"
    (courier,) = couriers_of()
    tmux_server.tmux("kill-server")
    wait_for(lambda: couriers_of() == [], 15, "the courier to leave", interval=0.2)
    # A message sent now has no pane left to reach: its notice says so, and no courier starts.
    late = send(cli, fleet, "cal", "anyone there?")
    assert task_row(late).notify_status == "skipped:tmux-server-gone"
    assert couriers_of() == []


def test_a_draft_defers_the_notice_which_then_lands_unmerged(cli, fleet, agents, tmux_server):
    member = spawn(cli, fleet, "dee")
    ready(agents, "dee")
    pane = placement(member).tmux_pane_id
    tmux_server.tmux("send-keys", "-t", pane, "-l", "please delete the staging dat")
    task_id = send(cli, fleet, "dee", "the notice")
    assert wait_for_notify(task_id, until=lambda s: s == "deferred:draft") == "deferred:draft"
    time.sleep(1.5)
    assert inputs(agents.log_of("dee")) == []
    tmux_server.tmux("send-keys", "-t", pane, *["BSpace"] * 40)
    assert wait_for_notify(task_id, timeout=15) == "delivered"
    (typed,) = inputs(agents.wait_for("dee", lambda ev: inputs(ev)))
    assert typed.startswith(f"[cafleet msg {task_id} ") and "staging" not in typed


def test_a_menu_defers_the_notice_and_never_answers_it(cli, fleet, agents):
    member = spawn(cli, fleet, "eli")
    ready(agents, "eli")
    args = ("--agent-id", fleet.director_id, "--member-id", member)
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: deploy now? | yes | no").code == 0
    task_id = send(cli, fleet, "eli", "2")
    assert wait_for_notify(task_id, until=lambda s: s == "deferred:asking") == "deferred:asking"
    time.sleep(1.5)
    assert [e for e in agents.log_of("eli") if e["event"] == "choice"] == []
    assert run(cli, fleet, "member", "send-input", *args, "--choice", "2").code == 0
    assert wait_for_notify(task_id, timeout=15) == "delivered"
    assert [e["choice"] for e in agents.log_of("eli") if e["event"] == "choice"] == ["2"]


@pytest.mark.parametrize("program, name", [(f"{sys.executable} -q", "python"), ("less /etc/hostname", "less"), ("cat", "cat")])
def test_programs_that_are_not_its_agent_get_nothing(cli, fleet, tmux_server, tmp_path, program, name):
    tmux_server.tmux("respawn-pane", "-k", "-t", tmux_server.pane_id, program)
    time.sleep(0.5)
    other = run(cli, fleet, "agent", "register", "--name", "ext", "--description", "outside").out.strip()
    marker = tmp_path / "PWNED"
    task_id = send(cli, fleet, "director", f"__import__('os').system('touch {marker}')", sender=other)
    assert wait_for_notify(task_id).startswith(f"skipped:not-its-agent:{name}")
    time.sleep(0.5)
    assert not marker.exists()
    assert "cafleet msg" not in tmux_server.tmux("capture-pane", "-p", "-t", tmux_server.pane_id).stdout


def test_an_agent_that_exits_while_notices_queue_never_has_them_typed_into_its_shell(cli, fleet, agents, tmux_server, tmp_path):
    """The Director's agent runs under a shell; when it exits, the shell must get nothing."""
    log = tmp_path / "director-standin.jsonl"
    tmux_server.tmux("respawn-pane", "-k", "-t", tmux_server.pane_id, "bash --norc")
    time.sleep(0.3)
    tmux_server.tmux("send-keys", "-t", tmux_server.pane_id, "-l", f"{sys.executable} -m cafleet.demo.standin_agent --log {log}")
    tmux_server.tmux("send-keys", "-t", tmux_server.pane_id, "Enter")
    deadline = time.monotonic() + 10
    while not (log.exists() and '"ready"' in log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    other = run(cli, fleet, "agent", "register", "--name", "ext", "--description", "outside").out.strip()
    markers = [tmp_path / f"ran-{n}" for n in range(12)]
    task_ids = [send(cli, fleet, "director", f"touch {m}", sender=other) for m in markers[:6]]
    standin_pid = json.loads(log.read_text().splitlines()[0])["pid"]
    os.kill(standin_pid, signal.SIGTERM)  # the agent quits while notices are being typed
    task_ids += [send(cli, fleet, "director", f"touch {m}", sender=other) for m in markers[6:]]
    outcomes = [wait_for_notify(t, timeout=30) for t in task_ids]
    time.sleep(1)
    assert not [m for m in markers if m.exists()], "a notice was executed by the shell"
    assert all(
        o == "delivered"
        or o.startswith(("skipped:not-its-agent:bash", "skipped:pane-changed", "failed:pane-changed", "failed:not-submitted"))
        for o in outcomes
    ), outcomes
    assert any(o.startswith("skipped:not-its-agent:bash") for o in outcomes)


def placement(member_id):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    return Placement.get_by_id(member_id)


def cli_command():
    from tests.support import cafleet_command

    return cafleet_command()


def full_env(fleet):
    return {**os.environ, **fleet.env}


def activity_of(cli, fleet, member_id):
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    return next(m["activity"] for m in listed if m["agent_id"] == member_id)


def test_every_state_shows_in_member_list_agent_show_and_monitor_status(cli, fleet, agents, tmux_server, tmp_path):
    member = spawn(cli, fleet, "fox")
    ready(agents, "fox")
    args = ("--agent-id", fleet.director_id, "--member-id", member)
    assert activity_of(cli, fleet, member)["state"] == "ready"
    pane = placement(member).tmux_pane_id

    tmux_server.tmux("send-keys", "-t", pane, "-l", "half a thought")
    assert activity_of(cli, fleet, member)["state"] == "draft"
    tmux_server.tmux("send-keys", "-t", pane, *["BSpace"] * 20)
    wait_for(lambda: activity_of(cli, fleet, member)["state"] == "ready", what="the box to be empty again")

    turn_over = tmp_path / "turn-over"
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", f"take your time until {turn_over}").code == 0
    wait_for(lambda: activity_of(cli, fleet, member)["state"] == "busy", what="busy")
    turn_over.touch()
    wait_for(lambda: activity_of(cli, fleet, member)["state"] == "ready", what="the turn to end")

    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: ship it? | yes | no").code == 0
    seen = wait_for(lambda: (a := activity_of(cli, fleet, member))["state"] == "asking" and a, what="asking")
    assert seen["question"] == "ship it?"
    text = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id, "--activity").out
    assert "state=asking asks='ship it?'" in text

    def shown():
        return run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["state"]

    wait_for(lambda: (shown() or {}).get("state") == "asking", what="the courier to record asking")
    assert "state=asking asks='ship it?'" in run(cli, fleet, "monitor", "status").out

    tmux_server.tmux("kill-pane", "-t", pane)
    assert activity_of(cli, fleet, member)["state"] == "lost"


def test_the_director_is_told_once_per_question(cli, fleet, agents):
    member = spawn(cli, fleet, "gil")
    ready(agents, "gil")
    args = ("--agent-id", fleet.director_id, "--member-id", member)

    def needs_you():
        inbox = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--all").json()
        return [t for t in inbox if t["from"] == f"gil#{member}" and t["text"].startswith("[needs you]")]

    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: which branch? | main | dev").code == 0
    (told,) = wait_for(needs_you, what="the needs-you message")
    assert "which branch?" in told["text"]
    assert f"member send-input --agent-id {fleet.director_id} --member-id {member} --choice N" in told["text"]
    time.sleep(3)  # several watch rounds with the question still showing
    assert len(needs_you()) == 1
    assert run(cli, fleet, "member", "send-input", *args, "--choice", "1").code == 0
    wait_for(lambda: activity_of(cli, fleet, member)["state"] == "ready", what="the answer")
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: merge now? | yes | no").code == 0
    wait_for(lambda: len(needs_you()) == 2, what="the second question's message")
    administrator = run(cli, fleet, "--json", "fleet", "show", fleet.fleet_id).json()
    admin_id = next(a["agent_id"] for a in administrator["agents"] if a["kind"] == "administrator")
    human = run_as_human(cli, fleet, "--json", "message", "poll", "--agent-id", admin_id).json()
    # The first question was answered: the human's copy was withdrawn, only the open one waits.
    assert [t["text"].split(" --")[0] for t in human] == ["[needs you] merge now?"]


def test_a_limited_agent_holds_its_notices_and_gets_them_once_after_its_next_turn(cli, fleet, agents, tmux_server):
    """At a usage limit a typed notice would start a turn the provider refuses: it waits,
    deferred (never dropped as skipped), until the agent takes a turn again."""
    member = spawn(cli, fleet, "ivy")
    ready(agents, "ivy")
    args = ("--agent-id", fleet.director_id, "--member-id", member)
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "limit: usage limit reached | 11:32pm").code == 0
    wait_for(lambda: activity_of(cli, fleet, member)["state"] == "limited", what="the limit to show")
    task_id = send(cli, fleet, "ivy", "the held notice")
    assert wait_for_notify(task_id, until=lambda s: s == "deferred:limited") == "deferred:limited"

    def shown():
        return run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["state"]

    recorded = wait_for(lambda: (s := shown() or {}).get("state") == "limited" and s, what="the courier to record the limit")
    assert recorded["reason"] == "usage limit reached"
    time.sleep(2)  # several courier rounds while the limit shows
    assert not [t for t in inputs(agents.log_of("ivy")) if "the held notice" in t]
    assert task_row(task_id).notify_status == "deferred:limited"
    pane = placement(member).tmux_pane_id
    tmux_server.tmux("send-keys", "-t", pane, "-l", "go on")  # the limit reset: the agent's next turn
    tmux_server.tmux("send-keys", "-t", pane, "Enter")
    assert wait_for_notify(task_id, timeout=20) == "delivered"
    typed = inputs(agents.wait_for("ivy", lambda ev: any("the held notice" in t for t in inputs(ev))))
    assert [t for t in typed if "the held notice" in t] == [t for t in typed if t.startswith(f"[cafleet msg {task_id} ")]
    assert len([t for t in typed if "the held notice" in t]) == 1


def test_a_notice_waits_for_a_starting_agent_then_lands_once(cli, fleet, agents):
    (agents.bin / "claude.slow").touch()
    spawn(cli, fleet, "hal")
    task_id = send(cli, fleet, "hal", "welcome aboard")
    assert wait_for_notify(task_id, until=lambda s: s == "deferred:starting") == "deferred:starting"
    assert wait_for_notify(task_id, timeout=15) == "delivered"
    events = agents.wait_for("hal", lambda ev: inputs(ev))
    ready_at = next(e for e in events if e["event"] == "ready")
    (typed,) = inputs(events)  # exactly once
    assert "welcome aboard" in typed
    assert events.index(ready_at) < next(i for i, e in enumerate(events) if e["event"] == "input")
