"""Where the database file may live: a directory and a file that only the current user can
reach. Checked before SQLite opens anything, so a refused location is left exactly as it was.

Messages are stored in clear text and every lock and log sits beside the database, so a
directory that others can read leaks the fleet's messages, and one they can write lets them
pre-create or hold the lock files that every notice waits on.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from cafleet.config import default_database_path
from cafleet.errors import Refused

SIDE_FILES = ("-wal", "-shm")


def prepare(path: Path, create: bool) -> None:
    """Refuse a location others can reach; with `create`, make the directory (0700) and an
    empty file (0600) when they are missing."""
    try:
        directory = path.parent
        if create and not directory.exists():
            # exist_ok: agents starting together on a new database race to make its directory.
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.exists():
            if not directory.is_dir():
                raise Refused(f"database directory {directory} is not a directory; set CAFLEET_DATABASE_URL to a path in a private directory")
            _refuse(directory_problem(directory))
        if path.exists():
            if not path.is_file():
                raise Refused(f"database {path} is not a file; set CAFLEET_DATABASE_URL to a file path")
            _refuse(owner_problem(path))
        elif create:
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                _refuse(owner_problem(path))  # another process created it first
        else:
            raise Refused(f"database {path} does not exist yet; run `cafleet db init` to create it")
    except OSError as exc:
        raise unusable_path(path, exc) from None


def prepare_private_directory(directory: Path) -> Path:
    """`directory`, created 0700 with any missing parents (each 0700 too, not the umask's
    mode); refused unless it is this user's and private."""
    try:
        missing = [d for d in (directory, *directory.parents) if not d.exists()]
        for parent in reversed(missing):
            try:
                parent.mkdir(mode=0o700)
            except FileExistsError:
                pass  # another process made it first; checked below
        if not directory.is_dir():
            raise Refused(f"{directory} is not a directory; remove it and cafleet recreates it")
        _refuse(private_directory_problem(directory))
    except OSError as exc:
        raise Refused(f"cannot use directory {directory}: {exc.strerror or exc}; check its parent directories") from None
    return directory


def unusable_path(path: Path, exc: OSError) -> Refused:
    return Refused(
        f"cannot use database {path}: {exc.strerror or exc}; "
        "set CAFLEET_DATABASE_URL to a writable path in a private directory"
    )


def directory_problem(directory: Path) -> str | None:
    """Why the database directory is not private to this user (None when it is)."""
    info = directory.stat()
    mode = stat.S_IMODE(info.st_mode)
    ours = info.st_uid == os.geteuid()
    if ours and not mode & 0o077:
        return None
    default = default_database_path()
    elsewhere = "keep the database in a private directory" + (
        "" if default.parent == directory else f" (e.g. CAFLEET_DATABASE_URL={shlex.quote(str(default))})"
    )
    if not ours:
        return f"database directory {directory} belongs to another user (uid {info.st_uid}); {elsewhere}"
    who = _who(mode)
    if mode & 0o002 or mode & stat.S_ISVTX:  # /tmp and the like: never the user's to tighten
        return f"database directory {directory} is {who} (mode {mode:04o}); {elsewhere}"
    return f"database directory {directory} is {who} (mode {mode:04o}); run chmod 700 {shlex.quote(str(directory))}, or {elsewhere}"


def private_directory_problem(directory: Path) -> str | None:
    """Why a directory cafleet keeps its own files in (not the database's) is not private to
    this user (None when it is)."""
    info = directory.stat()
    mode = stat.S_IMODE(info.st_mode)
    quoted = shlex.quote(str(directory))
    if info.st_uid != os.geteuid():
        return f"cafleet's directory {directory} belongs to another user (uid {info.st_uid}); remove it (rm -r {quoted}) and cafleet recreates it"
    if mode & 0o077:
        return f"cafleet's directory {directory} is {_who(mode)} (mode {mode:04o}); run chmod 700 {quoted}"
    return None


def owner_problem(path: Path) -> str | None:
    """Why cafleet may not use the database file or its WAL side files: another user's."""
    for candidate, info in _files(path):
        if info.st_uid != os.geteuid():
            return (
                f"database file {candidate} belongs to another user (uid {info.st_uid}); "
                "use your own database (set CAFLEET_DATABASE_URL to a file in a private directory)"
            )
    return None


def loose_files(path: Path) -> list[tuple[Path, int]]:
    """The database file and side files that others may open, with their modes."""
    return [(p, stat.S_IMODE(i.st_mode)) for p, i in _files(path) if i.st_mode & 0o077]


def file_problem(path: Path) -> str | None:
    """What `doctor` reports about the file's own permissions (None when private)."""
    loose = loose_files(path)
    if not loose:
        return owner_problem(path)
    first, mode = loose[0]
    names = " ".join(shlex.quote(str(p)) for p, _ in loose)
    return (
        f"database file {first} is {_who(mode)} (mode {mode:04o}); the next cafleet command makes it "
        f"private, or run chmod 600 {names}"
    )


def make_private(path: Path) -> str | None:
    """Tighten a cafleet database's own files to 0600; what was changed, for a note.

    Only called once the file is known to be cafleet's: another application's file is never
    touched. The directory is never changed (it may be shared on purpose): that is refused."""
    loose = loose_files(path)
    for candidate, _mode in loose:
        try:
            os.chmod(candidate, 0o600)
        except OSError as exc:
            raise Refused(f"cannot make database file {candidate} private: {exc.strerror}; run chmod 600 {shlex.quote(str(candidate))}") from None
    if not loose:
        return None
    # SQLite gives the -wal and -shm files the database file's mode: name the file's.
    return f"made {', '.join(str(p) for p, _ in loose)} private (mode {loose[0][1]:04o} -> 0600)"


def _files(path: Path):
    for candidate in [path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)]:
        try:
            yield candidate, candidate.stat()
        except FileNotFoundError:
            continue


def _who(mode: int) -> str:
    if mode & 0o022:
        return "writable by other users"
    return "readable by other users" if mode & 0o044 else "open to other users"


def _refuse(problem: str | None) -> None:
    if problem:
        raise Refused(problem)
