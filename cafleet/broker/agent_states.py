"""Each placed agent's state as the courier last saw it, and the "needs you" message a
Director gets when one of its members starts asking."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.convert import placement_record
from cafleet.broker.dialect import upsert
from cafleet.broker.host_scope import placed_here
from cafleet.broker.notifications import initial_notice, placements_of
from cafleet.broker.revisions import next_revision
from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.domain import AgentKind, AgentStatus, TaskKind, TaskState
from cafleet.core.records import PlacementRecord
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, AgentStateRow, Fleet, Placement, Task, database

NEEDS_YOU_TAG = "[needs you]"


class SeenState(NamedTuple):
    agent_id: int
    state: AgentState
    reason: str
    question: str | None
    changed_at: str


class Watched(NamedTuple):
    """A placed agent the courier keeps an eye on."""

    agent_id: int
    fleet_id: int
    name: str
    kind: str
    placement: PlacementRecord


def watched_agents() -> list[Watched]:
    """Every active agent of a live fleet placed on this host (only its panes can be looked at)."""
    query = (
        Placement.select(Placement, Agent)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where((Agent.status == AgentStatus.ACTIVE) & Fleet.deleted_at.is_null() & placed_here())
    )
    return [Watched(p.agent.id, p.agent.fleet_id, p.agent.name, p.agent.kind, placement_record(p)) for p in query]


def seen_states(agent_ids: list[int]) -> dict[int, SeenState]:
    rows = AgentStateRow.select().where(AgentStateRow.agent.in_(agent_ids))
    return {r.agent_id: SeenState(r.agent_id, AgentState(r.state), r.reason, r.question, r.changed_at) for r in rows}


def record_state(agent_id: int, seen: Observation) -> bool:
    """Store what the agent's pane shows; only a change is written. True when it changed."""
    with database.atomic():
        row = AgentStateRow.get_or_none(AgentStateRow.agent == agent_id)
        if row is not None and (row.state, row.reason, row.question) == (seen.state.value, seen.reason, seen.question):
            return False
        upsert(
            AgentStateRow,
            agent=agent_id,
            state=seen.state.value,
            reason=seen.reason,
            question=seen.question,
            changed_at=utc_now(),
        )
    return True


def record_lost(agent_ids: list[int], reason: str) -> list[int]:
    """Mark these agents `lost` (their panes went with their tmux server) in one transaction,
    writing only rows that do not say so already (it runs on every send while no server
    lives). The ids written."""
    already = {
        row.agent_id
        for row in AgentStateRow.select(AgentStateRow.agent).where(
            AgentStateRow.agent.in_(agent_ids) & (AgentStateRow.state == AgentState.LOST.value)
        )
    }
    stale = [agent_id for agent_id in agent_ids if agent_id not in already]
    if not stale:
        return []
    now = utc_now()
    with database.atomic():
        for agent_id in stale:
            upsert(AgentStateRow, agent=agent_id, state=AgentState.LOST.value, reason=reason, question=None, changed_at=now)
    return stale


def needs_you_text(fleet_command: str, director_id: int, member_id: int, question: str) -> str:
    return (
        f"{NEEDS_YOU_TAG} {question or 'a question is showing'} -- answer with: {fleet_command} member send-input "
        f"--agent-id {director_id} --member-id {member_id} --choice N (or --freetext TEXT); "
        f"see it with: {fleet_command} member capture --agent-id {director_id} --member-id {member_id}"
    )


def tell_director(member: Watched, text: str) -> list[int]:
    """One message from the asking member to its Director, and one to the Administrator (the
    human's inbox in the TUI), unless an unread one already says the same. The new task ids."""
    director_id = member.placement.director_id
    if director_id is None:
        return []
    created = []
    with database.atomic():
        administrator = Agent.get_or_none((Agent.fleet == member.fleet_id) & (Agent.kind == AgentKind.ADMINISTRATOR))
        recipients = [director_id] + ([administrator.id] if administrator is not None else [])
        placements = placements_of(recipients)
        now = utc_now()
        revision = next_revision(member.fleet_id)
        for recipient in recipients:
            duplicate = (
                Task.select()
                .where(
                    (Task.sender == member.agent_id)
                    & (Task.recipient == recipient)
                    & (Task.text == text)
                    & (Task.state == TaskState.UNREAD)
                )
                .exists()
            )
            if not duplicate:
                created.append(
                    Task.create(
                        fleet=member.fleet_id,
                        owner=recipient,
                        sender=member.agent_id,
                        recipient=recipient,
                        kind=TaskKind.UNICAST,
                        state=TaskState.UNREAD,
                        created_at=now,
                        state_changed_at=now,
                        text=text,
                        revision=revision,
                        **initial_notice(member.agent_id, recipient, placements, now),
                    ).id
                )
    return created
