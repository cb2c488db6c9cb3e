"""Members whose panes are gone are `lost`, on a private tmux server with stand-in agents: the
server killed (every pane with it), one pane closed, and a member still being spawned (which
stays `starting`). The courier records it, `member list --activity`, `agent show`, the TUI's
roster and `doctor` say it, and doctor and the TUI name `cafleet fleet restore`."""

from __future__ import annotations

import os
import signal

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    couriers_of,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    wait_for,
)
from tests.tui_support import settle
from tests.waiting import until

fleet = panes_fleet("lost")


def ready(agents, *names):
    for name in names:
        agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))


def recorded(agent_id: int) -> str | None:
    """The state the courier last recorded for the agent (its row)."""
    from cafleet.broker.agent_states import seen_states
    from cafleet.store.db import open_database

    open_database()
    seen = seen_states([agent_id]).get(agent_id)
    return seen.state.value if seen else None


def activity(cli, fleet) -> dict[int, str]:
    listed = run_as_human(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity")
    assert listed.code == 0, listed.err
    return {m["agent_id"]: m["activity"]["state"] for m in listed.json()}


def shown(cli, fleet, agent_id: int) -> str:
    result = run_as_human(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", agent_id)
    assert result.code == 0, result.err
    return result.json()["state"]["state"]


def doctor(cli, fleet):
    result = run_as_human(cli, fleet, "doctor")
    as_json = run_as_human(cli, fleet, "--json", "doctor")
    assert result.code == as_json.code == 0, result.err + as_json.err
    return result.out, as_json.json()["lost_fleets"]


def pending_member(fleet, name: str) -> int:
    """A member whose spawn has not recorded its pane yet (its spawner still running)."""
    from cafleet.broker.members import register_member
    from cafleet.store.db import open_database

    open_database()
    return register_member(fleet.fleet_id, fleet.director_id, name, f"{name} helps", "claude").id


def test_a_killed_tmux_server_leaves_its_members_lost_and_doctor_names_fleet_restore(cli, fleet, agents, tmux_server):
    ana, bob = spawn(cli, fleet, "ana"), spawn(cli, fleet, "bob")
    ready(agents, "ana", "bob")
    wait_for(lambda: recorded(ana) == recorded(bob) == "ready", what="the courier to see both ready")

    tmux_server.tmux("kill-server")

    everyone = (fleet.director_id, ana, bob)
    wait_for(lambda: {recorded(a) for a in everyone} == {"lost"}, 15, "the courier to record them lost")
    wait_for(lambda: couriers_of() == [], 15, "the courier to leave with its server", interval=0.2)
    assert activity(cli, fleet) == {ana: "lost", bob: "lost"}
    assert shown(cli, fleet, ana) == shown(cli, fleet, fleet.director_id) == "lost"
    text, lost = doctor(cli, fleet)
    socket = tmux_server.socket_path
    assert (
        f"  - fleet {fleet.fleet_id}: the Director's pane and all 2 members' panes are gone "
        f"(tmux server {socket} is not running); bring them back with: cafleet fleet restore {fleet.fleet_id} "
        "(run in the Director's new pane)"
    ) in text.splitlines()
    assert lost == [
        {
            "fleet_id": fleet.fleet_id,
            "members": 2,
            "lost_members": [
                {"agent_id": member, "name": name, "tmux_socket": socket, "why": "tmux-server-gone"}
                for member, name in ((ana, "ana"), (bob, "bob"))
            ],
            "director": {"agent_id": fleet.director_id, "name": "director", "tmux_socket": socket, "why": "tmux-server-gone"},
            "restore": f"cafleet fleet restore {fleet.fleet_id}",
        }
    ]


def test_with_no_courier_left_the_readers_look_for_themselves(cli, fleet, agents, tmux_server):
    """A courier killed before its server (or a reboot) leaves the rows as they were: `agent
    show` probes the socket, `doctor` looks, and the first command that would start a courier
    records what it sees."""
    ana = spawn(cli, fleet, "ana")
    ready(agents, "ana")
    wait_for(lambda: recorded(ana) == "ready", what="the courier to see ana ready")
    for pid in couriers_of():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: couriers_of() == [], what="the courier to be gone")

    tmux_server.tmux("kill-server")

    assert recorded(ana) == "ready"
    assert shown(cli, fleet, ana) == "lost"
    assert recorded(ana) == "ready"  # `agent show` only reads
    _, lost = doctor(cli, fleet)
    assert [m["agent_id"] for m in lost[0]["lost_members"]] == [ana]
    assert recorded(ana) == recorded(fleet.director_id) == "lost"  # doctor keeps the courier: none starts, it records


def test_a_closed_pane_leaves_only_its_member_lost(cli, fleet, agents, tmux_server):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    ana, bob = spawn(cli, fleet, "ana"), spawn(cli, fleet, "bob")
    ready(agents, "ana", "bob")
    open_database()
    tmux_server.tmux("kill-pane", "-t", Placement.get_by_id(bob).tmux_pane_id)

    wait_for(lambda: recorded(bob) == "lost", what="the courier to record bob lost")
    assert recorded(ana) == "ready"
    assert activity(cli, fleet) == {ana: "ready", bob: "lost"}
    assert shown(cli, fleet, bob) == "lost"
    text, lost = doctor(cli, fleet)
    assert (
        f"  - fleet {fleet.fleet_id}: 1 of 2 members' panes is gone: bob#{bob} (pane closed); "
        f"bring it back with: cafleet fleet restore {fleet.fleet_id}"
    ) in text.splitlines()
    assert [(f["members"], [m["agent_id"] for m in f["lost_members"]], f["director"]) for f in lost] == [(2, [bob], None)]


def test_a_member_being_spawned_stays_starting_when_the_server_dies(cli, fleet, agents, tmux_server):
    ana = spawn(cli, fleet, "ana")
    ready(agents, "ana")
    cal = pending_member(fleet, "cal")
    wait_for(lambda: recorded(cal) == "starting", what="the courier to see cal starting")

    tmux_server.tmux("kill-server")

    wait_for(lambda: recorded(ana) == "lost", 15, "the courier to record ana lost")
    wait_for(lambda: couriers_of() == [], 15, "the courier to leave with its server", interval=0.2)
    assert recorded(cal) == "starting"
    assert activity(cli, fleet) == {ana: "lost", cal: "starting"}
    assert shown(cli, fleet, cal) == "starting"
    text, lost = doctor(cli, fleet)
    assert [(f["members"], [m["agent_id"] for m in f["lost_members"]]) for f in lost] == [(1, [ana])]
    assert f"  - fleet {fleet.fleet_id}: the Director's pane and member ana#{ana}'s pane are gone (" in text


async def test_the_roster_marks_members_lost_when_their_server_dies(db, cli, fleet, agents, tmux_server):
    """The TUI looks at the panes itself every few seconds: no database change is needed."""
    from textual.widgets import Static

    from cafleet.screens.app import build_app
    from cafleet.screens.roster import RosterView

    ana = spawn(cli, fleet, "ana")
    ready(agents, "ana")
    cal = pending_member(fleet, "cal")
    wait_for(lambda: recorded(cal) == "starting", what="the courier to see cal starting")
    app = build_app(fleet.fleet_id, watch_changes=False)

    def entry(agent_id: int) -> str:
        roster = app.screen.query_one(RosterView)
        return str(roster.get_option(f"agent-{agent_id}").prompt)

    def warning() -> str:
        shown = app.screen.query_one("#loss-warning", Static)
        return str(shown.render()) if shown.display else ""

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: "member · ready" in entry(ana), "ana shown ready")
        assert warning() == ""
        for pid in couriers_of():  # no courier records the loss: the TUI sees it by itself
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: couriers_of() == [], what="the courier to be gone")

        tmux_server.tmux("kill-server")

        await until(pilot, lambda: "member · lost" in entry(ana), "ana shown lost", timeout=15)
        assert entry(ana).startswith(f"✗ ana#{ana}")
        assert "director · lost" in entry(fleet.director_id)
        assert "member · starting" in entry(cal)
        assert warning().startswith(f"⚠ The Director's pane and member ana#{ana}'s pane are gone (tmux server is not running). ")
        assert warning().endswith(
            f"Bring them back with: cafleet fleet restore {fleet.fleet_id} (run in the Director's new pane)"
        )
        assert recorded(ana) == "ready"
