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
from urllib.parse import quote

from cafleet.core.config import default_database_path
from cafleet.core.errors import Refused

SIDE_FILES = ("-wal", "-shm", "-journal")


def sqlite_uri(path: Path) -> str:
    """`path` opened read-write, never created: a missing file is an error, not a new database."""
    return f"file:{quote(str(path))}?mode=rw"


def real_file(path: Path) -> Path:
    """The file SQLite opens for `path`, symbolic links followed: it keeps the -wal and -shm
    files beside that file, not beside the link, so that is the directory that must be private."""
    return Path(os.path.realpath(path))


def prepare(path: Path, create: bool) -> bool:
    """Refuse a location others can reach; with `create`, make the directory (0700) when it is
    missing. Whether the database file exists (`cafleet.store.db_create` makes a missing one whole)."""
    try:
        directory = path.parent
        if create and not directory.exists():
            # exist_ok: agents starting together on a new database race to make its directory.
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        real = real_file(path)
        problems = location_problems(path, real)
        if problems:
            raise Refused(problems[0])
        if real.exists():
            return True
        if not create:
            raise Refused(f"database {path} does not exist yet; run `cafleet db init` to create it")
        if not real.parent.is_dir():
            raise Refused(
                f"database {path} is a symbolic link to {real}, whose directory does not exist; "
                "create that directory (mkdir -m 700), or set CAFLEET_DATABASE_URL to a file in a private directory"
            )
        return False
    except OSError as exc:
        raise unusable_path(path, exc) from None


def location_problems(path: Path, real: Path | None = None) -> list[str]:
    """Every reason cafleet would refuse to open the database at `path` before reading it: a
    directory others can reach (the link's, and the real file's when `path` is a symbolic
    link), something other than a file, another user's file or side file, an empty file."""
    problems = []
    directory = path.parent
    if directory.exists():
        if not directory.is_dir():
            return [
                f"database directory {directory} is not a directory; set CAFLEET_DATABASE_URL to a path in a private directory"
            ]
        problems.append(directory_problem(directory))
    real = real or real_file(path)
    if path.is_symlink() and real.parent != real_file(directory):  # a link into another directory
        problems.append(link_problem(path, real))
    if real.exists():
        if not real.is_file():
            problems.append(f"database {path} is not a file; set CAFLEET_DATABASE_URL to a file path")
        else:
            problems += [owner_problem(path, real), empty_problem(path, real)]
    return [p for p in problems if p]


def link_problem(path: Path, real: Path) -> str | None:
    """Why the directory a symbolic link leads to may not hold the database (None when private)."""
    directory = real.parent
    if not directory.is_dir():
        return None  # nothing is there to read or plant; creating it is refused later
    exposure = _exposure(directory)
    if exposure is None:
        return None
    foreign = [f"{p} there belongs to uid {i.st_uid}" for p, i in _files(path, real) if p != path and i.st_uid != os.geteuid()]
    return (
        f"database {path} is a symbolic link to {real}, whose directory {directory} {exposure}: SQLite keeps the "
        f"database's -wal and -shm files beside {real}, where other users can read or plant them"
        + "".join(f"; {f}" for f in foreign)
        + f"; move the database into a private directory (mv {shlex.quote(str(real))} {shlex.quote(str(path))}), "
        "or set CAFLEET_DATABASE_URL to a file in one"
    )


def empty_problem(path: Path, real: Path | None = None) -> str | None:
    """An empty file is never cafleet's: a new database is built whole and linked into place."""
    if (real or real_file(path)).stat().st_size:
        return None
    quoted = shlex.quote(str(path))
    return (
        f"database {path} is an empty file (0 bytes), not a cafleet database; cafleet left it untouched: remove it "
        f"(rm {quoted}) and the next command creates a new database there, or set CAFLEET_DATABASE_URL to another file"
    )


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
        f"cannot use database {path}: {exc.strerror or exc}; set CAFLEET_DATABASE_URL to a writable path in a private directory"
    )


def unusable_database(path: Path, exc: Exception) -> Refused:
    """An SQLite error no fault names (`db_faults.fault_of` found none)."""
    return Refused(f"cannot use database {path}: {exc}; check the file, or set CAFLEET_DATABASE_URL to another path")


def directory_problem(directory: Path) -> str | None:
    """Why the database directory is not private to this user (None when it is)."""
    exposure = _exposure(directory)
    if exposure is None:
        return None
    default = default_database_path()
    elsewhere = "keep the database in a private directory" + (
        "" if default.parent == directory else f" (e.g. CAFLEET_DATABASE_URL={shlex.quote(str(default))})"
    )
    info = directory.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid() or mode & 0o002 or mode & stat.S_ISVTX:  # /tmp and the like: never the user's to tighten
        return f"database directory {directory} {exposure}; {elsewhere}"
    return f"database directory {directory} {exposure}; run chmod 700 {shlex.quote(str(directory))}, or {elsewhere}"


def _exposure(directory: Path) -> str | None:
    """How other users can reach `directory`, in words with its mode or owner (None: they cannot)."""
    info = directory.stat()
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid != os.geteuid():
        return f"belongs to another user (uid {info.st_uid})"
    if not mode & 0o077:
        return None
    return f"is {_who(mode)} (mode {mode:04o})"


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


def owner_problem(path: Path, real: Path | None = None) -> str | None:
    """Why cafleet may not use the database file or its side files: another user's."""
    for candidate, info in _files(path, real):
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
            raise Refused(
                f"cannot make database file {candidate} private: {exc.strerror}; run chmod 600 {shlex.quote(str(candidate))}"
            ) from None
    if not loose:
        return None
    # SQLite gives the -wal and -shm files the database file's mode: name the file's.
    return f"made {', '.join(str(p) for p, _ in loose)} private (mode {loose[0][1]:04o} -> 0600)"


def _files(path: Path, real: Path | None = None):
    """The database file and its side files that exist, as the user named it (`path`) and
    beside the real file."""
    real = real or real_file(path)
    for candidate in [path, *(Path(f"{real}{suffix}") for suffix in SIDE_FILES)]:
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
