"""The courier on PostgreSQL (a private tmux server, stand-in agents): it outlives the
connections the server ends, and it leaves once its database has been dropped.

Before, a connection the server ended stayed "open" to peewee: the courier logged
"connection already closed" four times a second for ever and never typed another notice, and a
dropped database kept such couriers running after their tests."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    couriers_of,
    create_panes_fleet,
    inputs,
    panes_fleet,
    run,
    spawn,
    wait_for,
    wait_for_notify,
)
from tests.postgres_cluster import Cluster

fleet = panes_fleet("pg-courier")


@pytest.fixture
def pg(postgres_url, monkeypatch):
    """Requested before `fleet`: the fleet is created on this test's PostgreSQL database."""
    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    return postgres_url


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _send(cli, fleet, member_id: int, text: str) -> int:
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", member_id, "--text", text)
    assert sent.code == 0, sent.err
    return sent.json()["task_id"]


def _delivered_to_ann(cli, fleet, agents, member_id: int, text: str) -> None:
    task_id = _send(cli, fleet, member_id, text)
    assert wait_for_notify(task_id, timeout=30) == "delivered"
    agents.wait_for("ann", lambda events: any(text in typed for typed in inputs(events)), timeout=30)


def test_a_courier_whose_connections_the_server_ended_connects_again(pg, postgres_cluster, cli, fleet, agents):
    member_id = spawn(cli, fleet, "ann")
    _delivered_to_ann(cli, fleet, agents, member_id, "before the server ended us")
    (courier,) = couriers_of()
    from cafleet.store.db import close_database

    close_database()  # this process's own connection is not the one under test
    ended = postgres_cluster.sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE datname = '{_database_name(pg)}' AND pid <> pg_backend_pid()"
    )
    assert int(ended) >= 1  # the courier's own connections were among them

    _delivered_to_ann(cli, fleet, agents, member_id, "after the server ended us")
    assert couriers_of() == [courier]  # the same courier, connected again


def test_a_courier_leaves_once_its_database_is_dropped(pg, postgres_cluster, cli, fleet, agents, local_dir):
    member_id = spawn(cli, fleet, "ann")
    _delivered_to_ann(cli, fleet, agents, member_id, "hello")
    assert couriers_of()

    postgres_cluster.drop_database(_database_name(pg))

    wait_for(lambda: not couriers_of(), timeout=30, what="the courier to leave its dropped database")
    log = (local_dir / "locks").glob("courier-*.log")
    assert any("no longer exists" in path.read_text() for path in log)


def test_a_courier_leaves_once_its_server_and_its_tmux_are_both_gone(cli, agents, tmux_server, monkeypatch):
    """The server goes down first (the courier retries: it may come back), then the tmux server
    it typed into: nothing is left to type into, so it leaves."""
    cluster = Cluster()  # a server of its own: this test stops it
    try:
        monkeypatch.setenv("CAFLEET_DATABASE_URL", cluster.url(cluster.new_database()))
        fleet = create_panes_fleet(cli, tmux_server, agents, "stranded")
        member_id = spawn(cli, fleet, "ann")
        _delivered_to_ann(cli, fleet, agents, member_id, "hello")
        from cafleet.core.config import local_directory
        from cafleet.store.db import close_database

        close_database()
        log = next((local_directory() / "locks").glob("courier-*.log"))
        assert couriers_of()
    finally:
        cluster.stop()
    wait_for(
        lambda: "lost the connection" in log.read_text() or "cannot reach" in log.read_text(), 30, "the courier to fail a round"
    )
    assert couriers_of(), "the courier left while its tmux server lived"

    tmux_server.tmux("kill-server")

    wait_for(lambda: not couriers_of(), timeout=30, what="the courier to leave")
    assert "every tmux server it served is gone" in log.read_text()
