"""Waiting for a condition in tests: one helper instead of a deadline loop in every file.

Each fails the test with what it was waiting for; none returns quietly on a timeout.
"""

from __future__ import annotations

import time


def wait_for(predicate, timeout: float = 10, what: str = "the condition", interval: float = 0.1):
    """`predicate()`'s first truthy value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


async def until(pilot, predicate, what: str = "the condition", timeout: float = 10.0, interval: float = 0.05):
    """The same inside a Textual Pilot test: the app keeps running while we wait."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await pilot.pause(interval)
