"""Opening the database: file permissions, connection pragmas, and schema upgrade on first use."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from cafleet.config import database_path
from cafleet.errors import Refused
from cafleet.migrations import migrate, schema_version

BUSY_TIMEOUT_SECONDS = 30
_PRAGMAS = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "normal"}


def open_database(path: Path | None = None, create: bool = True):
    """Connect the shared peewee database to `path` (default: the configured one), migrated.

    Returns the peewee database. Safe to call repeatedly; reconnects if the path changed.
    """
    from peewee import DatabaseError as PeeweeDatabaseError

    from cafleet.models import database

    path = path or database_path()
    if not database.is_closed() and database.database == str(path):
        return database
    if not database.is_closed():
        database.close()
    if create:
        _ensure_file(path)
    elif not path.exists():
        raise Refused(f"database {path} does not exist yet; run `cafleet db init` to create it")
    database.init(str(path), timeout=BUSY_TIMEOUT_SECONDS, pragmas=_PRAGMAS)
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            database.connect()
            migrate(database.connection(), str(path))
            return database
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


def current_version(path: Path) -> int | None:
    """The schema version of the file at `path` without creating or migrating it."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return schema_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise _unusable(path, exc) from None


def _unusable(path: Path, exc: Exception) -> Refused:
    return Refused(f"cannot use database {path}: {exc}; check the file, or set CAFLEET_DATABASE_URL to another path")


def _ensure_file(path: Path) -> None:
    """Create the directory (0700) and the database file (0600) before SQLite does."""
    if path.exists():
        return
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    except OSError as exc:
        raise Refused(
            f"cannot create database {path}: {exc.strerror}; "
            "set CAFLEET_DATABASE_URL to a writable path"
        ) from None
