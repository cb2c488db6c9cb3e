"""The courier on PostgreSQL (a private tmux server, stand-in agents): it outlives the
connections the server ends, and it leaves once its database has been dropped.

Before, a connection the server ended stayed "open" to peewee: the courier logged
"connection already closed" four times a second for ever and never typed another notice, and a
dropped database kept such couriers running after their tests."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.panes_support import agents, couriers_of, inputs, panes_fleet, run, spawn, wait_for, wait_for_notify  # noqa: F401

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
