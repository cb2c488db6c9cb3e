"""Where a member's pane goes: beside its Director while every member pane there stays tall
enough for its agent's screen to be read, else in a window of the Director's session kept
for its members.

An agent drawn in too few rows loses the bottom of its input box, and its screen reads
`starting` for ever (claude needs 8 rows: six members beside the Director in a 200×50 window
got panes of 7). Each backend names the rows it needs (`Backend.min_rows`); each member pane
carries its agent's need as a pane option, so a later split can tell whether it would squeeze
an earlier member below its own. The sizes are predicted from tmux's layouts before the
split: a pane once started is never moved (its agent would redraw mid-screen).

The Director's window keeps `main-vertical` (the Director on the left, its members stacked on
the right); a members window, which has no Director, is `tiled`.

Choosing the spot and splitting it is one step per tmux server (a lock): two members created at
once would otherwise both count the room as it was before either split, and squeeze each
other below their rows, or open two members windows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from cafleet.core.errors import Refused
from cafleet.panes.tmux import Tmux, TmuxError
from cafleet.store.lock_files import LockTimeout, held

# Window option: the Director (agent id) whose overflow members the window holds.
MEMBERS_WINDOW_OPTION = "@cafleet_members_of"
# Pane option: the fewest rows the member's agent needs.
MIN_ROWS_OPTION = "@cafleet_min_rows"
DIRECTOR_LAYOUT = "main-vertical"
MEMBERS_LAYOUT = "tiled"
MEMBERS_WINDOW_NAME = "members"
# A split takes tens of milliseconds; a lock held this long belongs to a process that hangs.
ROOM_LOCK_SECONDS = 30.0


class Spot(NamedTuple):
    """Where the next member pane goes: split `window_id`, or (None) a new members window."""

    window_id: str | None
    rows: int  # the rows its pane will get (0 when a new window: the whole window)


class _Window(NamedTuple):
    window_id: str
    height: int
    needs: tuple[int, ...]  # each pane's MIN_ROWS_OPTION (0: no member, e.g. the Director)
    members_of: str


def column_rows(height: int, panes: int) -> int:
    """The height of the smallest of `panes` panes stacked in `height` rows (one border row
    between two), as tmux's `main-vertical` and `even-vertical` share them out."""
    return (height - (panes - 1)) // panes if panes > 0 else height


def tiled_rows(height: int, panes: int) -> int:
    """The height of the smallest pane when `panes` panes are `tiled` in `height` rows: tmux
    adds rows and columns in turn until the grid holds them all."""
    rows = columns = 1
    while rows * columns < panes:
        rows += 1
        if rows * columns < panes:
            columns += 1
    return column_rows(height, rows)


def find_spot(tmux: Tmux, director_window: str, director_id: int, min_rows: int) -> Spot:
    """The window to split for a member whose agent needs `min_rows` rows: the Director's own
    window while each member pane there keeps its rows, else the first members window of this
    Director that keeps them, else None (open a new members window)."""
    windows = _windows(tmux)
    own = windows.get(director_window)
    if own is not None:
        rows = column_rows(own.height, len(own.needs))  # the Director's pane is the main one
        if rows >= max((min_rows, *own.needs)):
            return Spot(own.window_id, rows)
    elif director_window not in windows:
        return Spot(director_window, 0)  # not listed (tmux refused?): split it as before
    for window in windows.values():
        if window.members_of != str(director_id) or window.window_id == director_window:
            continue
        rows = tiled_rows(window.height, len(window.needs) + 1)
        if rows >= max((min_rows, *window.needs)):
            return Spot(window.window_id, rows)
    return Spot(None, 0)


def mark_members_window(tmux: Tmux, window_id: str, director_id: int) -> None:
    tmux.run("set-option", "-w", "-t", window_id, MEMBERS_WINDOW_OPTION, str(director_id))


def mark_pane(tmux: Tmux, pane_id: str, min_rows: int) -> None:
    tmux.run("set-option", "-p", "-t", pane_id, MIN_ROWS_OPTION, str(min_rows))


def rebalance(tmux: Tmux, window_id: str) -> None:
    """Lay the window out again after a pane came or went: its Director's layout, or a
    members window's."""
    try:
        kept = tmux.run("show-options", "-w", "-q", "-v", "-t", window_id, MEMBERS_WINDOW_OPTION)
        layout = MEMBERS_LAYOUT if kept and kept[0].strip() else DIRECTOR_LAYOUT
        tmux.select_layout(window_id, layout)
    except TmuxError:
        pass  # the window may be gone with its last pane; layout is cosmetic


def _windows(tmux: Tmux) -> dict[str, _Window]:
    fields = ("#{window_id}", "#{window_height}", "#{" + MIN_ROWS_OPTION + "}", "#{" + MEMBERS_WINDOW_OPTION + "}")
    try:
        lines = tmux.run("list-panes", "-a", "-F", "\t".join(fields))
    except TmuxError:
        return {}
    found: dict[str, _Window] = {}
    for line in lines:
        parts = line.split("\t")
        if len(parts) != 4 or not parts[1].isdigit():
            continue
        window_id, height, need, members_of = parts
        seen = found.get(window_id)
        needs = (*(seen.needs if seen else ()), int(need) if need.isdigit() else 0)
        found[window_id] = _Window(window_id, int(height), needs, members_of)
    return found


class Opened(NamedTuple):
    window_id: str
    pane_id: str


def open_member_pane(
    tmux: Tmux,
    director_window: str,
    director_id: int,
    min_rows: int,
    command: str,
    environment: dict[str, str],
    cwd: str | None,
) -> Opened:
    """Start `command` in a new member pane where `find_spot` says, marked with its agent's
    need, and lay its window out again."""
    with _choosing_alone(tmux):
        return _split_at_spot(tmux, director_window, director_id, min_rows, command, environment, cwd)


@contextmanager
def _choosing_alone(tmux: Tmux) -> Iterator[None]:
    """Hold this tmux server's room lock: no other pane is placed meanwhile."""
    name = f"room-{hashlib.sha1(tmux.socket_path.encode()).hexdigest()[:16]}.lock"
    try:
        with held(name, ROOM_LOCK_SECONDS):
            yield
    except LockTimeout:
        raise Refused(
            f"another member's pane on tmux server {tmux.socket_path} has been opening for over "
            f"{ROOM_LOCK_SECONDS:g}s; retry once that command has finished"
        ) from None


def _split_at_spot(
    tmux: Tmux, director_window: str, director_id: int, min_rows: int, command: str, environment: dict[str, str], cwd: str | None
) -> Opened:
    spot = find_spot(tmux, director_window, director_id, min_rows)
    if spot.window_id is not None:
        opened = Opened(spot.window_id, tmux.split(spot.window_id, command, environment, cwd))
    else:
        opened = Opened(*tmux.new_window(director_window, MEMBERS_WINDOW_NAME, command, environment, cwd))
    try:
        if spot.window_id is None:
            mark_members_window(tmux, opened.window_id, director_id)
        mark_pane(tmux, opened.pane_id, min_rows)
    except TmuxError:
        pass  # the pane is gone already (deleted while spawning): recording it says so
    rebalance(tmux, opened.window_id)
    return opened
