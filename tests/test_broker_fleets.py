"""Fleet bootstrap, listing and soft delete, against a temp database."""

import pytest

from cafleet.broker import agents, fleets, messages
from cafleet.core.errors import Field, Fix, Hint, NotFound, Refused
from cafleet.store.models import Agent, Fleet, MonitorConfig, MonitorRuntime, Placement, Task
from tests.support import FAKE_PANE, OTHER_PANE


def test_create_fleet_makes_director_with_placement_and_administrator(db):
    created = fleets.create_fleet(FAKE_PANE, label=" build ", coding_agent="codex")

    assert created.fleet.label == "build"
    assert created.fleet.director_id == created.director.id
    assert created.director.kind == "director"
    assert created.director.placement.tmux_pane_id == "%1"
    assert created.director.placement.tmux_socket == FAKE_PANE.tmux_socket
    assert created.director.placement.tmux_server_pid == 4242
    assert created.director.placement.coding_agent == "codex"
    assert created.director.placement.director_id is None
    assert created.administrator.kind == "administrator"
    assert created.administrator.name == "Administrator"
    assert created.administrator.placement is None
    assert Placement.select().count() == 1
    assert MonitorConfig.get(MonitorConfig.agent == created.director.id).interval_seconds == 120


def test_create_fleet_is_one_transaction(db, monkeypatch):
    def explode(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(MonitorConfig, "create", explode)
    with pytest.raises(RuntimeError):
        fleets.create_fleet(FAKE_PANE)
    assert (Fleet.select().count(), Agent.select().count(), Placement.select().count()) == (0, 0, 0)


def test_list_fleets_counts_active_agents_and_unread(fleet):
    messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "one")
    messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "two")
    other = fleets.create_fleet(OTHER_PANE, label="other")

    listed = fleets.list_fleets()

    assert [(f.id, f.active_agents, f.unread) for f in listed] == [
        (fleet.fleet_id, 4, 2),
        (other.fleet.id, 2, 0),
    ]


def test_delete_fleet_soft_deletes_and_is_idempotent(fleet):
    messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "kept")
    MonitorRuntime.create(fleet=fleet.fleet_id, pid=1, started_at="x", last_tick_at="x", tick_seconds=5)

    first = fleets.delete_fleet(fleet.fleet_id)
    second = fleets.delete_fleet(fleet.fleet_id)

    assert (first.deregistered, first.already_deleted) == (4, False)
    assert (second.deregistered, second.already_deleted) == (0, True)
    assert fleets.list_fleets() == []
    shown, roster = fleets.show_fleet(fleet.fleet_id)
    assert shown.deleted_at is not None
    assert {a.status for a in roster} == {"deregistered"}
    assert Placement.select().count() == 0
    assert MonitorConfig.select().count() == 0
    assert MonitorRuntime.select().count() == 0
    assert Task.select().count() == 1  # history is kept


def test_deleted_fleet_refuses_further_work(fleet):
    fleets.delete_fleet(fleet.fleet_id)
    with pytest.raises(Refused, match=f"fleet {fleet.fleet_id} was deleted"):
        agents.register_agent(fleet.fleet_id, "carol", "late")
    with pytest.raises(Refused, match="was deleted"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "hello")


def test_unknown_fleet_is_not_found(db):
    with pytest.raises(NotFound, match="fleet 99 not found") as refused:
        fleets.show_fleet(99)
    assert (refused.value.field, refused.value.value, refused.value.hint) == (Field.FLEET, 99, Hint(Fix.FIND_FLEET))
    with pytest.raises(NotFound):
        fleets.delete_fleet(99)
