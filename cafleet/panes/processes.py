"""The program in a pane's foreground, read from /proc (tmux only gives its first word)."""

from __future__ import annotations

import os


def foreground_argv(pane_pid: int | None) -> list[str] | None:
    """argv of the terminal's foreground process group leader, or None when unreadable."""
    if pane_pid is None:
        return None
    try:
        with open(f"/proc/{pane_pid}/stat", "rb") as stat:
            # Field 8 is tpgid; split after the ")" that ends the (possibly spaced) name.
            fields = stat.read().rsplit(b")", 1)[1].split()
        leader = int(fields[5])
        with open(f"/proc/{leader if leader > 0 else pane_pid}/cmdline", "rb") as cmdline:
            raw = cmdline.read()
    except (OSError, ValueError, IndexError):
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


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
