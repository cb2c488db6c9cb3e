"""Shared fixtures. Every test gets its own database, HOME and XDG directories, and no tmux
environment, so nothing ever touches the user's real ~/.local/share or tmux server."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import peewee  # noqa: F401  (first, with its drivers: this process opens both engines, see cafleet.store.orm)
import pytest

from tests.postgres_cluster import POSTGRES, Cluster, engine, postgres_installed
from tests.stray_couriers import stray_couriers
from tests.support import FAKE_PANE, REPO, Fleet, cafleet_command, private_tmux_server
from tests.tmux_sockets import left_behind, remove, socket_directory, sockets_in

# A courier looks for live tmux servers every few seconds; one that stays this long stays.
STRAY_COURIER_GRACE_SECONDS = 30


def _snapshots_in_repo_root() -> None:
    """Keep SVG baselines in <repo>/snapshots/<test module>/ instead of tests/__snapshots__/."""
    try:
        import pytest_textual_snapshot
    except ImportError:  # the plugin is a test extra; plain broker tests do not need it
        return

    class RepoSnapshots(pytest_textual_snapshot.SVGImageExtension):
        _file_extension = "svg"

        @classmethod
        def dirname(cls, *, test_location) -> str:
            return str(REPO / "snapshots" / Path(test_location.filepath).stem)

    pytest_textual_snapshot.SVGImageExtension = RepoSnapshots


_snapshots_in_repo_root()


@pytest.fixture(scope="session")
def postgres_cluster():
    """This pytest worker's throwaway PostgreSQL server (started on first use)."""
    if not postgres_installed():
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql (the tests start a private server of their own)")
    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster):
    """A new, empty PostgreSQL database for this test, dropped after it."""
    yield from _database_copied(postgres_cluster, "template0")


@pytest.fixture
def postgres_migrated_url(postgres_cluster):
    """A new PostgreSQL database for this test, migrated as cafleet leaves a new one (copied
    from one migrated database), dropped after it: the PostgreSQL pass's database."""
    yield from _database_copied(postgres_cluster, postgres_cluster.migrated_template())


def _database_copied(cluster, template: str) -> Iterator[str]:
    name = cluster.new_database(template)
    yield cluster.url(name)
    from cafleet.store.db import close_database

    close_database()
    cluster.drop_database(name)


@pytest.fixture(scope="session", autouse=True)
def tmux_socket_directory(tmp_path_factory) -> Iterator[Path]:
    """This run's own TMUX_TMPDIR (per worker): every tmux server the tests start, directly or
    through a process, puts its socket there and nowhere near the user's."""
    tmpdir = tmp_path_factory.mktemp("tmux", numbered=False)
    previous = os.environ.get("TMUX_TMPDIR")
    os.environ["TMUX_TMPDIR"] = str(tmpdir)
    yield socket_directory(tmpdir)
    if previous is None:
        os.environ.pop("TMUX_TMPDIR", None)
    else:
        os.environ["TMUX_TMPDIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def no_courier_outlives_the_run(tmp_path_factory) -> Iterator[None]:
    """Fails the run (at its last test's teardown) when a courier a test started is still
    running: each leaves by itself once its tmux server or its database is gone."""
    root = tmp_path_factory.getbasetemp()
    yield
    strays = stray_couriers(root, STRAY_COURIER_GRACE_SECONDS)
    if strays:
        pytest.fail(f"courier(s) outlived their tests: {', '.join(strays)}", pytrace=False)


@pytest.fixture(autouse=True)
def no_tmux_socket_left(tmux_socket_directory):
    """Fails a test that leaves a tmux socket behind (a server it started and did not stop,
    or one killed without removing its socket), then clears it away."""
    before = sockets_in(tmux_socket_directory)
    yield
    stale = left_behind(tmux_socket_directory, before)
    if stale:
        remove(tmux_socket_directory, stale)
        pytest.fail(f"left tmux socket(s) behind in {tmux_socket_directory}: {', '.join(sorted(stale))}", pytrace=False)


@pytest.fixture(autouse=True)
def isolated_env(request, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    if engine() == POSTGRES and "sqlite_only" not in request.keywords:
        monkeypatch.setenv("CAFLEET_DATABASE_URL", request.getfixturevalue("postgres_migrated_url"))
    else:
        monkeypatch.setenv("CAFLEET_DATABASE_URL", f"sqlite:///{tmp_path / 'cafleet.store.db'}")
    for name in (
        "TMUX",
        "TMUX_PANE",
        "CAFLEET_MAX_TEXT_LEN",
        "CAFLEET_DEBUG",
        "NO_COLOR",
        "CODEX_HOME",
        "XDG_CONFIG_HOME",
        "CAFLEET_HOST_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
    from cafleet.store.db import close_database

    close_database()  # so a later test cannot silently reach this test's database


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "cafleet.store.db"


@pytest.fixture
def pg_db(postgres_url, monkeypatch):
    """A migrated PostgreSQL database for this test, whatever engine the suite runs on."""
    from cafleet.store.db import open_database

    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    return open_database()


@pytest.fixture
def local_dir() -> Path:
    """Where this machine keeps the database's locks and logs: beside the SQLite file, or the
    PostgreSQL server's private directory."""
    from cafleet.core.config import local_directory

    return local_directory()


@pytest.fixture
def db():
    from cafleet.store.db import open_database

    return open_database()


class CliResult(NamedTuple):
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli():
    """Run the real console script: cli("--fleet-id", 1, "message", "poll", ...)."""

    def run(
        *args, input: str | bytes | None = None, env: dict | None = None, timeout: float = 30, cwd: Path | None = None
    ) -> CliResult:
        full_env = dict(os.environ)
        full_env.update(env or {})
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            cafleet_command() + [str(a) for a in args],
            input=data,
            capture_output=True,
            env=full_env,
            timeout=timeout,
            cwd=cwd,
        )
        return CliResult(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    return run


@pytest.fixture
def fleet(db) -> Fleet:
    """A fleet (placed in a fake pane; no tmux needed) with two registered agents."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet

    created = create_fleet(FAKE_PANE, label="test")
    alice = register_agent(created.fleet.id, "alice", "writes code")
    bob = register_agent(created.fleet.id, "bob", "reviews code")
    return Fleet(created.fleet.id, created.director.id, created.administrator.id, alice.id, bob.id)


@pytest.fixture
def tmux_server():
    """A private tmux server on its own socket (`tmux -L <unique>`), killed afterwards."""
    with private_tmux_server() as server:
        yield server
