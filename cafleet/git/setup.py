"""A new worktree's setup command (install dependencies, build): run once, before the member's
agent starts, with its output kept in a log."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import NamedTuple

from cafleet.git.command import git_environment

# A repository may keep its setup in this file; `--setup` given on the command line wins.
SETUP_FILE = ".cafleet/worktree-setup"
SETUP_TIMEOUT_SECONDS = 900.0
LOG_TAIL_LINES = 15


class SetupCommand(NamedTuple):
    argv: list[str]
    shown: str  # as the Director reads it


class SetupRun(NamedTuple):
    command: SetupCommand
    log: Path
    exit_status: int | None  # None: it ran out of time and was killed
    tail: tuple[str, ...]  # the log's last lines

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


def setup_command(worktree: Path, given: str | None) -> SetupCommand | None:
    """`given` run by the shell, else the worktree's own `.cafleet/worktree-setup` (executed
    when it is executable, else read by `sh`), else None."""
    if given is not None:
        return SetupCommand(["/bin/sh", "-c", given], given)
    script = worktree / SETUP_FILE
    if not script.is_file():
        return None
    if os.access(script, os.X_OK):
        return SetupCommand([str(script)], SETUP_FILE)
    return SetupCommand(["/bin/sh", str(script)], f"sh {shlex.quote(SETUP_FILE)}")


def run_setup(command: SetupCommand, worktree: Path, source: Path, log: Path) -> SetupRun:
    """Run the setup in `worktree`, its output (both streams) into `log`. The command sees
    `CAFLEET_WORKTREE` (the new worktree) and `CAFLEET_SOURCE_TREE` (the Director's)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = git_environment({"CAFLEET_WORKTREE": str(worktree), "CAFLEET_SOURCE_TREE": str(source)})
    status: int | None
    with open(log, "wb") as out:
        out.write(f"$ {command.shown}\n".encode())
        out.flush()
        process = subprocess.Popen(
            command.argv,
            cwd=worktree,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            status = process.wait(timeout=SETUP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            status = None
        except BaseException:  # interrupted: the setup must not outlive the worktree it works in
            _kill_group(process)
            raise
    return SetupRun(command, log, status, _tail(log))


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 9)
    except ProcessLookupError:
        pass
    process.wait()


def _tail(log: Path) -> tuple[str, ...]:
    with open(log, "rb") as handle:
        handle.seek(max(0, os.path.getsize(log) - 16384))
        lines = handle.read().decode("utf-8", "replace").splitlines()
    return tuple(lines[-LOG_TAIL_LINES:])
