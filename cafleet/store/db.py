"""Opening the database: file permissions, connection pragmas, and schema upgrade on first use.

SQLite is the default; a `postgresql://` URL selects `cafleet.store.postgres`. Both bind the same
peewee models (`cafleet.store.models.database`).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from cafleet.core.config import PostgresServer, database_target
from cafleet.core.errors import Refused
from cafleet.store.db_files import (
    location_problems,
    make_private,
    prepare,
    prepare_private_directory,
    real_file,
    sqlite_uri,
    unusable_database,
    unusable_path,
)
from cafleet.store.engine_faults import NamesFaults
from cafleet.store.migrations import check_is_cafleet, migrate, schema_version

if TYPE_CHECKING:
    from cafleet.store.db_faults import DatabaseFault

BUSY_TIMEOUT_SECONDS = 30
# Per connection, and none of them writes: WAL mode is switched on (a write) only once the
# file has been found to be cafleet's own.
_PRAGMAS = {"foreign_keys": 1, "synchronous": "normal"}


def open_database(target: Path | PostgresServer | None = None, create: bool = True):
    """Connect the shared peewee database to `target` (default: the configured one), migrated.

    Returns the peewee database. Safe to call repeatedly; reconnects if the target changed.
    """
    from cafleet.store.models import database

    target = target or database_target()
    current = database.obj
    if current is not None and not current.is_closed() and current.database == _name(target):
        return database
    close_database()
    if isinstance(target, PostgresServer):
        from cafleet.store.postgres import open_postgres

        database.initialize(open_postgres(target))
        prepare_private_directory(target.local_directory())  # its locks and the courier's log
        return database
    _open_sqlite(target, create)
    return database


def _name(target: Path | PostgresServer) -> str:
    return target.url if isinstance(target, PostgresServer) else str(target)


def close_database() -> None:
    """Close the connection, and forget the target so nothing later reaches it by accident."""
    from cafleet.store.models import database

    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()
    database.initialize(None)


def close_thread_connection() -> None:
    """Close the calling thread's connection, if it opened one (each thread has its own): a
    thread that ends without this leaves its connection open until garbage collection."""
    from cafleet.store.models import database

    if database.obj is not None and not database.obj.is_closed():
        database.obj.close()


def is_open() -> bool:
    """Whether this process has opened a database (and not closed it since)."""
    from cafleet.store.models import database

    return database.obj is not None


def is_postgres() -> bool:
    from cafleet.store.models import database

    return getattr(database.obj, "engine", None) == "postgresql"


def _open_sqlite(path: Path, create: bool) -> None:
    from cafleet.store.models import database as proxy
    from cafleet.store.orm import DatabaseError as PeeweeDatabaseError

    if not prepare(path, create):
        from cafleet.store.db_create import create_database

        create_database(path)
    # IMMEDIATE: a deferred transaction that has read cannot upgrade to a write lock once
    # another connection committed, and SQLite then fails at once without consulting the
    # busy timeout. Taking the write lock up front makes concurrent writers queue instead.
    database = _sqlite_class()(str(path), lock_type="IMMEDIATE", timeout=BUSY_TIMEOUT_SECONDS, pragmas=_PRAGMAS)
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
        except Exception as exc:
            database.close()
            from cafleet.store.db_faults import FaultKind, fault_of

            fault = fault_of(exc, path)
            # Switching a file to WAL takes an exclusive lock and SQLite answers "locked" at once
            # instead of waiting on the busy timeout: wait here instead.
            if fault is not None and fault.kind is FaultKind.LOCKED and time.monotonic() < deadline:
                time.sleep(0.02)
                continue
            if fault is not None:
                raise fault from None
            if isinstance(exc, (sqlite3.DatabaseError, PeeweeDatabaseError)):
                raise unusable_database(path, exc) from None
            raise
        except BaseException:
            database.close()
            raise


@functools.cache
def _sqlite_class():
    from cafleet.store.orm import SqliteDatabase

    class CafleetSqlite(NamesFaults, SqliteDatabase):
        def fault_target(self) -> Path:
            return Path(self.database)

        def connect(self, *args, **kwargs):
            try:
                return super().connect(*args, **kwargs)
            except Exception as exc:
                self._raise_fault(exc)
                raise

        # (device, inode) of the file the first connection opened: every later connection and
        # transaction must find the same file at the path.
        opened_file: tuple[int, int] | None = None

        def _connect(self):
            # Read-write, never create: every thread's connection opens the file that
            # `create_database` built, and a file removed meanwhile is an error (gone), not a new
            # empty database.
            conn = sqlite3.connect(
                sqlite_uri(Path(self.database)), uri=True, timeout=self._timeout, isolation_level=None, **self.connect_params
            )
            try:
                self._add_conn_hooks(conn)
                self._still_the_same_file()
            except BaseException:
                conn.close()
                raise
            return conn

        def begin(self, *args, **kwargs):
            # In WAL mode SQLite goes on writing into a file that was moved or deleted (where
            # the changes are lost): look at the path before each transaction (one stat).
            self._still_the_same_file()
            return super().begin(*args, **kwargs)

        def _still_the_same_file(self) -> None:
            identity = _file_identity(Path(self.database))
            if self.opened_file is None:
                self.opened_file = identity
            elif identity != self.opened_file:
                from cafleet.store.db_faults import gone

                raise gone(Path(self.database))

        def rollback(self):
            # SQLite itself ends a transaction whose write failed for lack of space or an I/O
            # error; a ROLLBACK then fails ("no transaction is active") and would hide why.
            if not self.is_closed() and not self.connection().in_transaction:
                return
            super().rollback()

    return CafleetSqlite


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


def current_version(target: Path | PostgresServer) -> int | None:
    """The schema version of `target` without creating or migrating it (None: no cafleet
    database there yet); refused, like `open_database`, when it is not a cafleet database."""
    if isinstance(target, PostgresServer):
        from cafleet.store.postgres import current_version as postgres_version

        return postgres_version(target)
    path = target
    try:
        problems = location_problems(path)  # before SQLite opens anything there (a planted -wal)
        if not problems and not real_file(path).exists():
            return None
    except OSError as exc:
        raise unusable_path(path, exc) from None
    if problems:
        raise Refused(problems[0])
    try:
        # Read-write but only reading: a read-only connection would leave -wal and -shm files
        # behind beside another application's WAL database.
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
        try:
            check_is_cafleet(conn, str(path))
            return schema_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        from cafleet.store.db_faults import fault_of

        raise fault_of(exc, path) or unusable_database(path, exc) from None


def page_damage(path: Path) -> DatabaseFault | None:
    """What SQLite's quick check finds wrong in the file's pages (None: nothing). It reads the
    whole file, so it is `doctor`'s check, not every command's."""
    from cafleet.store.db_faults import damaged, fault_of

    try:
        conn = sqlite3.connect(sqlite_uri(path), uri=True)
        try:
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return fault_of(exc, path)
    if rows == [("ok",)]:
        return None
    return damaged(path, " ".join(str(rows[0][0]).split()))


def data_version() -> int:
    """A number that changes whenever another connection commits (a few microseconds to ask):
    how pollers, the courier and the TUI notice new data without re-reading tables."""
    from cafleet.store.models import database

    return database.execute_sql("PRAGMA data_version").fetchone()[0]
