"""A hold's life, as pure rules (`cafleet.core.holds`): its reset read once, its end, when the
Director is told and when the monitor wakes the agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.holds import SETTLE, Hold, WakePolicy, carried, clock, in_words, next_wake, tell_due

LIMITED, RETRYING, BUSY, READY = AgentState.LIMITED, AgentState.RETRYING, AgentState.BUSY, AgentState.READY
T0 = datetime(2026, 12, 6, 22, 49, 20, tzinfo=UTC)


def test_a_reset_time_is_read_when_first_shown_and_never_again():
    first = carried(Hold(), None, T0, LIMITED, "11:32pm", T0)
    assert first.resets_at == datetime(2026, 12, 6, 23, 32, tzinfo=UTC)
    # Looked at again after 11:32pm, the same words would name tomorrow's 11:32pm.
    later = T0 + timedelta(hours=1)
    assert carried(first, LIMITED, T0, LIMITED, "11:32pm", later) == first


def test_a_countdown_names_one_moment_and_a_new_time_replaces_it():
    first = carried(Hold(), None, T0, RETRYING, "in 28s", T0)
    ticked = carried(first, RETRYING, T0, RETRYING, "in 27s", T0 + timedelta(seconds=1))
    assert ticked == first
    again = carried(first, RETRYING, T0, RETRYING, "in 60s", T0 + timedelta(seconds=30))
    assert (again.resets, again.resets_at) == ("in 60s", T0 + timedelta(seconds=90))
    # The same words a while later count down to another moment (the next attempt's).
    next_attempt = carried(first, RETRYING, T0, RETRYING, "in 28s", T0 + timedelta(seconds=40))
    assert next_attempt.resets_at == T0 + timedelta(seconds=68)


def test_a_hold_outlives_a_flicker_but_ends_when_the_agent_waits_or_works_on():
    held = Hold("11:32pm", T0, told_at=T0, woken_at=T0, wakes=2)
    assert carried(held, LIMITED, T0, BUSY, "", T0 + timedelta(seconds=1)) == held  # a request in flight
    assert carried(held, BUSY, T0, LIMITED, "11:32pm", T0 + timedelta(seconds=2)) == held  # refused again
    assert carried(held, BUSY, T0, BUSY, "", T0 + SETTLE - timedelta(seconds=1)) == held
    assert carried(held, BUSY, T0, BUSY, "", T0 + SETTLE) == Hold()  # a turn that runs on
    assert carried(held, LIMITED, T0, READY, "", T0 + timedelta(seconds=1)) == Hold()
    assert carried(held, LIMITED, T0, AgentState.LOST, "", T0 + timedelta(seconds=1)) == Hold()


def test_giving_up_retrying_is_news_of_its_own():
    told = Hold(told_at=T0)
    assert carried(told, RETRYING, T0, LIMITED, "", T0).told_at is None
    assert carried(told, LIMITED, T0, LIMITED, "", T0).told_at == T0


@pytest.mark.parametrize(
    "state, held_for, next_try, due",
    [
        (LIMITED, 0, None, True),
        (AgentState.AUTH_EXPIRED, 0, None, True),
        (AgentState.CONTEXT_FULL, 0, None, True),
        (RETRYING, 5, 4, False),  # a 429 retried in seconds is nobody's business
        (RETRYING, 59, None, False),
        (RETRYING, 60, None, True),  # retrying a minute on end
        (RETRYING, 1, 90, True),  # its next attempt is more than a minute away
    ],
)
def test_when_the_director_is_told(state, held_for, next_try, due):
    now = T0 + timedelta(seconds=held_for)
    hold = Hold(resets_at=now + timedelta(seconds=next_try) if next_try is not None else None)
    assert tell_due(state, T0, hold, now) is due
    assert tell_due(state, T0, hold._replace(told_at=T0), now) is False  # once


def test_a_shown_reset_wakes_once_its_minute_has_passed():
    hold = Hold("11:32pm", datetime(2026, 12, 6, 23, 32, tzinfo=UTC))
    assert next_wake(LIMITED, T0, hold, WakePolicy()) == datetime(2026, 12, 6, 23, 33, tzinfo=UTC)
    counted = Hold("in 30s", T0 + timedelta(seconds=30))
    assert next_wake(LIMITED, T0, counted, WakePolicy()) == T0 + timedelta(seconds=31)


def test_no_reset_time_wakes_on_a_doubling_back_off_capped_at_an_hour():
    policy = WakePolicy()
    assert [policy.backoff(n) // timedelta(minutes=1) for n in range(6)] == [5, 10, 20, 40, 60, 60]
    assert next_wake(LIMITED, T0, Hold(), policy) == T0 + timedelta(minutes=5)
    woken = Hold(woken_at=T0 + timedelta(minutes=5), wakes=1)
    assert next_wake(LIMITED, T0, woken, policy) == T0 + timedelta(minutes=15)


def test_refused_again_after_its_reset_it_backs_off_from_the_wake():
    reset = datetime(2026, 12, 6, 23, 32, tzinfo=UTC)
    woken = Hold("11:32pm", reset, woken_at=reset + timedelta(minutes=1), wakes=1)
    assert next_wake(LIMITED, T0, woken, WakePolicy()) == reset + timedelta(minutes=11)


def test_an_agent_retrying_by_itself_is_never_woken():
    assert next_wake(RETRYING, T0, Hold("in 30s", T0 + timedelta(seconds=30)), WakePolicy()) is None


@pytest.mark.parametrize(
    "seconds, words", [(0, "0s"), (45, "45s"), (60, "1m"), (61, "2m"), (7800, "2h 10m"), (7200, "2h"), (97200, "1d 3h")]
)
def test_how_long_in_words(seconds, words):
    assert in_words(timedelta(seconds=seconds)) == words


def test_a_reset_clock_names_its_day_only_when_it_is_not_today():
    assert clock(datetime(2026, 12, 6, 23, 32, tzinfo=UTC), T0) == "23:32"
    assert clock(datetime(2026, 12, 9, 22, 59, tzinfo=UTC), T0) == "Dec 9 22:59"


@pytest.mark.parametrize(
    "seen, held_too, typed",
    [
        (Observation(READY), False, True),
        (Observation(LIMITED, box_open=True), False, False),  # a notice or a ping waits
        (Observation(LIMITED, box_open=True), True, True),  # the monitor's wake after the reset
        (Observation(LIMITED, box_open=False), True, False),  # it continues, or retries, by itself
        (Observation(RETRYING, box_open=False), True, False),
        (Observation(AgentState.DRAFT), True, False),
    ],
)
def test_the_wake_is_the_one_input_typed_under_a_limit(seen, held_too, typed):
    from cafleet.panes.keystrokes import admits

    assert admits(seen, frozenset({READY}), held_too) is typed
