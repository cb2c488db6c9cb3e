"""A member its provider holds, end to end with the stand-in on a private tmux server: its
notices wait, its Director is told once, and the monitor wakes it once the reset it showed has
passed (or on a back-off when it showed none); then its held notice lands, once."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from cafleet.core.timestamps import parse_stamp
from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    inputs,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    task_row,
    wait_for,
    wait_for_notify,
)
from tests.test_monitor_tmux import Monitor, monitors  # noqa: F401 (monitors is a fixture)

fleet = panes_fleet("limits")
WAIT = 30  # seconds at most for the courier to see a change (it looks every second; a loaded machine is slower)
WAKE = "[cafleet wake]"


def start(cli, fleet, agents, name):
    member = spawn(cli, fleet, name)
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev), WAIT)
    return member


def hit_limit(cli, fleet, member, limit):
    """The stand-in shows `(limited: …)` for `limit: WHAT | RESETS`, its box under it."""
    typed = run(cli, fleet, "member", "send-input", "--agent-id", fleet.director_id, "--member-id", member, "--freetext", limit)
    assert typed.code == 0, typed.err


def shown(cli, fleet, member):
    return run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["state"] or {}


def held(cli, fleet, member):
    """The member's state once the courier recorded its hold."""
    return wait_for(
        lambda: (s := shown(cli, fleet, member)).get("state") == "limited" and s.get("hold") and s, WAIT, what="the hold"
    )


def told(cli, fleet, agent_id, member, human=False):
    runner = run_as_human if human else run
    inbox = runner(cli, fleet, "--json", "message", "poll", "--agent-id", agent_id, "--full").json()
    return [t for t in inbox if t["from_agent_id"] == member and t["text"].startswith("[limited]")]


def send(cli, fleet, to, text):
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", to, "--quiet", "--text", text)
    assert sent.code == 0, sent.err
    return int(sent.out)


def wake_input(agents, name, monitor):
    events = agents.wait_for(name, lambda ev: [e for e in ev if e["event"] == "input" and e["text"].startswith(WAKE)], WAIT)
    woken = [e for e in events if e["event"] == "input" and e["text"].startswith(WAKE)]
    assert woken, f"{name} was never woken: {inputs(events)}; the monitor said {monitor.lines}"
    return woken


def test_a_limited_member_is_held_told_of_once_and_woken_after_its_reset(cli, fleet, agents, monitors):
    member = start(cli, fleet, agents, "ivy")
    hit_limit(cli, fleet, member, "limit: usage limit reached | in 4s")
    state = held(cli, fleet, member)
    assert state["reason"] == "usage limit reached" and re.fullmatch(r"in [0-4]s", state["hold"]["resets"])
    resets_at = parse_stamp(state["hold"]["resets_at"])

    # Held: a ping is refused and a notice waits, deferred, never typed.
    ping = run(cli, fleet, "member", "ping", "--agent-id", fleet.director_id, "--member-id", member)
    assert ping.code == 1 and "deferred:limited" in ping.err
    task_id = send(cli, fleet, "ivy", "the held notice")
    assert wait_for_notify(task_id, WAIT, until=lambda s: s == "deferred:limited") == "deferred:limited"

    (message,) = wait_for(lambda: told(cli, fleet, fleet.director_id, member), WAIT, what="the Director to be told")
    text = message["text"]
    assert text.startswith(f"[limited] ivy#{member} hit its provider's limit: usage limit reached. It resets at ")
    assert "Its notices wait until it takes input again; the monitor would wake it at " in text
    assert "monitor start" in text and f"member capture --agent-id {fleet.director_id} --member-id {member}" in text

    monitor = Monitor(fleet)
    monitors.append(monitor)
    (wake,) = wake_input(agents, "ivy", monitor)
    assert wake["time"] >= (resets_at + timedelta(seconds=1)).timestamp()  # past the second it named
    assert f"message poll --agent-id {member}" in wake["text"]
    assert monitor.wait_for_line(f"wake ivy#{member} (limited, reset at ", WAIT)

    # Its next turn ran: the held notice is typed now, once, after the wake.
    assert wait_for_notify(task_id, timeout=WAIT) == "delivered"
    typed = inputs(agents.log_of("ivy"))
    assert [t for t in typed if "the held notice" in t] == [t for t in typed if t.startswith(f"[cafleet msg {task_id} ")]
    assert typed.index(wake["text"]) < next(i for i, t in enumerate(typed) if "the held notice" in t)
    assert [t for t in typed if t.startswith(WAKE)] == [wake["text"]]  # woken once
    # Seconds of looks at the held screen told the Director (and the human) once.
    assert len(told(cli, fleet, fleet.director_id, member)) == 1
    administrator = next(
        a["agent_id"]
        for a in run(cli, fleet, "--json", "fleet", "show", fleet.fleet_id).json()["agents"]
        if a["kind"] == "administrator"
    )
    assert len(told(cli, fleet, administrator, member, human=True)) == 1
    # Working again: the hold is over.
    after = wait_for(lambda: (s := shown(cli, fleet, member)).get("state") == "ready" and s, WAIT, what="ready again")
    assert after["hold"] is None


def test_a_limit_that_names_no_reset_is_woken_on_the_back_off(cli, fleet, agents, monitors):
    member = start(cli, fleet, agents, "joe")
    hit_limit(cli, fleet, member, "limit: quota exceeded")
    state = held(cli, fleet, member)
    assert (state["hold"]["resets"], state["hold"]["resets_at"]) == ("", None)
    (message,) = wait_for(lambda: told(cli, fleet, fleet.director_id, member), WAIT, what="the Director to be told")
    assert "resets" not in message["text"] and "then less often (at most hourly)" in message["text"]

    monitor = Monitor(fleet, extra=["--wake-backoff", "2"])
    monitors.append(monitor)

    (wake,) = wake_input(agents, "joe", monitor)
    assert wake["time"] >= parse_stamp(state["changed_at"]).timestamp() + 2
    assert monitor.wait_for_line(f"wake joe#{member} (limited, wake 1 after 2s): delivered", WAIT)


def test_member_list_activity_and_monitor_status_show_the_reset(cli, fleet, agents):
    member = start(cli, fleet, agents, "kai")
    hit_limit(cli, fleet, member, "limit: usage limit reached | 11:32pm")
    state = held(cli, fleet, member)
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    (activity,) = [m["activity"] for m in listed if m["agent_id"] == member]
    assert (activity["state"], activity["resets"], activity["resets_at"]) == ("limited", "11:32pm", state["hold"]["resets_at"])
    assert activity["reason"] == "usage limit reached"
    text = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id, "--activity").out
    assert f"state=limited resets={state['hold']['resets_at'][:19]}Z " in text
    shown_text = run(cli, fleet, "agent", "show", "--agent-id", fleet.director_id, "--id", member).out
    assert "state: limited (usage limit reached) since " in shown_text
    assert f"; resets {state['hold']['resets_at'][:19]}Z (in " in shown_text and "shown as '11:32pm'" in shown_text
    status = run(cli, fleet, "--json", "monitor", "status").json()
    (row,) = [a for a in status["agents"] if a["agent_id"] == member]
    assert (row["state"], row["hold"]["resets"]) == ("limited", "11:32pm")


def test_a_notice_waits_while_a_held_member_is_busy_and_lands_once_it_is_ready(cli, fleet, agents, tmux_server, tmp_path):
    """A turn started under a limit (the monitor's wake) may be refused again, and a notice the
    agent queued meanwhile would be lost with it: it waits for the agent's empty box."""
    member = start(cli, fleet, agents, "lou")
    hit_limit(cli, fleet, member, "limit: usage limit reached | 11:32pm")
    held(cli, fleet, member)
    pane = run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["placement"]
    turn_over = tmp_path / "turn-over"
    tmux_server.tmux("send-keys", "-t", pane["tmux_pane_id"], "-l", f"take your time until {turn_over}")
    tmux_server.tmux("send-keys", "-t", pane["tmux_pane_id"], "Enter")
    wait_for(lambda: shown(cli, fleet, member).get("state") == "busy", WAIT, what="the turn to run")
    task_id = send(cli, fleet, "lou", "wait for me")
    assert wait_for_notify(task_id, WAIT, until=lambda s: s == "deferred:held") == "deferred:held"
    ended = time.time()
    turn_over.touch()
    assert wait_for_notify(task_id, timeout=WAIT) == "delivered"
    events = [e for e in agents.log_of("lou") if e["event"] == "input"]
    (notice,) = [e for e in events if "wait for me" in e["text"]]
    assert notice["time"] >= ended  # typed once the turn had ended, not queued into it
