"""A held member in the database (`cafleet.broker.agent_states.record_state`,
`cafleet.broker.holds`): the hold stored with its state, one message to the Director and the
Administrator per hold, and the monitor's wakes counted. Times are passed in: no waiting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.timestamps import parse_stamp

T0 = datetime(2026, 12, 6, 22, 49, 20, tzinfo=UTC)
LIMITED = Observation(AgentState.LIMITED, "You've hit your 5-hour limit", resets="11:32pm", box_open=True)


@pytest.fixture
def member(fleet):
    """A member of the fleet's Director, placed in a pane (no tmux needed)."""
    from cafleet.broker.agent_states import Watched
    from cafleet.broker.convert import agents_with_placements
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.store.models import Agent

    record = register_member(fleet.fleet_id, fleet.director_id, "worker", "does the work", "codex")
    attach_pane(record.id, "%5")
    (placed,) = agents_with_placements(Agent.id == record.id)
    assert placed.placement is not None
    return Watched(record.id, fleet.fleet_id, "worker", "member", placed.placement)


def stored(agent_id):
    from cafleet.store.models import AgentStateRow

    return AgentStateRow.get(AgentStateRow.agent == agent_id)


def told(fleet, member):
    from cafleet.store.models import Task

    return [t for t in Task.select().where(Task.sender == member.agent_id).order_by(Task.id)]


def look(member, seen, at):
    from cafleet.broker.agent_states import record_state
    from cafleet.broker.holds import tell_of_hold

    record_state(member.agent_id, seen, at)
    return tell_of_hold(member, seen, at)


def test_the_reset_is_stored_as_first_read_and_cleared_when_the_hold_ends(member):
    from cafleet.broker.agent_states import record_state

    record_state(member.agent_id, LIMITED, T0)
    row = stored(member.agent_id)
    assert (row.state, row.resets, parse_stamp(row.resets_at)) == (
        "limited",
        "11:32pm",
        datetime(2026, 12, 6, 23, 32, tzinfo=UTC),
    )
    assert record_state(member.agent_id, LIMITED, T0 + timedelta(hours=2)) is False  # past 11:32pm: not re-read
    assert stored(member.agent_id).resets_at == row.resets_at
    record_state(member.agent_id, Observation(AgentState.READY), T0 + timedelta(hours=2))
    row = stored(member.agent_id)
    assert (row.state, row.resets, row.resets_at, row.told_at, row.wakes) == ("ready", "", None, None, 0)


def test_a_held_agent_whose_words_change_is_held_since_it_first_was(member):
    from cafleet.broker.agent_states import record_state

    record_state(member.agent_id, Observation(AgentState.RETRYING, "API error", resets="in 28s"), T0)
    record_state(member.agent_id, Observation(AgentState.RETRYING, "529 Overloaded", resets="in 10s"), T0 + timedelta(seconds=40))
    row = stored(member.agent_id)
    assert (row.reason, parse_stamp(row.changed_at)) == ("529 Overloaded", T0)


def test_the_director_and_the_administrator_are_told_once_per_hold(fleet, member):
    assert len(look(member, LIMITED, T0)) == 2
    for seconds in range(1, 6):  # the courier looks every second
        assert look(member, LIMITED, T0 + timedelta(seconds=seconds)) == []
    (to_director, to_human) = told(fleet, member)
    assert (to_director.recipient_id, to_human.recipient_id) == (fleet.director_id, fleet.administrator_id)
    text = to_director.text
    assert text.startswith(f"[limited] worker#{member.agent_id} hit its provider's limit: You've hit your 5-hour limit.")
    assert "It resets at 23:32 UTC (in 43m)." in text
    assert "Its notices wait until it takes input again" in text
    assert "wake it at 23:33 UTC (in 44m), but it is not running: start it with " in text
    assert f"member capture --agent-id {fleet.director_id} --member-id {member.agent_id}" in text
    assert parse_stamp(stored(member.agent_id).told_at) == T0


def test_a_flicker_is_the_same_hold_and_a_new_hold_is_told_again(fleet, member):
    look(member, LIMITED, T0)
    look(member, Observation(AgentState.BUSY), T0 + timedelta(seconds=1))  # woken, refused again
    look(member, LIMITED, T0 + timedelta(seconds=2))
    assert len(told(fleet, member)) == 2
    look(member, Observation(AgentState.READY), T0 + timedelta(hours=1))  # it worked again
    look(member, LIMITED, T0 + timedelta(hours=5))
    assert len(told(fleet, member)) == 4


def test_a_short_retry_tells_nobody_and_a_long_one_tells_once(fleet, member):
    retrying = Observation(AgentState.RETRYING, "API error", resets="in 4s")
    for seconds in range(0, 30):
        look(member, retrying, T0 + timedelta(seconds=seconds))
    look(member, Observation(AgentState.BUSY), T0 + timedelta(seconds=30))
    look(member, Observation(AgentState.READY), T0 + timedelta(seconds=31))
    assert told(fleet, member) == []
    for seconds in range(100, 165):
        look(member, retrying, T0 + timedelta(seconds=seconds))
    (message, _) = told(fleet, member)
    assert message.text.startswith(f"[retrying] worker#{member.agent_id}'s provider keeps refusing it (for 1m now)")
    assert "it tries again by itself" in message.text


def test_no_reset_time_names_the_back_off(fleet, member):
    look(member, Observation(AgentState.LIMITED, "Quota exceeded.", box_open=True), T0)
    (message, _) = told(fleet, member)
    assert "resets" not in message.text
    assert "wake it at 22:54 UTC (in 5m), then less often (at most hourly) while it stays held" in message.text


def test_an_agent_that_goes_on_by_itself_is_left_to_it(fleet, member):
    look(member, LIMITED._replace(box_open=False), T0)  # claude: "Continuing automatically at 11:32pm"
    (message, _) = told(fleet, member)
    assert "it goes on by itself at the reset" in message.text


def test_a_director_is_not_told_of_itself(fleet):
    from cafleet.broker.agent_states import Watched, record_state
    from cafleet.broker.convert import agents_with_placements
    from cafleet.broker.holds import tell_of_hold
    from cafleet.store.models import Agent

    (director,) = agents_with_placements(Agent.id == fleet.director_id)
    watched = Watched(director.id, fleet.fleet_id, director.name, "director", director.placement)
    record_state(director.id, LIMITED, T0)
    assert tell_of_hold(watched, LIMITED, T0) == []


def test_each_wake_is_counted_while_the_hold_lasts(member):
    from cafleet.broker.holds import note_wake

    look(member, LIMITED, T0)
    note_wake(member.agent_id, T0 + timedelta(hours=1))
    note_wake(member.agent_id, T0 + timedelta(hours=2))
    row = stored(member.agent_id)
    assert (row.wakes, parse_stamp(row.woken_at)) == (2, T0 + timedelta(hours=2))
    look(member, Observation(AgentState.BUSY), T0 + timedelta(hours=2, seconds=1))  # the woken turn runs
    note_wake(member.agent_id, T0 + timedelta(hours=2, seconds=1))  # counted after the courier saw it
    assert stored(member.agent_id).wakes == 3
    look(member, Observation(AgentState.READY), T0 + timedelta(hours=2, seconds=5))
    note_wake(member.agent_id, T0 + timedelta(hours=3))  # no longer held: nothing to count
    assert stored(member.agent_id).wakes == 0
