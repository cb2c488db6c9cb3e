"""Sending and settling messages: unicast, broadcast fan-out, ack, cancel, show."""

from __future__ import annotations

from collections.abc import Iterator

from cafleet.broker.convert import task_query, task_record
from cafleet.broker.guards import active_agent, live_fleet, recipient, visible_task
from cafleet.broker.notifications import initial_notice, placements_of
from cafleet.broker.revisions import next_revision
from cafleet.core.domain import AgentKind, AgentStatus, TaskKind, TaskState
from cafleet.core.errors import Refused
from cafleet.core.records import BroadcastSent, TaskRecord
from cafleet.core.text import validate_body
from cafleet.core.timestamps import short, utc_now
from cafleet.store.db import is_postgres
from cafleet.store.models import Agent, Task, database


def send_message(
    fleet_id: int, agent_id: int, to: str, text: str, reply_to: int | None = None, source: str | None = None
) -> TaskRecord:
    """Store a unicast from `agent_id` to the active agent `to` (an id or a name)."""
    text = validate_body(text, source)
    with database.atomic():
        live_fleet(fleet_id)
        sender = active_agent(fleet_id, agent_id)
        target = recipient(fleet_id, to)
        if reply_to is not None:
            visible_task(fleet_id, reply_to, agent_id)
        task = store_unicast(fleet_id, sender.id, target.id, text, utc_now(), reply_to=reply_to)
        if target.kind == AgentKind.ADMINISTRATOR and target.id != sender.id:  # the human's inbox: their notifiers hear of it
            from cafleet.broker.notify_sources import admin_message, record  # only then: sends are the hot path

            record(admin_message(f"{sender.name}#{sender.id}", fleet_id, task.id, text), fleet_id, sender.id)
    return load_task(task.id)


def store_unicast(
    fleet_id: int,
    sender_id: int,
    recipient_id: int,
    text: str,
    now: str,
    placements: dict | None = None,
    reply_to: int | None = None,
) -> Task:
    """One unread message and its notice's first state, inside the caller's transaction (the
    caller has checked who may send it). `placements`: the recipients' placements, when the
    caller already read them for several messages."""
    if placements is None:
        placements = placements_of([recipient_id])
    return Task.create(
        fleet=fleet_id,
        owner=recipient_id,
        sender=sender_id,
        recipient=recipient_id,
        kind=TaskKind.UNICAST,
        state=TaskState.UNREAD,
        created_at=now,
        state_changed_at=now,
        revision=next_revision(fleet_id),
        reply_to=reply_to,
        text=text,
        **initial_notice(sender_id, recipient_id, placements, now),
    )


def broadcast_message(fleet_id: int, agent_id: int, text: str, source: str | None = None) -> BroadcastSent:
    """One summary task for the sender plus one delivery per other active agent, atomically.

    The Administrator (the human) never receives broadcasts; the summary and its deliveries
    share `origin_id` = the summary's id.
    """
    text = validate_body(text, source)
    with database.atomic():
        live_fleet(fleet_id)
        sender = active_agent(fleet_id, agent_id)
        recipient_ids = [
            a.id
            for a in Agent.select(Agent.id)
            .where(
                (Agent.fleet == fleet_id)
                & (Agent.status == AgentStatus.ACTIVE)
                & (Agent.kind != AgentKind.ADMINISTRATOR)
                & (Agent.id != sender.id)
            )
            .order_by(Agent.id)
        ]
        if not recipient_ids:
            raise Refused(f"fleet {fleet_id} has no other active agents to broadcast to; register agents or create members first")
        now = utc_now()
        revision = next_revision(fleet_id)
        summary = Task.create(
            fleet=fleet_id,
            owner=sender.id,
            sender=sender.id,
            recipient=None,
            kind=TaskKind.BROADCAST_SUMMARY,
            state=TaskState.ACKED,
            created_at=now,
            state_changed_at=now,
            revision=revision,
            text=text,
        )
        summary.origin = summary.id
        summary.save()
        for batch in _batches(recipient_ids, _rows_per_statement()):
            placements = placements_of(batch)
            Task.insert_many(
                [
                    dict(
                        fleet=fleet_id,
                        owner=rid,
                        sender=sender.id,
                        recipient=rid,
                        kind=TaskKind.BROADCAST,
                        state=TaskState.UNREAD,
                        created_at=now,
                        state_changed_at=now,
                        revision=revision,
                        origin=summary.id,
                        text=text,
                        **initial_notice(sender.id, rid, placements, now),
                    )
                    for rid in batch
                ]
            ).execute()
    summary_record = load_task(summary.id)
    return BroadcastSent(summary=summary_record, deliveries=summary_record.deliveries)


# The most variables one PostgreSQL statement can bind (its wire protocol counts them in 16 bits).
POSTGRES_MAX_VARIABLES = 65_535


def _rows_per_statement() -> int:
    """How many task rows one INSERT (or one `IN (…)` of their ids) may carry: the engine
    binds a variable per column of each row, up to its limit (SQLite's is a compile-time
    setting, 32,766 by default and 999 on older builds, and may be lowered per connection)."""
    columns = len(Task._meta.sorted_fields)
    if is_postgres():
        return POSTGRES_MAX_VARIABLES // columns
    import sqlite3

    limit = database.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, limit // columns)


def _batches(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ack_message(fleet_id: int, agent_id: int, task_id: int) -> TaskRecord:
    """The recipient confirms it has consumed the message: input_required -> completed."""
    return ack_messages(fleet_id, agent_id, [task_id])[0]


def ack_messages(fleet_id: int, agent_id: int, task_ids: list[int]) -> list[TaskRecord]:
    """Ack several messages in one transaction: all of them, or (on any refusal) none."""
    with database.atomic():
        live_fleet(fleet_id)
        active_agent(fleet_id, agent_id)
        for task_id in task_ids:
            task = visible_task(fleet_id, task_id, agent_id)
            if task.kind == TaskKind.BROADCAST_SUMMARY:
                raise Refused(f"task {task_id} is your broadcast's summary; recipients ack their own delivery tasks")
            if task.recipient_id != agent_id:
                raise Refused(f"task {task_id} was sent by you; only its recipient can ack it (you may cancel it)")
            _require_unread(task, "ack")
        now = utc_now()
        Task.update(state=TaskState.ACKED, state_changed_at=now, acked_at=now, revision=next_revision(fleet_id)).where(
            Task.id.in_(task_ids)
        ).execute()
    return [load_task(task_id) for task_id in task_ids]


def cancel_message(fleet_id: int, agent_id: int, task_id: int) -> TaskRecord:
    """The sender retracts an unread message. On a broadcast summary: every unread delivery."""
    with database.atomic():
        live_fleet(fleet_id)
        active_agent(fleet_id, agent_id)
        task = visible_task(fleet_id, task_id, agent_id)
        if task.sender_id != agent_id:
            raise Refused(f"task {task_id} was sent to you; only its sender can cancel it (ack it instead)")
        now = utc_now()
        if task.kind == TaskKind.BROADCAST_SUMMARY:
            pending = Task.update(state=TaskState.CANCELED, state_changed_at=now, revision=next_revision(fleet_id)).where(
                (Task.origin == task_id) & (Task.kind == TaskKind.BROADCAST) & (Task.state == TaskState.UNREAD)
            )
            if pending.execute() == 0:
                raise Refused(f"every delivery of broadcast {task_id} is already acked or canceled; nothing to cancel")
        else:
            _require_unread(task, "cancel")
            Task.update(state=TaskState.CANCELED, state_changed_at=now, revision=next_revision(fleet_id)).where(
                Task.id == task_id
            ).execute()
    return load_task(task_id)


def show_message(fleet_id: int, agent_id: int, task_id: int) -> TaskRecord:
    """A message the caller sent or received (a summary also lists its deliveries)."""
    live_fleet(fleet_id)
    active_agent(fleet_id, agent_id)
    visible_task(fleet_id, task_id, agent_id)
    return load_task(task_id)


def load_task(task_id: int) -> TaskRecord:
    row = task_query().where(Task.id == task_id).get()
    deliveries: tuple[TaskRecord, ...] = ()
    if row["kind"] == TaskKind.BROADCAST_SUMMARY:
        deliveries = tuple(
            task_record(r)
            for r in task_query().where((Task.origin == task_id) & (Task.kind == TaskKind.BROADCAST)).order_by(Task.id)
        )
    return task_record(row, deliveries)


def _require_unread(task: Task, verb: str) -> None:
    if task.state == TaskState.ACKED:
        raise Refused(f"task {task.id} was already acked at {short(task.acked_at)}; nothing to {verb}")
    if task.state == TaskState.CANCELED:
        raise Refused(f"task {task.id} was canceled by its sender at {short(task.state_changed_at)}; nothing to {verb}")
