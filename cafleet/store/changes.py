"""Noticing that another process committed, without re-reading any table.

SQLite says so through `PRAGMA data_version` (a few microseconds to ask, so it is polled);
PostgreSQL sends a NOTIFY on `CHANGES_CHANNEL` with every commit that touched cafleet's
tables (migration 9), which a feed LISTENs for on a connection of its own. Open a feed before
the first read it guards: a commit between the read and the feed would otherwise go unseen.
"""

from __future__ import annotations

import select
import time
from typing import Protocol

from cafleet.store.db import data_version, is_postgres
from cafleet.store.migrations import CHANGES_CHANNEL

# How often a SQLite feed asks for data_version while waiting.
CHECK_SECONDS = 0.05


class ChangeFeed(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block until a commit made since the last call (or since the feed opened), or until
        `timeout` seconds pass (0: just look). True when something changed."""
        ...

    def close(self) -> None: ...


def open_feed() -> ChangeFeed:
    """A feed on the open database (`cafleet.store.db.open_database` first)."""
    if is_postgres():
        from cafleet.store.models import database

        return _Notifications(database.obj.database)
    return _DataVersion()


class _DataVersion:
    def __init__(self) -> None:
        self._seen = data_version()

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            version = data_version()
            if version != self._seen:
                self._seen = version
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(CHECK_SECONDS, left))

    def close(self) -> None:
        pass


class _Notifications:
    def __init__(self, url: str) -> None:
        import psycopg2

        self._connection = psycopg2.connect(url, application_name="cafleet-listen")
        self._connection.autocommit = True
        self._connection.cursor().execute(f"LISTEN {CHANGES_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            self._connection.poll()
            if self._connection.notifies:
                self._connection.notifies.clear()  # one wake-up for every commit that arrived meanwhile
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self._connection], [], [], left)

    def close(self) -> None:
        self._connection.close()
