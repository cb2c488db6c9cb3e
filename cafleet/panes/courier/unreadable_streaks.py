"""When a member's Director is told that its screen cannot be read: once it has shown no state
cafleet knows for `UNREADABLE_AFTER_SECONDS`.

`observe` calls a screen unreadable as soon as it shows no known state in a pane older than
that, which is right for an agent that never drew one (a new version's screen). A member that
read ready a moment ago and shows nothing known now is more likely caught mid-redraw (a
resized pane): its Director hears of it only if that lasts as long. A member started again in
a new pane starts afresh."""

from __future__ import annotations

from datetime import datetime

from cafleet.core.agent_state import UNREADABLE_AFTER_SECONDS, AgentState

UNKNOWN = (AgentState.STARTING, AgentState.UNREADABLE)


class UnreadableStreaks:
    def __init__(self) -> None:
        self._known_at: dict[int, datetime] = {}  # member id -> when it last showed a known state
        self._told: dict[int, datetime] = {}  # member id -> the pane (its creation) it was told of

    def tell_now(self, member_id: int, state: AgentState, pane_made: datetime, now: datetime) -> bool:
        """True once per streak: when the member's Director is to be told now."""
        if state not in UNKNOWN:
            self._known_at[member_id] = now
            self._told.pop(member_id, None)
            return False
        if state is not AgentState.UNREADABLE or self._told.get(member_id) == pane_made:
            return False
        known_at = self._known_at.get(member_id)
        since = max(known_at, pane_made) if known_at is not None else pane_made  # a new pane starts afresh
        if (now - since).total_seconds() < UNREADABLE_AFTER_SECONDS:
            return False
        self._told[member_id] = pane_made
        return True

    def never_read_in(self, member_id: int, pane_made: datetime) -> bool:
        """Whether the member has shown no known state since its pane was made."""
        known_at = self._known_at.get(member_id)
        return known_at is None or known_at < pane_made
