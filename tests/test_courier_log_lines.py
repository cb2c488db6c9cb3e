"""The courier's log writes a repeated line once a minute, with how often it came meanwhile."""

from __future__ import annotations

import io

import pytest

from cafleet.panes.courier.log_lines import REPEAT_SECONDS, LogLines

pytestmark = pytest.mark.engine_neutral  # the courier's log: no database


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def written(stream: io.StringIO) -> list[str]:
    return [line.split(" ", 1)[1] for line in stream.getvalue().splitlines()]


def test_a_line_repeated_within_a_minute_is_counted_not_written():
    stream, clock = io.StringIO(), Clock()
    log = LogLines(stream, clock)
    for _ in range(241):  # four times a second for a minute, and once more
        log("dispatch failed: the server is down")
        clock.now += 0.25
    log("a different line")
    assert written(stream) == [
        "dispatch failed: the server is down",
        "dispatch failed: the server is down (and 239 more times since it was last logged)",
        "a different line",
    ]


def test_a_line_that_comes_back_after_a_quiet_minute_is_written_plainly():
    stream, clock = io.StringIO(), Clock()
    log = LogLines(stream, clock)
    log("agent 3 is lost")
    clock.now += REPEAT_SECONDS
    log("agent 3 is lost")
    assert written(stream) == ["agent 3 is lost", "agent 3 is lost"]
