"""Plain helpers and constants shared by the tests (fixtures live in conftest.py).

Tests import these from here, never from conftest: pytest loads conftest itself, and importing
it a second time as a module would run it twice.
"""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path
from typing import NamedTuple

from cafleet.records import PaneLocation

_SCRIPTS = Path(sysconfig.get_path("scripts"))
REPO = Path(__file__).resolve().parent.parent


def cafleet_command() -> list[str]:
    """The installed console script (what users and agents run)."""
    script = _SCRIPTS / "cafleet"
    if script.exists():
        return [str(script)]
    found = shutil.which("cafleet")
    assert found, "the cafleet console script is not installed; run `pip install -e '.[test]'`"
    return [found]


FAKE_PANE = PaneLocation(
    tmux_socket="/tmp/tmux-test/default", tmux_server_pid=4242, tmux_session="main",
    tmux_window_id="@1", tmux_pane_id="%1",
)
# A second Director's pane: one pane directs one fleet unless `fleet create --force`.
OTHER_PANE = FAKE_PANE._replace(tmux_pane_id="%2")


class Fleet(NamedTuple):
    fleet_id: int
    director_id: int
    administrator_id: int
    alice_id: int
    bob_id: int


def database_dump() -> list[str]:
    """Every row of the test's database (on SQLite its schema too), to compare before and after
    a call that must change nothing."""
    import os
    import sqlite3
    from contextlib import closing

    url = os.environ["CAFLEET_DATABASE_URL"]
    if url.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(url) as conn:
            tables = [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")]
            return [f"{table}: {row!r}" for table in tables for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return list(conn.iterdump())
