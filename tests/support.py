"""Plain helpers and constants shared by the tests (fixtures live in conftest.py).

Tests import these from here, never from conftest: pytest loads conftest itself, and importing
it a second time as a module would run it twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from cafleet.core.records import PaneLocation

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
    tmux_socket="/tmp/tmux-test/default",
    tmux_server_pid=4242,
    tmux_session="main",
    tmux_window_id="@1",
    tmux_pane_id="%1",
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
            tables = [
                r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
            ]
            return [f"{table}: {row!r}" for table in tables for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1")]
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return list(conn.iterdump())


class TmuxServer(NamedTuple):
    name: str
    socket_path: str
    server_pid: int
    pane_id: str

    def tmux(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True, timeout=10)

    def pane_env(self, pane_id: str | None = None) -> dict:
        """The environment a process running inside `pane_id` of this server would see."""
        return {"TMUX": f"{self.socket_path},{self.server_pid},0", "TMUX_PANE": pane_id or self.pane_id}


def tmux_socket_path(name: str) -> Path:
    """Where `tmux -L name` keeps its socket."""
    return Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / name


def stop_tmux_server(name: str) -> None:
    """Stop the server of `tmux -L name`, if one runs, and remove its socket file: tmux leaves
    the file behind when its server exits, killed or not."""
    subprocess.run(["tmux", "-L", name, "kill-server"], capture_output=True, timeout=10)
    tmux_socket_path(name).unlink(missing_ok=True)


@contextmanager
def private_tmux_server(env: dict | None = None, command: str | None = None, session: str = "main") -> Iterator[TmuxServer]:
    """A tmux server on its own socket (`tmux -L <unique>`), killed afterwards: its first pane
    runs `command` (else a shell), and `env` is added to the environment its panes inherit."""
    if shutil.which("tmux") is None:
        pytest.fail("tmux is required for these tests; install it (apt-get install -y tmux)")
    name = f"cafleet-test-{uuid.uuid4().hex[:10]}"
    base = ["tmux", "-L", name, "-f", "/dev/null"]
    first = [command] if command else []
    environment = {**os.environ, **(env or {})}
    subprocess.run(
        base + ["new-session", "-d", "-s", session, "-x", "160", "-y", "48", *first], check=True, timeout=10, env=environment
    )
    info = (
        subprocess.run(
            base + ["display-message", "-p", "-t", session, "#{socket_path}\t#{pid}\t#{pane_id}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        .stdout.strip()
        .split("\t")
    )
    server = TmuxServer(name=name, socket_path=info[0], server_pid=int(info[1]), pane_id=info[2])
    try:
        yield server
    finally:
        subprocess.run(base + ["kill-server"], capture_output=True, timeout=10)
        Path(server.socket_path).unlink(missing_ok=True)
