"""The roster's pane marks: what one `list-panes` says of each placed agent's pane (a typed
mark, made in the fleet view's worker), and the word the roster shows for it."""

from __future__ import annotations

import pytest

from cafleet.broker.agent_states import SeenState
from cafleet.broker.reads import RosterAgent, RosterEntry
from cafleet.core.agent_state import AgentState
from cafleet.core.domain import TUI_PANE_OPTION
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import PlacementRecord
from cafleet.screens.fleet_data import PaneLook, PaneMark, pane_states
from cafleet.screens.hosts import HostMark
from cafleet.screens.render import AGENT_STATE_MARKS, roster_entry, roster_height

STAMP = "2026-11-20T09:00:00.000000Z"


def placement(agent_id: int, pane_id: str | None, server=None, host: str | None = None) -> PlacementRecord:
    return PlacementRecord(
        agent_id=agent_id,
        director_id=1,
        tmux_socket=server.socket_path if server else "/tmp/tmux-test/default",
        tmux_server_pid=server.server_pid if server else 100,
        tmux_session="main",
        tmux_window_id="@1",
        tmux_pane_id=pane_id,
        coding_agent="claude",
        created_at=STAMP,
        host=host,
    )


def test_each_placed_agent_gets_the_mark_of_its_pane(tmux_server):
    tui = tmux_server.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-t", "main").stdout.strip()
    gone = tmux_server.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-t", "main").stdout.strip()
    assert tmux_server.tmux("set-option", "-p", "-t", tui, TUI_PANE_OPTION, "1").returncode == 0
    assert tmux_server.tmux("kill-pane", "-t", gone).returncode == 0

    marks = pane_states(
        [
            placement(1, tmux_server.pane_id, tmux_server),
            placement(2, tui, tmux_server),
            placement(3, gone, tmux_server),
            placement(4, None, tmux_server),
            placement(5, "%0", tmux_server, host="some-other-host"),
        ]
    )

    assert marks == {
        1: PaneMark(PaneLook.ALIVE),
        2: PaneMark(PaneLook.SHOWS_TUI),
        3: PaneMark(PaneLook.LOST, lost=PaneProblem.PANE_GONE),
        4: PaneMark(PaneLook.PENDING),
        5: PaneMark(PaneLook.ON_OTHER_HOST, "some-other-host"),
    }


def test_a_pane_is_lost_only_where_its_server_is_seen_gone(tmp_path):
    """A socket that refuses, or is missing from a directory this process sees, had a server
    that died; a missing directory may only be a private /tmp (a sandbox)."""
    from cafleet.core.timestamps import utc_now

    (tmp_path / "tmux-dead").mkdir()
    dead = placement(1, "%3")._replace(tmux_socket=str(tmp_path / "tmux-dead" / "default"), created_at=utc_now())
    unseen = placement(2, "%3")._replace(tmux_socket=str(tmp_path / "no-such-directory" / "default"), created_at=utc_now())
    # A reboot ends every tmux server, and usually empties /tmp with their sockets.
    before_boot = unseen._replace(agent_id=3, created_at="2000-01-01T00:00:00.000000Z")

    marks = pane_states([dead, unseen, before_boot])

    assert marks == {
        1: PaneMark(PaneLook.LOST, lost=PaneProblem.TMUX_SERVER_GONE),
        2: PaneMark(PaneLook.GONE),
        3: PaneMark(PaneLook.LOST, lost=PaneProblem.TMUX_SERVER_GONE),
    }


@pytest.mark.parametrize(
    "mark, host, word",
    [
        (PaneMark(PaneLook.ALIVE), None, "alive"),
        (PaneMark(PaneLook.SHOWS_TUI), None, "tui"),
        (PaneMark(PaneLook.LOST, lost=PaneProblem.PANE_GONE), None, "✗ lost"),
        (PaneMark(PaneLook.GONE), None, "✗ gone"),
        (PaneMark(PaneLook.PENDING), None, "pending"),
        # Its `on host` line names the host in a fleet across machines; else the mark does.
        (PaneMark(PaneLook.ON_OTHER_HOST, "host-b"), HostMark("host-b", False), "remote"),
        (PaneMark(PaneLook.ON_OTHER_HOST, "host-b"), None, "@host-b"),
        (None, None, "pane ?"),  # placed after the last survey of the panes
    ],
)
def test_the_roster_says_what_the_pane_mark_says_until_a_state_is_seen(mark, host, word):
    entry = RosterEntry(RosterAgent(4, "ivy", "member", "active", placement(4, "%5")), 0, None, False)
    lines = roster_entry(entry, mark, None, host).plain.split("\n")
    assert lines[:3] == ["ivy#4", f"  member · {word}", "  %5"]
    assert len(lines) == roster_height(entry, None, host)


@pytest.mark.parametrize("state", list(AgentState))
def test_every_agent_state_has_a_mark_of_its_own(state):
    entry = RosterEntry(RosterAgent(4, "ivy", "member", "active", placement(4, "%5")), 0, None, False)
    seen = SeenState(4, state, "", None, STAMP)
    name_line = roster_entry(entry, PaneMark(PaneLook.ALIVE), seen).plain.split("\n")[0]
    assert name_line == f"{AGENT_STATE_MARKS[state.value][0]} ivy#4" and not name_line.startswith("?")
