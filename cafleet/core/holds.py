"""A hold: an agent its provider refuses (a state in `agent_state.HELD`), from the first look
that sees it refused until it works again, and what cafleet does about it. Its notices wait
(the courier defers them), its Director is told once, and the monitor wakes it once the limit
has reset, or, when the agent shows no reset time, on a back-off.

An agent that retries by itself reads as busy for the moment a request is in flight, and one
woken before its limit really reset is refused again at once: so a hold outlives such a
flicker. It ends when the agent is seen waiting for input (ready), its pane is left (exited,
gone), or it has been out of every held state for `SETTLE` (a turn that runs on).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cafleet.core.agent_state import HELD, AgentState
from cafleet.core.reset_time import is_wait, precision, reset_at

# Out of every held state this long (one unchanged state), the agent works again.
SETTLE = timedelta(seconds=60)
# A retry that passes within this is the agent's own business; a longer one, the Director's.
LONG_RETRY = timedelta(seconds=60)
# A countdown ("in 28s", a second later "in 27s") names one moment, give or take this.
SAME_RESET = timedelta(seconds=3)
ENDS_AT_ONCE = frozenset({AgentState.READY, AgentState.EXITED, AgentState.LOST})
# The agent retries by itself while RETRYING; the monitor wakes the rest.
WOKEN = HELD - {AgentState.RETRYING}


class Hold(NamedTuple):
    """What is kept of a hold beside the agent's state (`agent_states`); all empty when none."""

    resets: str = ""  # when the limit resets, as the agent showed it
    resets_at: datetime | None = None  # the same, read as a moment when the agent first showed it
    told_at: datetime | None = None  # when its Director was told of this hold
    woken_at: datetime | None = None  # when the monitor last woke it
    wakes: int = 0  # how often the monitor woke it in this hold


class WakePolicy(NamedTuple):
    """When the monitor wakes a held agent that shows no reset time (or that is refused again
    after the reset): `first` after the hold began, then doubling after each wake, at most `cap`."""

    first: timedelta = timedelta(minutes=5)
    cap: timedelta = timedelta(hours=1)

    def backoff(self, wakes: int) -> timedelta:
        return min(self.first * 2 ** min(wakes, 32), self.cap)


def carried(hold: Hold, was: AgentState | None, was_since: datetime, seen: AgentState, shown: str, now: datetime) -> Hold:
    """The hold after a look that sees `seen` (showing the reset time `shown`) at `now`, the
    agent having been `was` since `was_since`. `now` is in the agent's local zone: a clock
    time it shows is its own."""
    if seen in HELD:
        if was in HELD and was != seen:
            hold = hold._replace(told_at=None)  # other news (it gave up retrying): tell it too
        return _with_reset(hold, shown, now)
    if seen in ENDS_AT_ONCE or (was == seen and now - was_since >= SETTLE):
        return Hold()
    return hold


def _with_reset(hold: Hold, shown: str, now: datetime) -> Hold:
    """A clock time read when first shown, never again on a later look at the same words (by
    then "11:32pm" may name tomorrow's); a wait ("in 28s") read on every look, kept while it
    counts down to the same moment."""
    if shown == hold.resets and not is_wait(shown):
        return hold
    moment = reset_at(shown, now) if shown else None
    if moment is not None and hold.resets_at is not None and abs(moment - hold.resets_at) <= SAME_RESET:
        return hold
    return hold._replace(resets=shown, resets_at=moment)


def tell_due(state: AgentState, since: datetime, hold: Hold, now: datetime) -> bool:
    """Whether the Director must be told of this hold now: once, at once, unless the agent
    retries by itself and its retrying has not lasted (nor will it last) `LONG_RETRY`."""
    if state not in HELD or hold.told_at is not None:
        return False
    if state != AgentState.RETRYING:
        return True
    next_try = hold.resets_at - now if hold.resets_at is not None else timedelta(0)
    return now - since >= LONG_RETRY or next_try >= LONG_RETRY


def next_wake(state: AgentState, since: datetime, hold: Hold, policy: WakePolicy) -> datetime | None:
    """When the monitor should wake the agent: once the minute (or second) its reset names has
    passed, or, with no reset time ahead of the last wake, on the back-off; None while the
    agent retries by itself."""
    if state not in WOKEN:
        return None
    if hold.resets_at is not None and (hold.woken_at is None or hold.resets_at > hold.woken_at):
        return hold.resets_at + precision(hold.resets)
    return (hold.woken_at or since) + policy.backoff(hold.wakes)


def in_words(delta: timedelta) -> str:
    """`2h 10m`, `45m`, `30s`, `3d 4h`: how long, to the unit that matters."""
    seconds = max(0, round(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = (seconds + 59) // 60  # "in 1m" until the minute has passed, never "in 0m"
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def clock(moment: datetime, now: datetime) -> str:
    """`23:32` (UTC, like every time cafleet shows), or `Dec 9 23:32` for another day."""
    moment, now = moment.astimezone(UTC), now.astimezone(UTC)
    if moment.date() == now.date():
        return f"{moment:%H:%M}"
    return f"{moment:%b} {moment.day} {moment:%H:%M}"
