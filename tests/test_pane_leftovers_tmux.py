"""Agents that outlive their pane (gemini ignores the hang-up of a killed pane or tmux server):
finding what a closed pane left running, by the pane its environment names, and ending it."""

from __future__ import annotations

import subprocess
import sys

from cafleet.core.records import PlacementRecord
from cafleet.panes.pane_leftovers import end_pane_leftovers, pane_processes
from cafleet.panes.processes import process_identity
from tests.support import private_tmux_server
from tests.waiting import wait_for

# Like an idle gemini: it ignores SIGHUP, and only ends when told to.
STUBBORN = f"exec {sys.executable} -c 'import signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(120)'"


def ignores_hangup(pid: int) -> bool:
    """Whether the process has set SIGHUP to be ignored (bit 0 of SigIgn in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as status:
        ignored = next(line for line in status if line.startswith("SigIgn:"))
    return bool(int(ignored.split()[1], 16) & 1)


def server_gone(server) -> bool:
    return process_identity(server.server_pid) is None


def placement_of(server, pane_id: str) -> PlacementRecord:
    return PlacementRecord(1, None, server.socket_path, server.server_pid, "main", "@0", pane_id, "gemini", "")


def test_what_a_killed_pane_left_running_is_found_and_ended():
    with private_tmux_server(command=STUBBORN) as server:
        placement = placement_of(server, server.pane_id)
        found = wait_for(lambda: pane_processes(placement), 10, "the pane's process")
        ((pid, identity),) = found
        wait_for(lambda: ignores_hangup(pid), 10, "the process to ignore SIGHUP")
        subprocess.run(["tmux", "-L", server.name, "kill-server"], capture_output=True, timeout=10)
        wait_for(lambda: server_gone(server), 10, "the tmux server to end")  # and hang up its panes
        assert process_identity(pid) == identity
        assert pane_processes(placement) == found  # its environment still names the closed pane

        assert end_pane_leftovers(placement) == [pid]
        assert process_identity(pid) != identity
        assert pane_processes(placement) == []


def test_only_the_named_pane_of_the_named_server_counts():
    with private_tmux_server(command=STUBBORN) as server:
        wait_for(lambda: pane_processes(placement_of(server, server.pane_id)), 10, "the pane's process")
        assert pane_processes(placement_of(server, "%99")) == []
        assert pane_processes(placement_of(server, server.pane_id)._replace(tmux_server_pid=1)) == []
