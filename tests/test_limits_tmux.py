"""A member its provider holds, end to end with the stand-in on a private tmux server."""

from __future__ import annotations

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    panes_fleet,
    run,
    spawn,
    wait_for,
)

fleet = panes_fleet("limits")


def start(cli, fleet, agents, name):
    member = spawn(cli, fleet, name)
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    return member


def hit_limit(cli, fleet, member, limit):
    """The stand-in shows `(limited: …)` for `limit: WHAT | RESETS`, its box under it."""
    typed = run(cli, fleet, "member", "send-input", "--agent-id", fleet.director_id, "--member-id", member, "--freetext", limit)
    assert typed.code == 0, typed.err


def shown(cli, fleet, member):
    return run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["state"] or {}


def held(cli, fleet, member):
    """The member's state once the courier recorded its hold."""
    return wait_for(lambda: (s := shown(cli, fleet, member)).get("state") == "limited" and s.get("hold") and s, what="the hold")


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
