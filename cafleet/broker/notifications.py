"""Inline-preview bookkeeping: each stored message's notice starts `pending` (or is skipped at
once when it has nowhere to go); the courier takes the due ones and records how each ended.

`notify_status` is always true: `pending` until a process has typed it, `deferred:<state>`
while the agent cannot take it, then `delivered`, `skipped:<why>` or `failed:<why>`.

Each host's courier sees only the notices for panes on its host: one for a pane on another
host stays `pending` until that host's courier takes it.
"""

from __future__ import annotations

from typing import NamedTuple

from peewee import SQL

from cafleet.broker.convert import placement_record, task_query
from cafleet.broker.host_scope import agents_placed_elsewhere, placed_here
from cafleet.domain import NOTICE_PENDING, AgentStatus, TaskState
from cafleet.hosts import this_host
from cafleet.models import Agent, Fleet, Placement, Task, database
from cafleet.records import PlacementRecord
from cafleet.timestamps import utc_now

PENDING = NOTICE_PENDING
DEFERRED_PREFIX = "deferred:"


class PreviewJob(NamedTuple):
    task_id: int
    sender_id: int
    sender_name: str
    recipient_id: int
    created_at: str
    text: str
    status: str
    unread: bool
    placement: PlacementRecord | None


def initial_notice(sender_id: int, recipient_id: int, placements: dict[int, Placement], now: str) -> dict:
    """A new task's `notify_status` (and `notified_at` when already settled), decided inside
    the transaction that stores it."""
    if recipient_id == sender_id:
        return {"notify_status": "skipped:self", "notified_at": now}
    if recipient_id not in placements:
        return {"notify_status": "skipped:no-placement", "notified_at": now}
    return {"notify_status": PENDING, "notified_at": None}


def placements_of(agent_ids: list[int]) -> dict[int, Placement]:
    return {p.agent_id: p for p in Placement.select().where(Placement.agent.in_(agent_ids))}


# Spelled as literal SQL: SQLite uses the partial index `tasks_notice_due` only when the
# query repeats its WHERE with constants (bound parameters do not match it).
NOTICE_DUE_SQL = "(notify_status = 'pending' OR notify_status LIKE 'deferred:%')"


def notice_due_sql() -> str:
    from cafleet.db import is_postgres

    # psycopg reads "%" as a parameter marker; doubled, the server gets one.
    return NOTICE_DUE_SQL.replace("%", "%%") if is_postgres() else NOTICE_DUE_SQL


def _due():
    return SQL(notice_due_sql())


def _for_this_host():
    """Notices this host's courier settles: for panes here, or for no pane at all."""
    return Task.recipient.is_null() | Task.recipient.not_in(agents_placed_elsewhere())


def notices_due_here() -> bool:
    """Whether any stored notice for this host still waits for delivery: one lookup in the
    partial index, spelled as SQL (it runs on every send and poll; peewee would build the
    same query in ~40x the time)."""
    param = database.obj.param
    elsewhere = f"SELECT agent_id FROM placements WHERE host IS NOT NULL AND host != {param}"
    row = database.execute_sql(
        f"SELECT 1 FROM tasks WHERE {notice_due_sql()} AND (to_id IS NULL OR to_id NOT IN ({elsewhere})) LIMIT 1",
        (this_host(),),
    ).fetchone()
    return row is not None


def due_notices(limit: int = 500) -> list[PreviewJob]:
    """Notices for this host no process has delivered yet, oldest first, with their
    recipients' placements."""
    rows = list(
        task_query()
        .where(_due() & Task.recipient.is_null(False) & _for_this_host())
        .order_by(Task.id)
        .limit(limit)
    )
    placements = placements_of(list({row["recipient"] for row in rows}))
    return [
        PreviewJob(
            task_id=row["id"], sender_id=row["sender"], sender_name=row["from_name"],
            recipient_id=row["recipient"], created_at=row["created_at"], text=row["text"],
            status=row["notify_status"], unread=row["state"] == TaskState.UNREAD,
            placement=placement_record(placements.get(row["recipient"])),
        )
        for row in rows
    ]


def settle_unreachable() -> int:
    """Every notice for this host still due when no tmux server of its panes answers any more."""
    with database.atomic():
        return (
            Task.update(notify_status="skipped:tmux-server-gone", notified_at=utc_now())
            .where(_due() & _for_this_host())
            .execute()
        )


def still_unread(task_id: int) -> bool:
    """Checked right before typing: a message acked or canceled meanwhile needs no notice."""
    return Task.select().where((Task.id == task_id) & (Task.state == TaskState.UNREAD)).exists()


def record_outcomes(outcomes: dict[int, str]) -> None:
    """Store each task's notice status; final ones also get `notified_at`."""
    if not outcomes:
        return
    now = utc_now()
    with database.atomic():
        for task_id, status in outcomes.items():
            final = not status.startswith(DEFERRED_PREFIX)
            Task.update(notify_status=status, notified_at=now if final else None).where(Task.id == task_id).execute()


def live_pane_sockets() -> set[str]:
    """tmux sockets of every agent placed on this host in a live fleet: where its courier has work."""
    query = (
        Placement.select(Placement.tmux_socket)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where((Agent.status == AgentStatus.ACTIVE) & Fleet.deleted_at.is_null() & placed_here())
        .distinct()
    )
    return {row.tmux_socket for row in query}
