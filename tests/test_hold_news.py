"""A held member in the database (`cafleet.broker.agent_states.record_state`): the hold stored
with its state. Times are passed in: no waiting."""

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

