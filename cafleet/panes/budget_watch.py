"""The courier's budget check: every few seconds, each budgeted member on this host has its
usage read (incrementally: only what its agent appended since the last look), and each
threshold it crossed is told to its Director once (`budget_crossed`). Nothing is stopped."""

from __future__ import annotations

from cafleet.broker.agent_states import Watched
from cafleet.broker.budgets import budgeted_members, record_crossing
from cafleet.core.budget import Crossing
from cafleet.core.invocation import fleet_command
from cafleet.panes.member_usage import read_usage

# How often budgets are checked: a member is told of within this of its agent writing the answer.
LOOK_SECONDS = 5.0


def budget_crossed(crossing: Crossing, member: Watched) -> bool:
    """The one place a budget crossing is recorded: the Director is told (one message) and the
    human's notifiers get an event, in the transaction that records it; False when it was
    recorded before."""
    director_id = member.placement.director_id
    text = crossing.text(fleet_command(crossing.fleet_id), director_id if director_id is not None else 0)
    return record_crossing(member, crossing.threshold, text)


class BudgetWatch:
    def look(self) -> list[Crossing]:
        """Check every budgeted member on this host; the crossings told now."""
        told = []
        for budgeted in budgeted_members():
            member = budgeted.member
            usage = read_usage(member.placement.coding_agent, budgeted.session)
            if usage is None:
                continue
            used = usage.tokens().total
            for threshold in budgeted.budget.crossed(used):
                crossing = Crossing(
                    fleet_id=member.fleet_id,
                    member_id=member.agent_id,
                    member=f"{member.name}#{member.agent_id}",
                    coding_agent=member.placement.coding_agent,
                    threshold=threshold,
                    used=used,
                    budget=budgeted.budget.tokens,
                )
                if budget_crossed(crossing, member):
                    told.append(crossing)
        return told
