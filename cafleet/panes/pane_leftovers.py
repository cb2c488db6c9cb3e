"""Ending what an agent left running after its pane closed.

Most agents end with their pane: closing it hangs up their terminal. Gemini CLI ignores the
hang-up: an idle gemini survives `tmux kill-pane` and `tmux kill-server`, both its node
processes adopted by init (`Backend.outlives_its_pane`). Every process started in a pane
inherits the pane's `TMUX` (`socket,server pid,session`) and `TMUX_PANE` from tmux, which is
how they are found again once the pane is gone: from /proc, so only on Linux (elsewhere
nothing is found, and nothing is ended).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from cafleet.core.records import PlacementRecord
from cafleet.panes.processes import HAVE_PROC, process_identity

# How long the processes have to end on SIGTERM before they are killed.
GRACE_SECONDS = 3.0


def pane_processes(placement: PlacementRecord) -> list[tuple[int, str]]:
    """(pid, identity) of each of this user's processes started in the placement's pane."""
    if not HAVE_PROC or placement.tmux_pane_id is None or placement.tmux_server_pid is None:
        return []
    server = f"TMUX={placement.tmux_socket},{placement.tmux_server_pid},".encode()
    pane = f"TMUX_PANE={placement.tmux_pane_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            variables = (entry / "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or another user's
            continue
        if pane in variables and any(variable.startswith(server) for variable in variables):
            identity = process_identity(int(entry.name))
            if identity is not None:
                found.append((int(entry.name), identity))
    return found


def end_processes(processes: list[tuple[int, str]], grace: float = GRACE_SECONDS) -> list[int]:
    """SIGTERM each process that is still the one found, then SIGKILL those still there after
    `grace` seconds. The pids signalled."""
    signalled = [pid for pid, identity in processes if process_identity(pid) == identity and _signal(pid, signal.SIGTERM)]
    deadline = time.monotonic() + grace
    remaining = dict(processes)
    while signalled and time.monotonic() < deadline:
        if all(process_identity(pid) != remaining[pid] for pid in signalled):
            return signalled
        time.sleep(0.1)
    for pid in signalled:
        if process_identity(pid) == remaining[pid]:
            _signal(pid, signal.SIGKILL)
    return signalled


def end_pane_leftovers(placement: PlacementRecord) -> list[int]:
    """End whatever still runs from the placement's pane (which must be closed or lost)."""
    return end_processes(pane_processes(placement))


def _signal(pid: int, number: signal.Signals) -> bool:
    try:
        os.kill(pid, number)
    except OSError:  # ended meanwhile, or not ours
        return False
    return True
