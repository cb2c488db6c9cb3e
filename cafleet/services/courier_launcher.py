"""Keep this host's courier for this database running: it types every pending notice for a
pane on this host into its pane (another host's notices wait for that host's courier).

Called after every send, after each CLI command that keeps the courier (`keeps_courier` in
`cafleet.cli.settings`: what agents run to join a fleet and talk in it), by the monitor and
the TUI. It must stay light (no libtmux, no subprocess unless a courier has to be started):
it runs on every send and poll. A process that cannot reach tmux (a sandboxed member) starts nothing; its notices
wait, `pending`, for a courier that a process outside the sandbox keeps alive.
"""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

from cafleet.core.config import database_setting
from cafleet.store.lock_files import courier_lock_name, courier_log_path, lock_directory, open_lock

LOCK_FD_VARIABLE = "CAFLEET_COURIER_LOCK_FD"


def courier_lock_path() -> Path:
    return lock_directory() / courier_lock_name()


def courier_running() -> bool:
    """True while a courier holds its lock (checked without blocking, and without writing: a
    sandboxed member may only read here)."""
    path = courier_lock_path()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock we may have taken
    return False


def notices_due() -> bool:
    """Whether any stored notice for this host's panes still waits for delivery."""
    from cafleet.broker.notifications import notices_due_here

    return notices_due_here()


def ensure_courier(always: bool = False) -> int | None:
    """Start this host's courier if none runs and notices wait here (or `always`: an agent
    placed on this host on a live tmux server is reason enough, since the courier also types
    what other hosts send it and watches agents' states), unless this process cannot reach
    tmux. Returns the pid of the courier it started, None if it started none. The database
    must be open.

    When a courier runs this costs one non-blocking `flock` (and no import of `socket`, which
    the probe needs); otherwise one or two indexed queries and a `connect` per tmux socket. The courier's lock is taken here and handed to
    the new process (an inherited descriptor shares the lock), so two callers can never both
    start one."""
    if courier_running():
        return None
    due = None if always else notices_due()  # asked only where it decides something
    if due is False:
        return None
    from cafleet.broker.notifications import live_pane_sockets
    from cafleet.services.tmux_probe import ServerSeen, can_reach_tmux, dead_servers, probe_servers

    probes = probe_servers(live_pane_sockets())
    if ServerSeen.LIVE not in probes.values():
        dead = dead_servers(probes)
        if dead and (due or notices_due()):
            from cafleet.broker.notifications import settle_unreachable

            settle_unreachable(dead)  # their panes went with their servers
        if dead or ServerSeen.UNSEEN in probes.values():
            from cafleet.services.lost_servers import mark_lost

            mark_lost(probes)  # after a reboot no courier starts to notice it
        return None  # nothing to type into or watch: a courier would leave at once
    own_tmux = os.environ.get("TMUX", "").split(",")[0]
    if own_tmux and not can_reach_tmux(own_tmux):
        return None
    fd = open_lock(courier_lock_name())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # another caller just started one
        return _start_courier(fd, courier_log_path())
    finally:
        os.close(fd)  # the courier keeps the lock through its own copy


def _start_courier(lock_fd: int, log_path: Path) -> int:
    import subprocess

    with open(log_path, "ab") as log:  # a crash leaves its reason here
        return subprocess.Popen(
            [sys.executable, "-m", "cafleet.panes.courier"],
            env=dict(os.environ, CAFLEET_DATABASE_URL=database_setting(), **{LOCK_FD_VARIABLE: str(lock_fd)}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # outlives the CLI call and ignores the caller's Ctrl-C
            pass_fds=(lock_fd,),
        ).pid
