"""The monitor's wake-up of a held agent (`cafleet.core.holds`): due once the reset it showed
has passed, or its back-off has run out.

It is typed only into a pane whose agent shows its refused turn ended and its input box empty:
the limit's words may well still show there (codex keeps its `■` line until its next turn),
so the agent still reads as held, and the wake is the one input allowed into such a pane.
An agent that retries, or waits to continue, by itself is left to it.
"""

from __future__ import annotations

from datetime import datetime

from cafleet.backends import poll_command
from cafleet.broker.agent_states import SeenState
from cafleet.broker.monitor import Schedule
from cafleet.core.holds import WOKEN, WakePolicy, clock, in_words, next_wake
from cafleet.core.timestamps import parse_stamp

WAKE_TAG = "[cafleet wake]"


def wake_due(schedule: Schedule, seen: SeenState, now: datetime, policy: WakePolicy) -> str | None:
    """Why the held agent should be woken now (for the monitor's log), or None."""
    if seen.state not in WOKEN or not schedule.enabled or schedule.agent.placement is None:
        return None
    hold = seen.hold
    when = next_wake(seen.state, parse_stamp(seen.changed_at), hold, policy)
    if when is None or now < when:
        return None
    if hold.resets_at is not None and (hold.woken_at is None or hold.resets_at > hold.woken_at):
        return f"{seen.state}, reset at {clock(hold.resets_at, now)}"
    return f"{seen.state}, wake {hold.wakes + 1} after {in_words(policy.backoff(hold.wakes))}"


def wake_text(fleet_id: int, agent_id: int, state: str) -> str:
    """What the wake types: the agent's last turn was refused, so it is told to go on with its
    task, and how to read what waits for it (its held notices follow once it takes input)."""
    return (
        f"{WAKE_TAG} Your last turn was refused ({state}); try again now. Carry on with your task, "
        f"and read your messages with: {poll_command(fleet_id, agent_id)}"
    )
