"""Typing into a pane the way real coding agents accept it, one writer per pane at a time.

Measured with claude, codex and opencode: a bracketed paste followed 0.2-0.3 s later by a
separate Enter is submitted as exactly one turn; faster input is taken as a paste and the
Enter becomes a newline. A pane lock keeps two deliveries from interleaving their keys.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from pathlib import Path

from cafleet.config import database_path
from cafleet.panes.safety import clean
from cafleet.panes.tmux import PaneState, Tmux

SETTLE_SECONDS = 0.25


@contextmanager
def pane_lock(socket_path: str, pane_id: str):
    """Exclusive across processes for one pane of one server."""
    directory = database_path().parent / "locks"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = hashlib.sha1(f"{socket_path}|{pane_id}".encode()).hexdigest()[:16]
    path = Path(directory, f"pane-{key}.lock")
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _prepare(tmux: Tmux, state: PaneState) -> None:
    if state.in_mode:
        tmux.leave_mode(state.pane_id)


def submit(tmux: Tmux, state: PaneState, text: str) -> None:
    """Paste `text` (may hold newlines) as one input, then Enter after the settle delay."""
    with pane_lock(tmux.socket_path, state.pane_id):
        _prepare(tmux, state)
        tmux.paste(state.pane_id, "\n".join(clean(line) for line in text.split("\n")))
        time.sleep(SETTLE_SECONDS)
        tmux.press_enter(state.pane_id)


def type_line(tmux: Tmux, state: PaneState, text: str, lead: str = "") -> None:
    """Type one line literally (`lead` first, e.g. `!` to enter shell mode), then Enter."""
    with pane_lock(tmux.socket_path, state.pane_id):
        _prepare(tmux, state)
        if lead:
            tmux.type_literal(state.pane_id, lead)
            time.sleep(0.1)
        tmux.type_literal(state.pane_id, clean(text))
        time.sleep(SETTLE_SECONDS)
        tmux.press_enter(state.pane_id)


def press(tmux: Tmux, state: PaneState, key: str) -> None:
    """One literal key (a menu choice digit)."""
    with pane_lock(tmux.socket_path, state.pane_id):
        _prepare(tmux, state)
        tmux.type_literal(state.pane_id, clean(key))
