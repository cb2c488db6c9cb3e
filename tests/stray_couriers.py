"""Couriers the tests started that outlive them.

A courier leaves by itself once no tmux server it serves is alive or its database is gone; one
that stays after its test is a bug (it loaded CI's machine until the real agents timed out)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def couriers_under(root: Path) -> list[int]:
    """Pids of courier processes whose HOME lies under `root` (the tests' own temp directory)."""
    marker = f"HOME={root}{os.sep}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if b"cafleet.panes.courier" not in (proc / "cmdline").read_bytes():
                continue
            if any(entry.startswith(marker) for entry in (proc / "environ").read_bytes().split(b"\0")):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def stray_couriers(root: Path, grace: float) -> list[str]:
    """The couriers under `root` still running after `grace` seconds, each with the test that
    started it; they are ended (SIGKILL) so they load nothing after the run."""
    deadline = time.monotonic() + grace
    while (left := couriers_under(root)) and time.monotonic() < deadline:
        time.sleep(0.2)
    strays = []
    for pid in left:
        try:
            environ = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
            test = next((e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"PYTEST_CURRENT_TEST=")), "?")
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
        strays.append(f"{pid} ({test})")
    return strays
