"""A held agent's hold (`cafleet.core.holds`) in the CLI's text and JSON: `agent show`,
`member list --activity`, `monitor status`."""

from __future__ import annotations

from datetime import UTC, datetime

from cafleet.broker.agent_states import SeenState
from cafleet.core.agent_state import HELD, AgentState
from cafleet.core.holds import Hold, in_words
from cafleet.core.terminal import one_line
from cafleet.core.timestamps import short, to_stamp


def _held(seen: SeenState | None) -> Hold | None:
    """The hold, while there is one (it outlives a flicker out of the held state)."""
    if seen is None or (seen.state not in HELD and seen.hold == Hold()):
        return None
    return seen.hold


def hold_json(seen: SeenState | None) -> dict | None:
    hold = _held(seen)
    if hold is None:
        return None
    return {
        "resets": hold.resets,
        "resets_at": _stamp(hold.resets_at),
        "told_at": _stamp(hold.told_at),
        "woken_at": _stamp(hold.woken_at),
        "wakes": hold.wakes,
    }


def hold_words(seen: SeenState | None, now: datetime | None = None) -> str:
    """`resets 2026-12-06T23:32:00Z (in 43m, shown as "11:32pm"); Director told …; woken 1×`,
    or "" when not held."""
    hold = _held(seen)
    if hold is None or seen is None:
        return ""
    now = now or datetime.now(UTC)
    parts = []
    if hold.resets_at is not None:
        verb = "next try" if seen.state == AgentState.RETRYING else "resets"
        left = hold.resets_at - now
        when = f"in {in_words(left)}" if left.total_seconds() >= 0 else f"{in_words(-left)} ago"
        parts.append(f"{verb} {short(to_stamp(hold.resets_at))} ({when}, shown as {one_line(hold.resets)!r})")
    if hold.told_at is not None:
        parts.append(f"Director told {short(to_stamp(hold.told_at))}")
    if hold.wakes:
        parts.append(f"woken {hold.wakes}× (last {short(_stamp(hold.woken_at))})")
    return "; ".join(parts)


def _stamp(moment: datetime | None) -> str | None:
    return to_stamp(moment) if moment is not None else None
