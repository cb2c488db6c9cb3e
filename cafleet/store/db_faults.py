"""Faults of the database itself, told apart from cafleet bugs in one place: `fault_of(exc)`.

A full disk, a file or directory made read-only, a damaged or vanished file, a lock held past
the busy timeout, a PostgreSQL server that refuses writes or drops the connection: each is a
`DatabaseFault` (a `Refused`, so the CLI prints it as `Error: …` and the TUI as a
notification) whose `kind` says what happened and whether it can pass for the running process,
and whose message names the file or server and the fix.

The engines' peewee classes mix in `engine_faults.NamesFaults`, so a broker call raises the
fault itself;
`fault_of` also reads a raw sqlite3 or psycopg2 error, or a peewee error wrapping one, anywhere
in an exception's chain (a failed COMMIT is often hidden behind the ROLLBACK that followed it).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from cafleet.core.errors import Refused
from cafleet.store.db_files import SIDE_FILES, real_file

if TYPE_CHECKING:
    from cafleet.core.config import PostgresServer


class FaultKind(StrEnum):
    FULL = "full"  # no room to write: a full filesystem or quota, a file-size limit
    READ_ONLY = "read-only"  # the file, its directory or filesystem, or the server refuses writes
    LOCKED = "locked"  # another process held the write lock past the busy timeout
    UNREACHABLE = "unreachable"  # the PostgreSQL server went away or dropped the connection
    IO_ERROR = "io-error"  # the disk failed a read or write
    DAMAGED = "damaged"  # the file (or the server's data) is not a readable cafleet database
    GONE = "gone"  # the file was moved or deleted, or the server's database dropped

    @property
    def permanent(self) -> bool:
        """True when this process can never use its database again (damaged, gone): a long-running
        process should leave. The others may pass (space freed, permissions restored, the lock
        released, the server back)."""
        return self in (FaultKind.DAMAGED, FaultKind.GONE)


class DatabaseFault(Refused):
    """The database cannot do what was asked, through no fault of the request."""

    def __init__(self, kind: FaultKind, message: str):
        super().__init__(message)
        self.kind = kind


# SQLite's result codes (sqlite3.h); Python reports the extended code in `sqlite_errorcode`.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CORRUPT = 5, 6, 8, 10, 11
_SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 13, 14, 26
# The server's refusal of a connection to a database it does not have (its lc_messages in English).
_DATABASE_MISSING = re.compile(r'FATAL:\s+database "[^"]*" does not exist')
_SQLITE_READONLY_DBMOVED = _SQLITE_READONLY | (4 << 8)
# A write, a truncate (growing a file) or growing the shared-memory index failed.
_SQLITE_IOERR_GROWING = (_SQLITE_IOERR | (3 << 8), _SQLITE_IOERR | (6 << 8), _SQLITE_IOERR | (19 << 8))


def fault_of(exc: BaseException, where: Path | PostgresServer | None = None) -> DatabaseFault | None:
    """The database fault behind `exc` (None when it is not one: a constraint, a bug).

    `where` is the database the error came from; by default the one `open_database` opened,
    else the configured one."""
    for link in _chain(exc):
        if isinstance(link, DatabaseFault):
            return link
        code = getattr(link, "sqlite_errorcode", None)
        if isinstance(code, int):
            fault = _sqlite_fault(link, code, _path(where))
        elif type(link).__module__.partition(".")[0] == "psycopg2":
            fault = _postgres_fault(link, where)
        else:
            continue
        if fault is not None:
            return fault
    return None


def _chain(exc: BaseException):
    """`exc`, then what caused it or was being handled when it was raised, and the original
    error a peewee error wraps (its first argument)."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        link = pending.pop(0)
        if id(link) in seen:
            continue
        seen.add(id(link))
        yield link
        wrapped = link.args[0] if link.args and isinstance(link.args[0], BaseException) else None
        pending += [e for e in (wrapped, link.__cause__, link.__context__) if e is not None]


def _path(where: Path | PostgresServer | None) -> Path | None:
    if isinstance(where, Path):
        return where
    if where is not None:
        return None
    current = _current_target()
    return current if isinstance(current, Path) else None


def _current_target() -> Path | PostgresServer | None:
    import sys

    models = sys.modules.get("cafleet.store.models")  # imported by whoever opened a database
    engine = getattr(getattr(models, "database", None), "obj", None)
    target = getattr(engine, "fault_target", None)
    if target is not None:
        return target()
    from cafleet.core.config import database_target

    try:
        return database_target()
    except Exception:  # a bad setting: the command itself reports it
        return None


# --------------------------------------------------------------------------- SQLite


def _sqlite_fault(error: BaseException, code: int, path: Path | None) -> DatabaseFault | None:
    if path is None:
        return None
    primary = code & 0xFF
    reason = str(error)
    if primary == _SQLITE_FULL:
        return full(path)
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        from cafleet.store.db import BUSY_TIMEOUT_SECONDS

        return DatabaseFault(
            FaultKind.LOCKED,
            f"database {path} is locked by another process (cafleet waits for it up to {BUSY_TIMEOUT_SECONDS} s); "
            f"retry, or find the process that holds it (fuser {_q(path)})",
        )
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return damaged(path, reason, not_a_database=primary == _SQLITE_NOTADB)
    if code == _SQLITE_READONLY_DBMOVED:
        return gone(path)
    if primary == _SQLITE_READONLY:
        return _read_only(path, reason)
    if primary == _SQLITE_CANTOPEN:
        if not os.path.exists(path):  # a link to nothing counts as nothing
            return gone(path)
        return _read_only(path, reason, opening=True)
    if primary == _SQLITE_IOERR:
        return _size_limit(path, code) or (full(path) if _filesystem_full(path) else _io_error(path, reason, error))
    return None


def full(path: Path) -> DatabaseFault:
    directory = real_file(path).parent
    return DatabaseFault(
        FaultKind.FULL,
        f"cannot write database {path}: database or disk is full; free space on the filesystem holding {directory} "
        f"(df -h {_q(directory)}), then retry",
    )


def damaged(path: Path, reason: str, not_a_database: bool = False) -> DatabaseFault:
    """A file SQLite cannot read as a database: damaged, or another kind of file."""
    real = real_file(path)
    broken = Path(f"{real}.broken")
    # The -wal goes with its file: left behind, SQLite would replay it into the next database.
    aside = f"mv {_q(real)} {_q(broken)}, and {_q(Path(f'{real}-wal'))} to {_q(Path(f'{broken}-wal'))} if it is there"
    if not_a_database:
        return DatabaseFault(
            FaultKind.DAMAGED,
            f"{path} is not a cafleet database ({reason}); if it is a damaged one, move it aside ({aside}) and run "
            "`cafleet db init` to start a new one; otherwise set CAFLEET_DATABASE_URL to your cafleet database",
        )
    return DatabaseFault(
        FaultKind.DAMAGED,
        f"database {path} is damaged ({reason}); move it aside ({aside}) and run `cafleet db init` to start a new one, "
        "or restore it from a backup",
    )


def gone(path: Path) -> DatabaseFault:
    return DatabaseFault(
        FaultKind.GONE,
        f"database {path} was moved or deleted while cafleet was using it; put it back, or run `cafleet db init` "
        "to start a new one",
    )


def _read_only(path: Path, reason: str, opening: bool = False) -> DatabaseFault:
    return DatabaseFault(
        FaultKind.READ_ONLY,
        write_problem(path)
        or (
            f"cannot {'open' if opening else 'write'} database {path}: {reason}; check that you may write it and its "
            f"directory (chmod 600 {_q(path)}; chmod 700 {_q(real_file(path).parent)})"
        ),
    )


def write_problem(path: Path) -> str | None:
    """Why this process may not write the database at `path` (None when nothing says so):
    a read-only filesystem, file, side file or directory. `doctor` reports it; a failed write
    names it."""
    real = real_file(path)
    directory = real.parent
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return (
                f"cannot write database {path}: the filesystem holding {directory} is mounted read-only; remount it "
                "read-write, or set CAFLEET_DATABASE_URL to a file on a writable filesystem"
            )
        refusing = [
            (candidate, candidate.stat())
            for candidate in (real, *(Path(f"{real}{side}") for side in SIDE_FILES))
            if os.path.exists(candidate) and not os.access(candidate, os.R_OK | os.W_OK)
        ]
        for candidate, info in refusing:
            mode = stat.S_IMODE(info.st_mode)
            if info.st_uid != os.geteuid():
                return (
                    f"cannot write database {path}: {candidate} belongs to another user (uid {info.st_uid}); "
                    "use your own database (set CAFLEET_DATABASE_URL to a file in a private directory)"
                )
            if mode & 0o600 == 0o600:  # the mode allows it: an attribute (chattr +i) or an ACL refuses
                return (
                    f"cannot write database {path}: {candidate} refuses writes although its mode is {mode:04o} "
                    f"(immutable? see lsattr {_q(candidate)}); clear it (chattr -i {_q(candidate)}), then retry"
                )
        if refusing:
            # SQLite gives the -wal and -shm files the database file's mode: name every one.
            first, info = refusing[0]
            which = "the file" if first == real else str(first)
            names = " ".join(_q(path if candidate == real else candidate) for candidate, _ in refusing)
            return (
                f"cannot write database {path}: {which} is read-only (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"restore its permissions (chmod 600 {names}), then retry"
            )
        if not os.access(directory, os.W_OK | os.X_OK):
            mode = stat.S_IMODE(directory.stat().st_mode)
            return (
                f"cannot write database {path}: its directory {directory} is read-only (mode {mode:04o}) and SQLite "
                f"keeps the database's -wal and -shm files there; restore its permissions (chmod 700 {_q(directory)}), "
                "then retry"
            )
    except OSError:
        return None
    return None


def _size_limit(path: Path, code: int) -> DatabaseFault | None:
    """A write refused under this process's file-size limit (RLIMIT_FSIZE, `ulimit -f`).
    SQLite reports it as an I/O error and may already have truncated the file it was
    writing, so the limit itself is the evidence."""
    import resource

    limit, _hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if limit == resource.RLIM_INFINITY or code not in _SQLITE_IOERR_GROWING:
        return None
    return DatabaseFault(
        FaultKind.FULL,
        f"cannot write database {path}: disk I/O error while this process may write files of at most {limit} bytes "
        "(ulimit -f); raise the limit (ulimit -f unlimited), then retry",
    )


def _filesystem_full(path: Path) -> bool:
    try:
        return os.statvfs(real_file(path).parent).f_bavail == 0
    except OSError:
        return False


def _io_error(path: Path, reason: str, error: BaseException) -> DatabaseFault:
    directory = real_file(path).parent
    name = getattr(error, "sqlite_errorname", "")
    return DatabaseFault(
        FaultKind.IO_ERROR,
        f"cannot use database {path}: {reason} ({name}); check the disk holding {directory} (dmesg; df -h {_q(directory)}), "
        "then retry",
    )


def _q(path: Path) -> str:
    return shlex.quote(str(path))


# --------------------------------------------------------------------------- PostgreSQL


def _postgres_fault(error: BaseException, where: Path | PostgresServer | None) -> DatabaseFault | None:
    from cafleet.core.config import PostgresServer

    server = where if isinstance(where, PostgresServer) else _current_target()
    shown = f"PostgreSQL {server.shown()}" if isinstance(server, PostgresServer) else "the PostgreSQL server"
    code = getattr(error, "pgcode", None) or ""
    reason = " ".join(str(error).split("\n")[0].split()) or type(error).__name__
    if code == "25006":  # read_only_sql_transaction
        return DatabaseFault(
            FaultKind.READ_ONLY,
            f"{shown} refuses writes ({reason}): it is a read-only standby, or default_transaction_read_only is on; "
            "point CAFLEET_DATABASE_URL at the primary, or turn it off "
            "(ALTER DATABASE … SET default_transaction_read_only = off)",
        )
    if code == "42501":  # insufficient_privilege
        return DatabaseFault(
            FaultKind.READ_ONLY,
            f"{shown} denies this role ({reason}); connect as the role that owns cafleet's tables, or GRANT this one "
            "their privileges",
        )
    if code in ("53100", "53400"):  # disk_full, configuration_limit_exceeded (e.g. temp_file_limit)
        return DatabaseFault(FaultKind.FULL, f"{shown} has no room to write ({reason}); free space on the server, then retry")
    if code in ("XX001", "XX002"):  # data_corrupted, index_corrupted
        return DatabaseFault(
            FaultKind.DAMAGED,
            f"{shown} reports damaged data ({reason}); restore the database from a backup (the server log names the relation)",
        )
    # invalid_catalog_name: dropped while in use; or refused at connect, where libpq hands its
    # caller the server's words but no SQLSTATE.
    if code == "3D000" or (not code and _DATABASE_MISSING.search(reason)):
        return DatabaseFault(
            FaultKind.GONE,
            f"{shown} no longer exists ({reason}); create it again (createdb) and run `cafleet db init`, or fix CAFLEET_DATABASE_URL",
        )
    if code in ("55P03", "40P01"):  # lock_not_available, deadlock_detected
        return DatabaseFault(FaultKind.LOCKED, f"{shown} could not take a lock ({reason}); retry")
    connection_lost = code.startswith("08") or code in ("57P01", "57P02", "57P03", "53300")
    if connection_lost or (not code and type(error).__name__ in ("OperationalError", "InterfaceError")):
        return DatabaseFault(
            FaultKind.UNREACHABLE, f"lost the connection to {shown} ({reason}); check that the server runs, then retry"
        )
    return None
