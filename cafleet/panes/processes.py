"""The program in a pane's foreground, read from /proc (tmux only gives its first word),
or from `ps` where there is no /proc (macOS)."""

from __future__ import annotations

import os
import subprocess
from typing import NamedTuple

HAVE_PROC = os.path.isdir("/proc/self")
# readlink(/proc/PID/exe) of a process whose binary was replaced since it started (an update).
_DELETED = " (deleted)"


class Program(NamedTuple):
    """A running process as the kernel describes it: what decides whether it is an agent."""

    argv: list[str]
    exe: str | None  # its executable, resolved by the kernel; None where that cannot be read
    cwd: str | None  # its working directory (relative paths in argv); None where unreadable
    # True when the process wrote a title over its arguments (node's `process.title`): its
    # argv is the title, and the rest of the original arguments' room is NUL padding, which a
    # program merely started under that name (`exec -a`) never has.
    retitled: bool = False


def foreground_program(pane_pid: int | None) -> Program | None:
    """The terminal's foreground process group leader, or None when unreadable."""
    if pane_pid is None:
        return None
    if not HAVE_PROC:
        return _from_ps(pane_pid)
    fields = stat_fields(pane_pid)
    if fields is None:
        return None
    leader = int(fields[5])  # tpgid: the terminal's foreground process group
    return read_program(leader if leader > 0 else pane_pid)


def read_program(pid: int) -> Program | None:
    """Process `pid` from /proc; None when it is gone or its argv cannot be read."""
    raw = _cmdline(pid)
    if raw is None:
        return None
    exe = _readlink(f"/proc/{pid}/exe")
    if exe is not None and exe.endswith(_DELETED):
        exe = exe[: -len(_DELETED)]
    return Program(_split(raw), exe, _readlink(f"/proc/{pid}/cwd"), retitled=raw.endswith(b"\0\0"))


def _readlink(path: str) -> str | None:
    try:
        return os.readlink(path)
    except OSError:  # another user's process, a kernel thread, or gone
        return None


def stat_fields(pid: int) -> list[bytes] | None:
    """/proc/PID/stat after the (possibly spaced) name: [state, ppid, pgrp, session, tty, tpgid, …]."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return None


def argv_of(pid: int) -> list[str] | None:
    raw = _cmdline(pid)
    return None if raw is None else _split(raw)


def _cmdline(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return None


def _split(raw: bytes) -> list[str]:
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def _from_ps(pane_pid: int) -> Program | None:
    """The same through `ps`: its arguments split on spaces (an argument holding a space is
    split too, which can only make a process fail to be recognised), and neither the
    executable nor the working directory known."""
    try:
        leader = subprocess.run(
            ["ps", "-o", "tpgid=", "-p", str(pane_pid)], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        pid = leader if leader.isdigit() and int(leader) > 0 else str(pane_pid)
        # -ww: without it ps cuts the line at its idea of the terminal's width.
        args = subprocess.run(["ps", "-ww", "-o", "args=", "-p", pid], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return Program(args.split(), None, None) if args else None


def program_name(argv: list[str]) -> str:
    """The program's name as `ps` shows it (a login shell's leading `-` dropped)."""
    return os.path.basename(argv[0]).lstrip("-") if argv else ""


def process_identity(pid: int) -> str | None:
    """What tells process `pid` apart from a later one given the same pid: its pid namespace
    and start time. None when no such process runs (a zombie counts as ended)."""
    if not HAVE_PROC:
        try:
            started = subprocess.run(
                ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=5
            ).stdout.strip()
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
