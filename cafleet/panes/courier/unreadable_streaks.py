"""When a member's Director is told that its screen cannot be read: once it has shown no state
cafleet knows for `UNREADABLE_AFTER_SECONDS`.

`observe` calls a screen unreadable as soon as it shows no known state in a pane older than
that, which is right for an agent that never drew one (a new version's screen). A member that
read ready a moment ago and shows nothing known now is more likely caught mid-redraw (a
resized pane): its Director hears of it only if that lasts as long."""

from __future__ import annotations

from datetime import datetime

from cafleet.core.agent_state import UNREADABLE_AFTER_SECONDS, AgentState

UNKNOWN = (AgentState.STARTING, AgentState.UNREADABLE)


class UnreadableStreaks:
    def __init__(self) -> None:
        self._known_at: dict[int, datetime] = {}  # member id -> when it last showed a known state
        self._told: set[int] = set()

    def tell_now(self, member_id: int, state: AgentState, pane_made: datetime, now: datetime) -> bool:
        """True once per streak: when the member's Director is to be told now."""
        if state not in UNKNOWN:
            self._known_at[member_id] = now
            self._told.discard(member_id)
            return False
        if state is not AgentState.UNREADABLE or member_id in self._told:
            return False
        known_at = self._known_at.get(member_id)
        since = max(known_at, pane_made) if known_at is not None else pane_made  # a new pane starts afresh
        if (now - since).total_seconds() < UNREADABLE_AFTER_SECONDS:
            return False
        self._told.add(member_id)
        return True
