"""Opening the database: file permissions, connection pragmas, and schema upgrade on first use.

SQLite is the default; a `postgresql://` URL selects `cafleet.postgres`. Both bind the same
peewee models (`cafleet.models.database`).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from cafleet.config import PostgresServer, database_target
from cafleet.db_files import make_private, prepare, prepare_private_directory, unusable_path
from cafleet.errors import Refused
from cafleet.migrations import check_is_cafleet, migrate, schema_version

BUSY_TIMEOUT_SECONDS = 30
# Per connection, and none of them writes: WAL mode is switched on (a write) only once the
# file has been found to be cafleet's own.
_PRAGMAS = {"foreign_keys": 1, "synchronous": "normal"}


def open_database(target: Path | PostgresServer | None = None, create: bool = True):
    """Connect the shared peewee database to `target` (default: the configured one), migrated.

    Returns the peewee database. Safe to call repeatedly; reconnects if the target changed.
    """
    from cafleet.models import database

    target = target or database_target()
    current = database.obj
    if current is not None and not current.is_closed() and current.database == _name(target):
        return database
    close_database()
    if isinstance(target, PostgresServer):
        from cafleet.postgres import open_postgres

        database.initialize(open_postgres(target))
        prepare_private_directory(target.local_directory())  # its locks and the courier's log
        return database
    _open_sqlite(target, create)
    return database


def _name(target: Path | PostgresServer) -> str:
    return target.url if isinstance(target, PostgresServer) else str(target)


def close_database() -> None:
    """Close the connection, and forget the target so nothing later reaches it by accident."""
    from cafleet.models import database

    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    database.initialize(None)


def is_postgres() -> bool:
    from cafleet.models import database

    return getattr(database.obj, "engine", None) == "postgresql"


def _open_sqlite(path: Path, create: bool) -> None:
    from peewee import DatabaseError as PeeweeDatabaseError
    from peewee import SqliteDatabase

    from cafleet.models import database as proxy

    prepare(path, create)
    # IMMEDIATE: a deferred transaction that has read cannot upgrade to a write lock once
    # another connection committed, and SQLite then fails at once without consulting the
    # busy timeout. Taking the write lock up front makes concurrent writers queue instead.
    database = SqliteDatabase(str(path), lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_SECONDS, pragmas=_PRAGMAS)
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            database.connect()
            connection = database.connection()
            check_is_cafleet(connection, str(path))
            change = make_private(path)
            if change:
                print(f"Note: {change}: only you may read cafleet's messages", file=sys.stderr)
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode = wal")
            migrate(connection, str(path))
            proxy.initialize(database)
            return
        except (sqlite3.DatabaseError, PeeweeDatabaseError) as exc:
            database.close()
            # Switching a brand-new file to WAL takes an exclusive lock and SQLite answers
            # "locked" at once instead of waiting on the busy timeout: wait here instead.
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            raise _unusable(path, exc) from None
        except BaseException:
            database.close()
            raise


def current_version(target: Path | PostgresServer) -> int | None:
    """The schema version of `target` without creating or migrating it (None: no cafleet
    database there yet); refused, like `open_database`, when it is not a cafleet database."""
    if isinstance(target, PostgresServer):
        from cafleet.postgres import current_version as postgres_version

        return postgres_version(target)
    path = target
    try:
        if not path.exists():
            return None
    except OSError as exc:
        raise unusable_path(path, exc) from None
    try:
        # Read-write but only reading: a read-only connection would leave -wal and -shm files
        # behind beside another application's WAL database.
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True)
        try:
            check_is_cafleet(conn, str(path))
            return schema_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from None


def _unusable(path: Path, exc: Exception) -> Refused:
    return Refused(f"cannot use database {path}: {exc}; check the file, or set CAFLEET_DATABASE_URL to another path")


def data_version() -> int:
    """A number that changes whenever another connection commits (a few microseconds to ask):
    how pollers, the courier and the TUI notice new data without re-reading tables."""
    from cafleet.models import database

    return database.execute_sql("PRAGMA data_version").fetchone()[0]
