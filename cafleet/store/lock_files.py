"""Lock files and the courier's log, and taking a lock without waiting forever.

They live in `locks/` inside the database's local directory (`config.local_directory()`: the
SQLite file's directory, or this machine's private directory for a PostgreSQL server). That
directory is private to this user (`open_database` refuses any other), so nobody else can create `locks/` first or hold a lock
in it; and a sandboxed member that may write the database (codex `--add-dir`) can reach it too,
so every process that opens one database agrees on one courier lock, whatever its
environment. cafleet makes `locks/` itself (0700) and checks it is still its own each time.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import stat
import time
from contextlib import contextmanager
from pathlib import Path

from cafleet.core.config import local_directory
from cafleet.core.errors import Refused
from cafleet.core.hosts import this_host
from cafleet.store.db_files import prepare_private_directory

POLL_SECONDS = 0.02


class LockTimeout(Exception):
    """Another process held the lock for longer than the caller was willing to wait."""


def lock_directory() -> Path:
    return local_directory() / "locks"


def courier_lock_name() -> str:
    """One courier per host: named by the host, since two host ids may share a machine
    (and so a lock directory) when `CAFLEET_HOST_ID` is set."""
    return f"courier-{this_host()}.lock"


def courier_log_path() -> Path:
    return lock_directory() / f"courier-{this_host()}.log"


def directory_problem(directory: Path) -> str | None:
    """Why `directory` is not cafleet's own private lock directory (None when it is, or is
    not there yet)."""
    try:
        info = os.lstat(directory)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return f"lock directory {directory} is not a directory; remove it (rm {shlex.quote(str(directory))}) and cafleet recreates it"
    if info.st_uid != os.geteuid():
        return (
            f"lock directory {directory} belongs to another user (uid {info.st_uid}); "
            f"remove it (rm -r {shlex.quote(str(directory))}) and cafleet recreates it"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return f"lock directory {directory} is open to other users (mode {mode:04o}); cafleet makes it 0700 when it next takes a lock"
    return None


def ensure_lock_directory() -> Path:
    """`locks/`, created 0700 if missing; refused unless it is this user's own directory."""
    directory = lock_directory()
    if not directory.parent.exists():  # a PostgreSQL server's, before its first open here
        prepare_private_directory(directory.parent)
    try:
        if not directory.parent.exists():  # a PostgreSQL database's local directory, made on first use
            directory.parent.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            directory.parent.mkdir(mode=0o700, exist_ok=True)
        directory.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(directory)
        ours = stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
        if ours and info.st_mode & 0o077:
            os.chmod(directory, 0o700)  # cafleet's own directory, loosened by hand: tighten it
        problem = directory_problem(directory)
    except OSError as exc:
        raise Refused(
            f"cannot use lock directory {directory}: {exc.strerror}; check the database directory {directory.parent}"
        ) from None
    if problem:
        raise Refused(problem)
    return directory


def open_lock(name: str) -> int:
    """A descriptor on `locks/<name>` (created 0600), for `flock`."""
    path = ensure_lock_directory() / name
    try:
        return os.open(path, os.O_CREAT | os.O_RDWR | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise Refused(f"cannot open lock file {path}: {exc.strerror}; remove it and retry") from None


@contextmanager
def held(name: str, timeout: float):
    """Hold the exclusive lock `locks/<name>`; `LockTimeout` if it stays taken for `timeout` s."""
    fd = open_lock(name)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(name) from None
                time.sleep(POLL_SECONDS)
        yield
    finally:
        os.close(fd)  # closing the descriptor drops the lock
