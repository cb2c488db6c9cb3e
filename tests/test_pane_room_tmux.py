"""Member panes are never smaller than their agent needs to be read (a private tmux server).

The server's window is 160×48. claude needs 8 rows (`Claude.min_rows`): five members beside
the Director get (48 - 4) // 5 = 8 rows each; a sixth would leave each 7, so it opens a
members window in the Director's session, and a seventh joins it there."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

from cafleet.backends import backend
from cafleet.panes.pane_room import MEMBERS_WINDOW_OPTION, column_rows, tiled_rows
from tests.panes_support import agents, inputs, panes_fleet, run, spawn  # noqa: F401 (agents is a fixture)
from tests.test_members_tmux import pane_of

fleet = panes_fleet("rooms")


def tmux_field(tmux_server, pane_id: str, field: str) -> str:
    return subprocess.run(
        ["tmux", "-L", tmux_server.name, "display-message", "-p", "-t", pane_id, "#{" + field + "}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def test_the_layouts_rows_as_tmux_shares_them():
    assert column_rows(50, 6) == 7  # the measured case: six members beside the Director in 50 rows
    assert column_rows(50, 5) == 9
    assert tiled_rows(48, 1) == 48
    assert tiled_rows(48, 2) == 23  # two rows of one
    assert tiled_rows(48, 4) == 23  # two by two
    assert tiled_rows(48, 5) == 15  # three rows


def test_a_member_that_would_be_too_small_opens_a_members_window(cli, fleet, agents, tmux_server):
    needs = backend("claude").min_rows
    assert needs == 8
    director_window = tmux_field(tmux_server, tmux_server.pane_id, "window_id")
    members = [spawn(cli, fleet, name) for name in ("ann", "bob", "cy", "dan", "eve", "fay", "gus")]
    placements = {member: pane_of(member) for member in members}
    windows = {member: tmux_field(tmux_server, p.tmux_pane_id, "window_id") for member, p in placements.items()}
    for member, placement in placements.items():
        assert placement.tmux_window_id == windows[member]  # the record says where the pane really is
        assert int(tmux_field(tmux_server, placement.tmux_pane_id, "pane_height")) >= needs
        assert tmux_field(tmux_server, placement.tmux_pane_id, "session_name") == "main"
    beside, overflow = members[:5], members[5:]
    assert {windows[m] for m in beside} == {director_window}
    (members_window,) = {windows[m] for m in overflow}
    assert members_window != director_window
    assert tmux_field(tmux_server, placements[overflow[0]].tmux_pane_id, MEMBERS_WINDOW_OPTION) == str(fleet.director_id)

    # A member in the members window is typed into like any other.
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", overflow[1], "--text", "over there?")
    assert sent.code == 0, sent.err
    assert any("over there?" in text for text in inputs(agents.wait_for("gus", lambda ev: inputs(ev), timeout=30)))

    # Deleting the last members of the members window closes it; the Director's window stays.
    for member in overflow:
        gone = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", member)
        assert gone.code == 0, gone.err
    listed = subprocess.run(
        ["tmux", "-L", tmux_server.name, "list-windows", "-F", "#{window_id}"], capture_output=True, text=True, timeout=10
    ).stdout.split()
    assert listed == [director_window]

    # With room freed beside the Director (one member gone), the next member goes there.
    gone = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", beside[0])
    assert gone.code == 0, gone.err
    again = spawn(cli, fleet, "hal")
    assert pane_of(again).tmux_window_id == director_window


def test_members_created_at_once_each_keep_their_rows(cli, fleet, agents, tmux_server):
    """Seven `member create` at once: each chooses its spot after the one before it split, so
    the Director's window still holds five and one members window the other two."""
    needs = backend("claude").min_rows
    director_window = tmux_field(tmux_server, tmux_server.pane_id, "window_id")
    names = ("ann", "bob", "cy", "dan", "eve", "fay", "gus")
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        members = list(pool.map(lambda name: spawn(cli, fleet, name), names))
    windows = [tmux_field(tmux_server, pane_of(member).tmux_pane_id, "window_id") for member in members]
    heights = [int(tmux_field(tmux_server, pane_of(member).tmux_pane_id, "pane_height")) for member in members]
    assert min(heights) >= needs, heights
    assert windows.count(director_window) == 5, windows
    assert len(set(windows) - {director_window}) == 1, windows
