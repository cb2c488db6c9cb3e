"""`lost` without tmux: how a fleet's loss is worded (doctor and the TUI), which rows the
roster corrects with its own look at the panes, and who is marked lost when a server is gone."""

from __future__ import annotations

import pytest

from cafleet.broker.agent_states import SeenState
from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.fleet_loss import PlacedAgent, fleet_loss
from cafleet.core.pane_problem import PaneProblem
from cafleet.screens.fleet_data import PaneLook, PaneMark, shown_states
from cafleet.services.tmux_probe import ServerSeen

SOCKET = "/tmp/tmux-0/default"
STAMP = "2026-11-20T09:00:00.000000Z"
GONE = PaneProblem.TMUX_SERVER_GONE


def member(agent_id: int, lost: PaneProblem | None = GONE, name: str | None = None) -> PlacedAgent:
    return PlacedAgent(agent_id, name or f"m{agent_id}", "member", SOCKET, lost)


def director(lost: PaneProblem | None = GONE) -> PlacedAgent:
    return PlacedAgent(1, "director", "director", SOCKET, lost)


@pytest.mark.parametrize(
    "agents, line",
    [
        (
            [director(None), member(5), member(6), member(7), member(8)],
            "all 4 members' panes are gone (tmux server /tmp/tmux-0/default is not running); "
            "bring them back with: cafleet fleet restore 3",
        ),
        (
            [director(), member(5), member(6)],
            "the Director's pane and all 2 members' panes are gone (tmux server /tmp/tmux-0/default is not running); "
            "bring them back with: cafleet fleet restore 3 (run in the Director's new pane)",
        ),
        (
            [director(None), member(5, PaneProblem.PANE_GONE, "coder")],
            "member coder#5's pane is gone (pane closed); bring it back with: cafleet fleet restore 3",
        ),
        (
            [director(None), member(5, None), member(6, PaneProblem.PANE_GONE), member(7, PaneProblem.PANE_GONE)],
            "2 of 3 members' panes are gone: m6#6, m7#7 (panes closed); bring them back with: cafleet fleet restore 3",
        ),
        (
            [director(PaneProblem.OTHER_TMUX_SERVER), member(5, None)],
            "the Director's pane is gone (tmux server /tmp/tmux-0/default was restarted); "
            "bring it back with: cafleet fleet restore 3 (run in the Director's new pane)",
        ),
        (
            [member(n, PaneProblem.PANE_GONE if n % 2 else None) for n in range(2, 16)],
            "7 of 14 members' panes are gone: m3#3, m5#5, m7#7, m9#9, m11#11 and 2 more (panes closed); "
            "bring them back with: cafleet fleet restore 3",
        ),
    ],
)
def test_a_fleet_loss_says_whose_panes_are_gone_why_and_the_restore(agents, line):
    loss = fleet_loss(3, agents)
    assert loss is not None
    assert f"{loss.what()} ({loss.why()}); {loss.fix()}" == line


def test_a_fleet_with_nothing_lost_has_no_loss():
    assert fleet_loss(3, [director(None), member(5, None)]) is None
    assert fleet_loss(3, []) is None


def seen(agent_id: int, state: AgentState) -> SeenState:
    return SeenState(agent_id, state, "", None, STAMP)


def test_the_roster_shows_what_its_own_look_at_the_panes_finds():
    panes = {
        1: PaneMark(PaneLook.LOST, lost=GONE),  # the courier left with the server: its row is old
        2: PaneMark(PaneLook.LOST, lost=PaneProblem.PANE_GONE),  # never seen by a courier
        3: PaneMark(PaneLook.ALIVE),  # restored: a lost row is old
        4: PaneMark(PaneLook.PENDING),  # being spawned again
        5: PaneMark(PaneLook.GONE),  # no server seen from here: the row stands
        6: PaneMark(PaneLook.PENDING),
    }
    rows = {1: seen(1, AgentState.READY), 3: seen(3, AgentState.LOST), 4: seen(4, AgentState.LOST), 5: seen(5, AgentState.BUSY)}
    rows[6] = seen(6, AgentState.STARTING)

    shown = {agent_id: (s.state, s.reason) for agent_id, s in shown_states(panes, rows).items()}

    assert shown == {
        1: (AgentState.LOST, GONE),
        2: (AgentState.LOST, PaneProblem.PANE_GONE),
        4: (AgentState.STARTING, PaneProblem.PENDING_PLACEMENT),
        5: (AgentState.BUSY, ""),
        6: (AgentState.STARTING, ""),
    }


def test_a_row_recorded_as_gone_before_lost_was_named_reads_lost():
    assert AgentState("gone") is AgentState.LOST


def test_a_tmux_server_is_gone_for_sure_only_where_this_process_can_tell():
    from cafleet.core.records import PlacementRecord
    from cafleet.core.timestamps import utc_now
    from cafleet.services.lost_servers import server_gone

    fresh = PlacementRecord(4, 1, SOCKET, 4242, "main", "@1", "%7", "claude", utc_now())
    before_boot = fresh._replace(created_at="2000-01-01T00:00:00.000000Z")

    assert server_gone(fresh, ServerSeen.DEAD)
    assert not server_gone(fresh, ServerSeen.UNSEEN)  # a private /tmp, perhaps
    assert server_gone(before_boot, ServerSeen.UNSEEN)  # a reboot ended it
    assert not server_gone(before_boot, ServerSeen.FORBIDDEN)
    assert not server_gone(before_boot, ServerSeen.LIVE)  # a new server: its pane ids tell


def test_the_agents_of_a_gone_server_are_marked_lost_once_and_a_spawn_stays_starting(db, tmp_path):
    from cafleet.broker.agent_states import record_state, seen_states
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.services.lost_servers import mark_lost
    from tests.support import FAKE_PANE

    (tmp_path / "tmux-0").mkdir()
    socket = str(tmp_path / "tmux-0" / "default")  # its directory is there, its socket is not: dead
    created = create_fleet(FAKE_PANE._replace(tmux_socket=socket), label="after kill-server")
    placed = register_member(created.fleet.id, created.director.id, "ana", "works", "claude").id
    attach_pane(placed, "%3")
    spawning = register_member(created.fleet.id, created.director.id, "cal", "works", "claude").id
    record_state(placed, Observation(AgentState.READY))
    record_state(spawning, Observation(AgentState.STARTING, PaneProblem.PENDING_PLACEMENT))

    assert sorted(mark_lost({socket: ServerSeen.DEAD})) == sorted([created.director.id, placed])
    assert mark_lost({socket: ServerSeen.DEAD}) == []  # already marked: nothing written
    states = seen_states([created.director.id, placed, spawning])
    assert {a: (s.state, s.reason) for a, s in states.items()} == {
        created.director.id: (AgentState.LOST, GONE),
        placed: (AgentState.LOST, GONE),
        spawning: (AgentState.STARTING, PaneProblem.PENDING_PLACEMENT),
    }
    assert mark_lost({socket: ServerSeen.FORBIDDEN}) == []  # a sandbox proves nothing
