"""Reading an agent's shown reset time as a moment (`cafleet.core.reset_time`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from cafleet.core.reset_time import reset_at

SHOWN_AT = datetime(2026, 12, 6, 22, 49, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "shown, moment",
    [
        ("in 28s", datetime(2026, 12, 6, 22, 49, 48, tzinfo=UTC)),
        ("in 1m 30s", datetime(2026, 12, 6, 22, 50, 50, tzinfo=UTC)),
        ("in 2h", datetime(2026, 12, 7, 0, 49, 20, tzinfo=UTC)),
        ("11:32pm", datetime(2026, 12, 6, 23, 32, tzinfo=UTC)),  # claude
        ("11:38 PM", datetime(2026, 12, 6, 23, 38, tzinfo=UTC)),  # codex
        ("12:59am", datetime(2026, 12, 7, 0, 59, tzinfo=UTC)),  # after midnight: tomorrow
        ("10:49pm", datetime(2026, 12, 6, 22, 49, tzinfo=UTC)),  # shown in its own minute: not tomorrow
        ("10:47pm", datetime(2026, 12, 7, 22, 47, tzinfo=UTC)),  # already past when shown: tomorrow's
        ("3pm", datetime(2026, 12, 7, 15, 0, tzinfo=UTC)),
        ("Dec 9, 10:59pm (UTC)", datetime(2026, 12, 9, 22, 59, tzinfo=UTC)),  # claude, days away
        ("Dec 9th, 2026 10:49 PM", datetime(2026, 12, 9, 22, 49, tzinfo=UTC)),  # codex, days away
        ("Jan 2, 3pm", datetime(2027, 1, 2, 15, 0, tzinfo=UTC)),  # next year
    ],
)
def test_shown_times_read_as_moments(shown, moment):
    assert reset_at(shown, SHOWN_AT) == moment


def test_a_clock_time_is_the_agents_local_time():
    tokyo = timezone(timedelta(hours=9))
    assert reset_at("8:00am", SHOWN_AT.astimezone(tokyo)) == datetime(2026, 12, 6, 23, 0, tzinfo=UTC)


def test_a_named_zone_wins_over_the_local_one():
    tokyo = timezone(timedelta(hours=9))
    assert reset_at("11:32pm (UTC)", SHOWN_AT.astimezone(tokyo)) == datetime(2026, 12, 6, 23, 32, tzinfo=UTC)


@pytest.mark.parametrize("shown", ["", "soon", "3", "25:00", "13pm", "Feb 30, 3pm", "in a moment"])
def test_words_that_name_no_time_read_as_none(shown):
    assert reset_at(shown, SHOWN_AT) is None


def test_a_naive_moment_is_refused():
    assert reset_at("11:32pm", SHOWN_AT.replace(tzinfo=None)) is None
