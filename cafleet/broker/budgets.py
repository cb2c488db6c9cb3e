"""Members' token budgets: set at spawn, read for `member list --usage`, and each threshold's
crossing recorded in the same transaction as the Director's message, so it is told once."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.agent_states import Watched, tell_director
from cafleet.broker.convert import placement_record
from cafleet.broker.host_scope import placed_here
from cafleet.broker.notify_sources import budget, record
from cafleet.core.budget import Budget, Threshold
from cafleet.core.domain import AgentKind, AgentStatus
from cafleet.core.records import SessionRecord
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, Fleet, MemberBudget, Placement, database


class Budgeted(NamedTuple):
    """A member on this host with a budget whose end its Director was not told of yet."""

    member: Watched
    budget: Budget
    session: SessionRecord | None


def set_budget(agent_id: int, tokens: int) -> None:
    """Called inside the transaction that registers the member."""
    MemberBudget.create(agent=agent_id, tokens=tokens)


def budgets_of(agent_ids: list[int]) -> dict[int, Budget]:
    if not agent_ids:
        return {}
    return {row.agent_id: _budget(row) for row in MemberBudget.select().where(MemberBudget.agent.in_(agent_ids))}


def budgeted_members() -> list[Budgeted]:
    from cafleet.broker.sessions import sessions_of

    query = (
        Placement.select(Placement, Agent, MemberBudget)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .switch(Placement)
        .join(MemberBudget, on=(MemberBudget.agent == Placement.agent), attr="budget")
        .where(
            (Agent.kind == AgentKind.MEMBER)
            & (Agent.status == AgentStatus.ACTIVE)
            & Fleet.deleted_at.is_null()
            & MemberBudget.exhausted_at.is_null()
            & placed_here()
        )
    )
    found = []
    for row in query:
        watched = Watched(row.agent.id, row.agent.fleet_id, row.agent.name, row.agent.kind, placement_record(row))
        found.append((watched, _budget(row.budget)))  # type: ignore[attr-defined]  # the join's `attr`
    sessions = sessions_of([watched.agent_id for watched, _ in found])
    return [Budgeted(watched, budget, sessions.get(watched.agent_id)) for watched, budget in found]


def record_crossing(member: Watched, threshold: Threshold, text: str) -> bool:
    """Record that the Director is told `member` crossed `threshold`, and tell it `text`, in one
    transaction; False when it was recorded already (by another courier, or an earlier look)."""
    column = MemberBudget.warned_at if threshold == Threshold.WARNED else MemberBudget.exhausted_at
    with database.atomic():
        claimed = (
            MemberBudget.update({column: utc_now()}).where((MemberBudget.agent == member.agent_id) & column.is_null()).execute()
        )
        if not claimed:
            return False
        tell_director(member, text)
        handle = f"{member.name}#{member.agent_id}"
        record(budget(handle, member.fleet_id, member.agent_id, threshold.value, text), member.fleet_id, member.agent_id)
    return True


def drop_budget(agent_id: int) -> None:
    """Called inside the transaction that removes a member that never existed."""
    MemberBudget.delete().where(MemberBudget.agent == agent_id).execute()


def _budget(row: MemberBudget) -> Budget:
    return Budget(row.agent_id, row.tokens, row.warned_at, row.exhausted_at)
