"""Read models for the TUI: a fleet's timeline, its roster, an agent's inbox and sent box.

All reads; the TUI calls these from worker threads and renders the returned records.
"""

from __future__ import annotations

from typing import NamedTuple

from peewee import fn

from cafleet.broker.convert import agents_with_placements, task_query, task_record, value_rows
from cafleet.broker.guards import any_fleet
from cafleet.domain import AgentKind, TaskKind, TaskState
from cafleet.models import Agent, Fleet, MonitorConfig, Task, database
from cafleet.records import AgentRecord, TaskRecord

TIMELINE_KINDS = (TaskKind.UNICAST, TaskKind.BROADCAST_SUMMARY)


class RosterEntry(NamedTuple):
    agent: AgentRecord
    unread: int
    monitor_interval: int | None
    monitor_enabled: bool


class TimelineChanges(NamedTuple):
    """What happened since the last look: new timeline entries, and entries whose state moved."""

    added: tuple[TaskRecord, ...]
    changed: tuple[TaskRecord, ...]
    max_id: int
    changed_since: str


def _snapshot():
    """A read transaction: every query in it sees the same committed state (WAL), so a change
    committed between two of them cannot fall between the page read and its stamp."""
    return database.atomic(lock_type="DEFERRED")


def latest_change(fleet_id: int) -> str:
    return Task.select(fn.MAX(Task.state_changed_at)).where(Task.fleet == fleet_id).scalar() or ""


def timeline(fleet_id: int, before_id: int | None = None, limit: int = 1000) -> list[TaskRecord]:
    """The newest `limit` entries (older than `before_id`), oldest first; broadcasts appear
    once, as their summary with its deliveries."""
    condition = (Task.fleet == fleet_id) & Task.kind.in_(TIMELINE_KINDS)
    if before_id is not None:
        condition &= Task.id < before_id
    rows = list(task_query().where(condition).order_by(Task.id.desc()).limit(limit))
    rows.reverse()
    return with_deliveries(rows)


def timeline_page(fleet_id: int, limit: int) -> tuple[list[TaskRecord], str]:
    """The newest `limit` entries and the stamp to ask `timeline_changes` from, read together."""
    with _snapshot():
        return timeline(fleet_id, limit=limit), latest_change(fleet_id)


def timeline_changes(fleet_id: int, max_id: int, changed_since: str) -> TimelineChanges:
    """Entries newer than `max_id`, and older entries (or their deliveries) whose state
    changed after `changed_since`."""
    with _snapshot():
        return _changes(fleet_id, max_id, changed_since)


def _changes(fleet_id: int, max_id: int, changed_since: str) -> TimelineChanges:
    added_rows = list(
        task_query().where((Task.fleet == fleet_id) & Task.kind.in_(TIMELINE_KINDS) & (Task.id > max_id)).order_by(Task.id)
    )
    moved = Task.select(Task.id, Task.kind, Task.origin).where(
        (Task.fleet == fleet_id) & (Task.state_changed_at > changed_since)
    )
    # A delivery's ack changes its broadcast's entry; entries just added are already fresh.
    changed_ids = {t.origin_id if t.kind == TaskKind.BROADCAST else t.id for t in moved} - {r["id"] for r in added_rows}
    changed_rows = list(task_query().where(Task.id.in_(changed_ids)).order_by(Task.id)) if changed_ids else []
    added = with_deliveries(added_rows)
    changed = with_deliveries(changed_rows)
    newest = max([max_id] + [t.id for t in added])
    return TimelineChanges(tuple(added), tuple(changed), newest, latest_change(fleet_id))


def roster(fleet_id: int) -> list[RosterEntry]:
    """Every agent of the fleet (active first) with unread count and monitor interval."""
    any_fleet(fleet_id)
    agents = agents_with_placements(Agent.fleet == fleet_id)
    ids = [a.id for a in agents]
    unread = dict(value_rows(
        Task.select(Task.owner, fn.COUNT(Task.id))
        .where(Task.owner.in_(ids) & (Task.state == TaskState.UNREAD))
        .group_by(Task.owner)
    ))
    configs = {c.agent_id: c for c in MonitorConfig.select().where(MonitorConfig.agent.in_(ids))}
    return [
        RosterEntry(
            agent=a,
            unread=unread.get(a.id, 0),
            monitor_interval=configs[a.id].interval_seconds if a.id in configs else None,
            monitor_enabled=bool(configs[a.id].enabled) if a.id in configs else False,
        )
        for a in agents
    ]


def agent_inbox(agent_id: int, limit: int = 500) -> list[TaskRecord]:
    """Messages the agent received, newest first."""
    rows = task_query().where((Task.owner == agent_id) & (Task.kind != TaskKind.BROADCAST_SUMMARY)).order_by(Task.id.desc()).limit(limit)
    return [task_record(r) for r in rows]


def sent(agent_id: int, limit: int = 500) -> list[TaskRecord]:
    """Messages the agent sent (a broadcast once, as its summary), newest first."""
    rows = list(
        task_query()
        .where((Task.sender == agent_id) & Task.kind.in_(TIMELINE_KINDS))
        .order_by(Task.id.desc())
        .limit(limit)
    )
    return with_deliveries(rows)


def fleet_label(fleet_id: int) -> str:
    fleet = Fleet.get_or_none(Fleet.id == fleet_id)
    return fleet.label if fleet else ""


def administrator_id(fleet_id: int) -> int:
    return Agent.select(Agent.id).where((Agent.fleet == fleet_id) & (Agent.kind == AgentKind.ADMINISTRATOR)).scalar()


def with_deliveries(rows: list[dict]) -> list[TaskRecord]:
    """Records of `rows`, each broadcast summary with its delivery tasks."""
    summary_ids = [r["id"] for r in rows if r["kind"] == TaskKind.BROADCAST_SUMMARY]
    deliveries: dict[int, list[TaskRecord]] = {sid: [] for sid in summary_ids}
    if summary_ids:
        for row in task_query().where(Task.origin.in_(summary_ids) & (Task.kind == TaskKind.BROADCAST)).order_by(Task.id):
            deliveries[row["origin"]].append(task_record(row))
    return [task_record(r, tuple(deliveries.get(r["id"], ()))) for r in rows]
