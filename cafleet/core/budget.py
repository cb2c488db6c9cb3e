"""A member's token budget: the thresholds its Director is told of, once each, and what it is
told. Nothing is stopped: the Director decides."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from cafleet.core.errors import InvalidInput

# Larger than any budget anyone means (a thousand billion tokens), small enough for every engine.
MAX_BUDGET_TOKENS = 10**12
BUDGET_TAG = "[budget]"


class Threshold(IntEnum):
    """How much of its budget a member has used when its Director is told (percent)."""

    WARNED = 80
    EXHAUSTED = 100


class Budget(NamedTuple):
    agent_id: int
    tokens: int
    warned_at: str | None = None  # when the Director was told of 80 %
    exhausted_at: str | None = None  # … of 100 %

    def told(self, threshold: Threshold) -> bool:
        return (self.warned_at if threshold == Threshold.WARNED else self.exhausted_at) is not None

    def crossed(self, used: int) -> list[Threshold]:
        """The thresholds `used` tokens reach that the Director was not told of yet, lowest first."""
        return [t for t in Threshold if used * 100 >= t * self.tokens and not self.told(t)]


class Crossing(NamedTuple):
    """A member's use passing a threshold of its budget: what the Director is told, once."""

    fleet_id: int
    member_id: int
    member: str  # name#id
    coding_agent: str
    threshold: Threshold
    used: int
    budget: int

    def text(self, fleet_command: str, director_id: int) -> str:
        share = f"{self.used:,} of its {self.budget:,}-token budget ({self.used * 100 // self.budget} %)"
        look = f"see it with: {fleet_command} member list --agent-id {director_id} --usage"
        if self.threshold == Threshold.EXHAUSTED:
            stop = f"{fleet_command} member delete --agent-id {director_id} --member-id {self.member_id}"
            return f"{BUDGET_TAG} {self.member} ({self.coding_agent}) has used {share}; nothing was stopped -- {look}; to stop it: {stop}"
        return f"{BUDGET_TAG} {self.member} ({self.coding_agent}) has used {share}; {look}"


def validate_budget(tokens: int) -> int:
    if isinstance(tokens, bool) or not isinstance(tokens, int) or not 0 < tokens <= MAX_BUDGET_TOKENS:
        raise InvalidInput(
            f"a budget of {tokens!r} tokens is not a whole number from 1 to {MAX_BUDGET_TOKENS:,}; give e.g. 2000000"
        )
    return tokens
