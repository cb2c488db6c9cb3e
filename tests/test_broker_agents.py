"""The agent registry: names, reserved agents, isolation between fleets."""

import pytest

from cafleet.broker import agents, fleets
from cafleet.core.errors import Conflict, Field, Fix, Hint, InvalidInput, NotFound, Refused
from cafleet.store.models import Agent
from tests.support import OTHER_PANE


def test_register_returns_active_agent_with_skills(fleet):
    agent = agents.register_agent(fleet.fleet_id, "carol", "  tests things ", '["pytest", "tmux"]')
    assert (agent.name, agent.kind, agent.status, agent.description) == ("carol", "agent", "active", "tests things")
    assert agent.skills == ["pytest", "tmux"]
    assert agent.placement is None


@pytest.mark.parametrize("name", ["ALICE", "Alice", "alice"])
def test_active_names_are_unique_case_insensitively(fleet, name):
    with pytest.raises(Conflict, match="already has an active agent named 'alice'"):
        agents.register_agent(fleet.fleet_id, name, "dup")


def test_name_is_free_again_after_deregistration(fleet):
    agents.deregister_agent(fleet.fleet_id, fleet.alice_id)
    again = agents.register_agent(fleet.fleet_id, "Alice", "back")
    assert again.id != fleet.alice_id


def test_same_name_in_another_fleet_is_fine(fleet):
    other = fleets.create_fleet(OTHER_PANE)
    assert agents.register_agent(other.fleet.id, "alice", "twin").fleet_id == other.fleet.id


@pytest.mark.parametrize(
    "name, reason",
    [
        ("", "not allowed"),
        ("two words", "not allowed"),
        ("-dash", "not allowed"),
        ("x" * 65, "not allowed"),
        ("12", "all digits"),
        ("administrator", "reserved"),
        ("ALL", "reserved"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(fleet, name, reason):
    before = Agent.select().count()
    with pytest.raises(InvalidInput, match=reason):
        agents.register_agent(fleet.fleet_id, name, "x")
    assert Agent.select().count() == before


def test_bad_skills_json_is_refused(fleet):
    with pytest.raises(InvalidInput, match="skills .* is not valid JSON") as refused:
        agents.register_agent(fleet.fleet_id, "carol", "x", "[oops")
    assert (refused.value.field, refused.value.value) == (Field.SKILLS, "[oops")


def test_director_and_administrator_cannot_be_deregistered(fleet):
    with pytest.raises(Refused, match="root Director") as refused:
        agents.deregister_agent(fleet.fleet_id, fleet.director_id)
    assert refused.value.hint == Hint(Fix.END_FLEET, fleet.fleet_id)
    with pytest.raises(Refused, match="Administrator"):
        agents.deregister_agent(fleet.fleet_id, fleet.administrator_id)


def test_deregister_keeps_the_row_and_refuses_a_second_time(fleet):
    gone = agents.deregister_agent(fleet.fleet_id, fleet.bob_id)
    assert gone.status == "deregistered" and gone.deregistered_at
    with pytest.raises(Refused, match="deregistered"):
        agents.deregister_agent(fleet.fleet_id, fleet.bob_id)


def test_list_agents_hides_deregistered_unless_asked(fleet):
    agents.deregister_agent(fleet.fleet_id, fleet.bob_id)
    active = agents.list_agents(fleet.fleet_id, fleet.alice_id)
    everyone = agents.list_agents(fleet.fleet_id, fleet.alice_id, include_deregistered=True)
    assert [a.name for a in active] == ["director", "Administrator", "alice"]
    assert [a.name for a in everyone] == ["director", "Administrator", "alice", "bob"]


def test_show_agent_includes_placement(fleet):
    director = agents.show_agent(fleet.fleet_id, fleet.alice_id, fleet.director_id)
    assert director.placement.tmux_window_id == "@1"


def test_agents_of_another_fleet_are_not_found(fleet):
    other = fleets.create_fleet(OTHER_PANE)
    with pytest.raises(NotFound, match=f"agent {other.director.id} not found in fleet {fleet.fleet_id}"):
        agents.show_agent(fleet.fleet_id, fleet.alice_id, other.director.id)
    with pytest.raises(NotFound):
        agents.list_agents(fleet.fleet_id, other.director.id)
