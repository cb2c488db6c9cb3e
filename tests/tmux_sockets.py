"""Every tmux server a test starts (itself, or through a process it runs) must be gone, socket
and all, when the test ends.

The run gets a TMUX_TMPDIR of its own (one per pytest worker), so the sockets in it are this
run's alone: other test runs and the user's tmux on the same machine never show up. Each test's
new socket files are compared before and after it; one left behind fails that test, and is
cleaned away so the next test is not blamed for it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

# tmux itself never removes its socket file (3.3a, killed or exiting): whoever stops a server
# must. A moment for one a test's process is still cleaning up.
SETTLE_SECONDS = 5.0


def socket_directory(tmpdir: Path) -> Path:
    """Where tmux puts `-L NAME` sockets under TMUX_TMPDIR=`tmpdir`."""
    return tmpdir / f"tmux-{os.getuid()}"


def sockets_in(directory: Path) -> set[str]:
    """The names of the socket files in `directory` (none when it does not exist yet)."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return set()
    return {entry.name for entry in entries if stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode)}


def left_behind(directory: Path, before: set[str], settle: float = SETTLE_SECONDS) -> set[str]:
    """Sockets that appeared since `before` and are still there after `settle` seconds (a
    process the test started may still be removing its own)."""
    deadline = time.monotonic() + settle
    while True:
        new = sockets_in(directory) - before
        if not new or time.monotonic() >= deadline:
            return new
        time.sleep(0.05)


def remove(directory: Path, names: set[str]) -> None:
    """Stop any server still answering on these sockets, then delete the files."""
    for name in names:
        path = directory / name
        subprocess.run(["tmux", "-S", str(path), "kill-server"], capture_output=True, timeout=10)
        path.unlink(missing_ok=True)
