"""Converting peewee rows into `cafleet.core.records` values, and the shared task query."""

from __future__ import annotations

import json
from typing import Any, overload

from cafleet.core.domain import TaskKind
from cafleet.core.records import AgentRecord, FleetRecord, PlacementRecord, TaskRecord
from cafleet.store.models import Agent, Fleet, Placement, Task
from cafleet.store.orm import JOIN, Case

Sender = Agent.alias("sender")
Recipient = Agent.alias("recipient")
Answered = Task.alias("answered")


def value_rows(query) -> list[tuple[Any, ...]]:
    """The rows of an aggregate query as plain tuples (peewee's stubs type them as models)."""
    return list(query.tuples())


def fleet_record(fleet: Fleet, active_agents: int = 0, unread: int = 0) -> FleetRecord:
    return FleetRecord(
        id=fleet.id,
        label=fleet.label,
        created_at=fleet.created_at,
        deleted_at=fleet.deleted_at,
        director_id=fleet.director_id,
        active_agents=active_agents,
        unread=unread,
    )


@overload
def placement_record(placement: Placement) -> PlacementRecord: ...
@overload
def placement_record(placement: None) -> None: ...
@overload
def placement_record(placement: Placement | None) -> PlacementRecord | None: ...


def placement_record(placement: Placement | None) -> PlacementRecord | None:
    if placement is None:
        return None
    return PlacementRecord(
        agent_id=placement.agent_id,
        director_id=placement.director_id,
        tmux_socket=placement.tmux_socket,
        tmux_server_pid=placement.tmux_server_pid,
        tmux_session=placement.tmux_session,
        tmux_window_id=placement.tmux_window_id,
        tmux_pane_id=placement.tmux_pane_id,
        coding_agent=placement.coding_agent,
        created_at=placement.created_at,
        host=placement.host,
    )


def agent_record(agent: Agent, placement: Placement | None = None) -> AgentRecord:
    return AgentRecord(
        id=agent.id,
        fleet_id=agent.fleet_id,
        name=agent.name,
        description=agent.description,
        kind=agent.kind,
        status=agent.status,
        registered_at=agent.registered_at,
        deregistered_at=agent.deregistered_at,
        skills=json.loads(agent.skills) if agent.skills else None,
        placement=placement_record(placement),
    )


def agents_with_placements(condition) -> list[AgentRecord]:
    """Agents matching `condition` with their placements, active ones first, then by id."""
    query = (
        Agent.select(Agent, Placement)
        .join(Placement, JOIN.LEFT_OUTER, on=(Placement.agent == Agent.id), attr="placement_row")
        .where(condition)
        .order_by(Agent.status, Agent.id)
    )
    records = []
    for agent in query:
        placement = getattr(agent, "placement_row", None)
        if placement is not None and placement.tmux_socket is None:
            placement = None
        records.append(agent_record(agent, placement))
    return records


def task_query(text=None):
    """Tasks with their sender's and recipient's names, as dicts (cheaper than model rows).
    `text` replaces the text column (aliased "text"): a prefix, or nothing, for lists."""
    return (
        Task.select(
            Task.id,
            Task.fleet,
            Task.owner,
            Task.sender,
            Sender.name.alias("from_name"),
            Task.recipient,
            Recipient.name.alias("to_name"),
            Task.kind,
            Task.state,
            Task.created_at,
            Task.state_changed_at,
            Task.acked_at,
            Task.origin,
            Task.reply_to,
            Task.text if text is None else text,
            Task.notified_at,
            Task.notify_status,
            Case(None, [(Answered.kind == TaskKind.BROADCAST, Answered.origin)], Task.reply_to).alias("reply_entry"),
        )
        .join_from(Task, Sender, on=(Task.sender == Sender.id))
        .join_from(Task, Recipient, JOIN.LEFT_OUTER, on=(Task.recipient == Recipient.id))
        .join_from(Task, Answered, JOIN.LEFT_OUTER, on=(Task.reply_to == Answered.id))
        .dicts()
    )


def task_record(row: dict, deliveries: tuple[TaskRecord, ...] = ()) -> TaskRecord:
    return TaskRecord(
        id=row["id"],
        fleet_id=row["fleet"],
        owner_id=row["owner"],
        from_agent_id=row["sender"],
        from_name=row["from_name"],
        to_agent_id=row["recipient"],
        to_name=row["to_name"],
        kind=row["kind"],
        state=row["state"],
        created_at=row["created_at"],
        state_changed_at=row["state_changed_at"],
        acked_at=row["acked_at"],
        origin_task_id=row["origin"],
        reply_to_id=row["reply_to"],
        text=row["text"],
        notified_at=row["notified_at"],
        notify_status=row["notify_status"],
        deliveries=deliveries,
        reply_to_entry_id=row["reply_entry"],
    )
