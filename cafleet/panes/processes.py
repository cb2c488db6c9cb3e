"""The program in a pane's foreground, read from /proc (tmux only gives its first word),
or from `ps` where there is no /proc (macOS)."""

from __future__ import annotations

import os
import subprocess

HAVE_PROC = os.path.isdir("/proc/self")


def foreground_argv(pane_pid: int | None) -> list[str] | None:
    """argv of the terminal's foreground process group leader, or None when unreadable."""
    if pane_pid is None:
        return None
    if not HAVE_PROC:
        return _from_ps(pane_pid)
    fields = stat_fields(pane_pid)
    if fields is None:
        return None
    leader = int(fields[5])  # tpgid: the terminal's foreground process group
    return argv_of(leader if leader > 0 else pane_pid)


def stat_fields(pid: int) -> list[bytes] | None:
    """/proc/PID/stat after the (possibly spaced) name: [state, ppid, pgrp, session, tty, tpgid, …]."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def argv_of(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            raw = cmdline.read()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _from_ps(pane_pid: int) -> list[str] | None:
    """The same through `ps` (arguments split on spaces: enough to recognise an agent)."""
    try:
        leader = subprocess.run(["ps", "-o", "tpgid=", "-p", str(pane_pid)], capture_output=True, text=True, timeout=5).stdout.strip()
        pid = leader if leader.isdigit() and int(leader) > 0 else str(pane_pid)
        args = subprocess.run(["ps", "-o", "args=", "-p", pid], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return args.split() or None


def program_name(argv: list[str]) -> str:
    """The program's name as `ps` shows it (a login shell's leading `-` dropped)."""
    return os.path.basename(argv[0]).lstrip("-") if argv else ""


def runs_script(argv: list[str], *markers: str) -> bool:
    """True when an interpreter (node, python, bun) in `argv` runs a script matching a marker.

    npm links `.bin/codex` to the package's script, and node sees the link's path: markers
    are looked for in the resolved path too."""
    for arg in argv[1:3]:
        resolved = os.path.realpath(arg) if arg.startswith("/") else arg
        if any(marker in arg or marker in resolved for marker in markers):
            return True
    return False


def process_identity(pid: int) -> str | None:
    """What tells process `pid` apart from a later one given the same pid: its pid namespace
    and start time. None when no such process runs (a zombie counts as ended)."""
    if not HAVE_PROC:
        try:
            started = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return None
        return f"ps|{started}" if started else None
    fields = stat_fields(pid)
    if fields is None or fields[0] in (b"Z", b"X"):
        return None
    return f"{_pid_namespace()}|{int(fields[19])}"  # field 22 of stat: start time in clock ticks


def process_ended(pid: int, identity: str) -> bool | None:
    """True when the process recorded as (`pid`, `identity`) has ended; None when this process
    cannot tell (it sees another pid namespace than the recorder did)."""
    namespace = identity.split("|", 1)[0]
    if namespace != ("ps" if not HAVE_PROC else _pid_namespace()):
        return None
    return process_identity(pid) != identity


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
