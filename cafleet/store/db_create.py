"""Creating a SQLite database: built beside its path and linked into place whole.

The path shows either nothing or a complete cafleet database, never an empty or half-written
file, so an empty file there is never cafleet's own (`db_files.empty_problem` refuses it), and
several processes starting on one new database each find nothing or the whole database.
"""

from __future__ import annotations

import errno
import os
import secrets
import shlex
import sqlite3
from pathlib import Path

from cafleet.core.errors import Refused
from cafleet.store.db_faults import DatabaseFault, FaultKind, fault_of, full, write_problem
from cafleet.store.db_files import SIDE_FILES, real_file, sqlite_uri, unusable_database, unusable_path
from cafleet.store.migrations import migrate


def create_database(path: Path) -> None:
    """Build a new database, at the latest schema, in a file of its own beside `path`'s real
    file, then link it into place: the path shows either nothing or a whole cafleet database,
    never an empty or half-built file (so an empty file there is never cafleet's own). When
    several processes start on one new database, the first link wins and the others use it."""
    real = real_file(path)
    _refuse_orphans(path, real)
    building = real.with_name(f".{real.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        os.close(os.open(building, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(sqlite_uri(building), uri=True, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = wal")
            migrate(conn, str(path))
        finally:
            conn.close()  # checkpoints the WAL into the file and removes it
        if any(os.path.exists(f"{building}{side}") for side in SIDE_FILES):
            raise Refused(
                f"cannot create database {path}: SQLite could not finish writing {building}; check the disk, then retry"
            )
        try:
            os.link(building, real)
        except FileExistsError:
            pass  # another process linked its database first: that one is used
    except sqlite3.Error as exc:
        raise fault_of(exc, path) or unusable_database(path, exc) from None
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise full(path) from None
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) and write_problem(path):
            raise DatabaseFault(FaultKind.READ_ONLY, write_problem(path) or "") from None
        raise unusable_path(path, exc) from None
    finally:
        for side in ("", *SIDE_FILES):
            try:
                os.unlink(f"{building}{side}")
            except OSError:
                pass


def _refuse_orphans(path: Path, real: Path) -> None:
    """A -wal (or rollback journal) whose database is gone would be replayed by SQLite into the
    new database at its path: refuse until it is moved to where its database went."""
    for side in ("-wal", "-journal"):
        orphan = Path(f"{real}{side}")
        # In this order: such a file appears only after its database does.
        if orphan.exists() and not real.exists():
            raise Refused(
                f"database {path} does not exist, but {orphan} does: it holds changes of a database that was moved or "
                f"deleted, and SQLite would replay them into a new one; move it beside that database "
                f"(mv {shlex.quote(str(orphan))} {shlex.quote(f'{real}.broken{side}')}) or remove it, then retry"
            )
