"""When a member's Director is told its screen cannot be read: a screen that never showed a
known state, at once (observe already waited a minute from the pane's making); one misread
after it read, only when that lasts a minute; once per streak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cafleet.core.agent_state import UNREADABLE_AFTER_SECONDS, AgentState
from cafleet.panes.courier.unreadable_streaks import UnreadableStreaks

pytestmark = pytest.mark.engine_neutral  # a pure rule: no database

MADE = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=UNREADABLE_AFTER_SECONDS)


def at(seconds: float) -> datetime:
    return MADE + timedelta(seconds=seconds)


def test_a_pane_that_never_showed_a_known_state_is_told_at_once():
    streaks = UnreadableStreaks()
    assert not streaks.tell_now(7, AgentState.STARTING, MADE, at(1))
    assert streaks.tell_now(7, AgentState.UNREADABLE, MADE, MADE + MINUTE + timedelta(seconds=1))
    assert not streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(300))  # once


def test_a_moment_misread_after_it_read_is_not_told():
    streaks = UnreadableStreaks()
    streaks.tell_now(7, AgentState.READY, MADE, at(100))
    assert not streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(101))  # a redraw, caught mid-way
    assert not streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(100) + MINUTE - timedelta(seconds=1))
    assert streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(100) + MINUTE + timedelta(seconds=1))


def test_a_known_state_ends_the_streak_and_a_new_one_is_told_again():
    streaks = UnreadableStreaks()
    assert streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(200))
    streaks.tell_now(7, AgentState.BUSY, MADE, at(210))
    assert not streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(211))
    assert streaks.tell_now(7, AgentState.UNREADABLE, MADE, at(211) + MINUTE)


def test_a_new_pane_starts_afresh():
    """A member restarted into a new pane: what its old pane showed says nothing of the new one."""
    streaks = UnreadableStreaks()
    streaks.tell_now(7, AgentState.READY, MADE, at(10))
    new_pane = at(500)
    assert streaks.tell_now(7, AgentState.UNREADABLE, new_pane, new_pane + MINUTE + timedelta(seconds=1))


def test_a_member_told_of_is_told_again_of_its_new_pane():
    """Restarted after its Director was told, it is told again if the new pane reads no better."""
    streaks = UnreadableStreaks()
    assert streaks.tell_now(7, AgentState.UNREADABLE, MADE, MADE + MINUTE + timedelta(seconds=1))
    new_pane = at(200)
    assert not streaks.tell_now(7, AgentState.UNREADABLE, new_pane, new_pane + timedelta(seconds=1))
    assert streaks.tell_now(7, AgentState.UNREADABLE, new_pane, new_pane + MINUTE + timedelta(seconds=1))
    assert not streaks.tell_now(7, AgentState.UNREADABLE, new_pane, at(900))


def test_whether_a_member_ever_read_in_its_pane():
    streaks = UnreadableStreaks()
    assert streaks.never_read_in(7, MADE)
    streaks.tell_now(7, AgentState.READY, MADE, at(5))
    assert not streaks.never_read_in(7, MADE)
    assert streaks.never_read_in(7, at(60))  # a pane made since
