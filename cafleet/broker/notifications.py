"""Inline-preview bookkeeping: each stored message's notice starts `pending` (or is skipped at
once when it has nowhere to go); the courier claims the due ones one at a time and records how
each ended under its claim.

`notify_status` is always true: `pending` until a courier claims it, `claimed` while one types
it (`notice_claim` names the courier, `notice_step` how far it got), `deferred:<state>` while
the agent cannot take it, then `delivered`, `skipped:<why>` or `failed:<why>`. A claim is
taken in one transaction that also checks the notice is still due, so no two workers, and no
two couriers, ever type one notice. docs/concepts.md draws the whole state machine.

Each host's courier sees only the notices for panes on its host: one for a pane on another
host stays `pending` until that host's courier takes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from cafleet.broker.convert import placement_record, task_query, value_rows
from cafleet.broker.host_scope import agents_placed_elsewhere, placed_here
from cafleet.core.domain import NOTICE_CLAIMED, NOTICE_PENDING, AgentStatus, NoticeStep, TaskState
from cafleet.core.hosts import this_host
from cafleet.core.records import PlacementRecord
from cafleet.core.timestamps import to_stamp, utc_now
from cafleet.store.models import Agent, Fleet, Placement, Task, database
from cafleet.store.orm import SQL

PENDING = NOTICE_PENDING
DEFERRED_PREFIX = "deferred:"
# A claim outlives a courier that cannot be asked whether it still runs (another pid
# namespace) by this long; typing one notice takes a few seconds at most.
LEASE_SECONDS = 60.0


class NoticeHead(NamedTuple):
    """A recipient's oldest due notice, and the pane it goes to (None: no placement)."""

    task_id: int
    recipient_id: int
    tmux_socket: str | None
    tmux_pane_id: str | None


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
    claim: str | None = None  # the courier holding it, while `status` is `claimed`
    step: NoticeStep | None = None
    lease_until: str | None = None


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
NOTICE_DUE_SQL = "(notify_status IN ('pending', 'claimed') OR notify_status LIKE 'deferred:%')"
_CLAIMABLE_SQL = "(notify_status = 'pending' OR notify_status LIKE 'deferred:%')"


def _dialect(sql: str) -> str:
    from cafleet.store.db import is_postgres

    # psycopg reads "%" as a parameter marker; doubled, the server gets one.
    return sql.replace("%", "%%") if is_postgres() else sql


def notice_due_sql() -> str:
    return _dialect(NOTICE_DUE_SQL)


def _due():
    return SQL(notice_due_sql())


def _claimable():
    return SQL(_dialect(_CLAIMABLE_SQL))


def _for_this_host():
    """Notices this host's courier settles: for panes here, or for no pane at all."""
    return Task.recipient.is_null() | Task.recipient.not_in(agents_placed_elsewhere())


def _elsewhere_sql() -> str:
    return f"SELECT agent_id FROM placements WHERE host IS NOT NULL AND host != {database.obj.param}"


def notices_due_here() -> bool:
    """Whether any stored notice for this host still waits for delivery: one lookup in the
    partial index, spelled as SQL (it runs on every send and poll; peewee would build the
    same query in ~40x the time)."""
    row = database.execute_sql(
        f"SELECT 1 FROM tasks WHERE {notice_due_sql()} AND (to_id IS NULL OR to_id NOT IN ({_elsewhere_sql()})) LIMIT 1",
        (this_host(),),
    ).fetchone()
    return row is not None


def due_heads() -> list[NoticeHead]:
    """Each recipient's oldest due notice on this host, with its pane: the head of that
    pane's queue. One blocked recipient contributes one row however many notices wait for it,
    so it can never crowd out the others (read from the partial index, grouped by recipient)."""
    rows = database.execute_sql(
        f"SELECT heads.task_id, heads.to_id, p.tmux_socket, p.tmux_pane_id FROM ("
        f" SELECT to_id, MIN(id) AS task_id FROM tasks"
        f" WHERE {notice_due_sql()} AND to_id IS NOT NULL AND to_id NOT IN ({_elsewhere_sql()})"
        f" GROUP BY to_id) AS heads"
        f" LEFT JOIN placements p ON p.agent_id = heads.to_id"
        f" ORDER BY heads.task_id",
        (this_host(),),
    ).fetchall()
    return [NoticeHead(*row) for row in rows]


def notice_jobs(task_ids: list[int]) -> list[PreviewJob]:
    """The notices `task_ids` with what typing them needs, in id order."""
    if not task_ids:
        return []
    rows = list(
        task_query()
        .select_extend(Task.notice_claim, Task.notice_step, Task.notice_lease_until)
        .where(Task.id.in_(task_ids))
        .order_by(Task.id)
    )
    placements = placements_of(list({row["recipient"] for row in rows}))
    return [
        PreviewJob(
            task_id=row["id"],
            sender_id=row["sender"],
            sender_name=row["from_name"],
            recipient_id=row["recipient"],
            created_at=row["created_at"],
            text=row["text"],
            status=row["notify_status"],
            unread=row["state"] == TaskState.UNREAD,
            placement=placement_record(placements.get(row["recipient"])),
            claim=row["notice_claim"],
            step=NoticeStep(row["notice_step"]) if row["notice_step"] else None,
            lease_until=row["notice_lease_until"],
        )
        for row in rows
    ]


def due_notices(limit: int = 500) -> list[PreviewJob]:
    """Notices for this host no process has delivered yet, oldest first (for inspection;
    the courier works from `due_heads`)."""
    query = Task.select(Task.id).where(_due() & Task.recipient.is_null(False) & _for_this_host()).order_by(Task.id)
    ids = [row[0] for row in value_rows(query.limit(limit))]
    return notice_jobs(ids)


def _lease_until() -> str:
    return to_stamp(datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS))


def lease_expired(lease_until: str | None) -> bool:
    """Whether a claim's lease has run out (stamps are fixed-width: text order is time order)."""
    return lease_until is None or lease_until < utc_now()


def claim(task_id: int, claimer: str) -> bool:
    """Take a due notice for one delivery attempt; False when it is no longer due or another
    courier holds it. The check and the take are one statement in one transaction."""
    with database.atomic():
        taken = (
            Task.update(
                notify_status=NOTICE_CLAIMED,
                notice_claim=claimer,
                notice_step=NoticeStep.CLAIMED,
                notice_lease_until=_lease_until(),
            )
            .where((Task.id == task_id) & _claimable())
            .execute()
        )
    return taken == 1


def take_over(task_id: int, abandoned_by: str, claimer: str) -> bool:
    """Take a claim whose courier is gone, keeping its step (how far that courier got)."""
    with database.atomic():
        taken = (
            Task.update(notice_claim=claimer, notice_lease_until=_lease_until())
            .where((Task.id == task_id) & (Task.notify_status == NOTICE_CLAIMED) & (Task.notice_claim == abandoned_by))
            .execute()
        )
    return taken == 1


def advance(task_id: int, claimer: str, step: NoticeStep) -> bool:
    """Record that the claim's holder is about to take `step`; False when the claim is not
    its own any more (then it must not type)."""
    with database.atomic():
        moved = (
            Task.update(notice_step=step, notice_lease_until=_lease_until())
            .where((Task.id == task_id) & (Task.notify_status == NOTICE_CLAIMED) & (Task.notice_claim == claimer))
            .execute()
        )
    return moved == 1


def settle(task_id: int, claimer: str, status: str) -> bool:
    """End a claim with the attempt's outcome: final (`delivered`, `skipped:…`, `failed:…`,
    with `notified_at`) or `deferred:<state>` (due again). False when the claim was not
    `claimer`'s."""
    final = not status.startswith(DEFERRED_PREFIX)
    with database.atomic():
        ended = (
            Task.update(
                notify_status=status,
                notified_at=utc_now() if final else None,
                notice_claim=None,
                notice_step=None,
                notice_lease_until=None,
            )
            .where((Task.id == task_id) & (Task.notify_status == NOTICE_CLAIMED) & (Task.notice_claim == claimer))
            .execute()
        )
    return ended == 1


def release(claimer: str) -> int:
    """Give back every claim of `claimer` on which nothing was typed yet (a courier told to
    stop): they are due again, for whoever comes next."""
    with database.atomic():
        return (
            Task.update(notify_status=PENDING, notice_claim=None, notice_step=None, notice_lease_until=None)
            .where(
                (Task.notify_status == NOTICE_CLAIMED) & (Task.notice_claim == claimer) & (Task.notice_step == NoticeStep.CLAIMED)
            )
            .execute()
        )


def settle_unreachable(dead_sockets: set[str]) -> int:
    """Every notice still due for an agent placed on this host on one of `dead_sockets`:
    tmux servers seen gone, whose panes went with them. Notices for other servers (ones this
    process cannot see, say from a sandbox with a private /tmp) are left as they are."""
    if not dead_sockets:
        return 0
    on_dead_servers = Placement.select(Placement.agent).where(Placement.tmux_socket.in_(sorted(dead_sockets)) & placed_here())
    with database.atomic():
        return (
            Task.update(
                notify_status="skipped:tmux-server-gone",
                notified_at=utc_now(),
                notice_claim=None,
                notice_step=None,
                notice_lease_until=None,
            )
            .where(_due() & Task.recipient.in_(on_dead_servers))
            .execute()
        )


def pane_moved(agent_id: int, seen: PlacementRecord) -> bool:
    """Whether the agent's placement now names another pane than `seen` (it was restored
    while its notice was being looked at)."""
    now = Placement.get_or_none(Placement.agent == agent_id)
    return now is not None and (now.tmux_socket, now.tmux_server_pid, now.tmux_pane_id) != (
        seen.tmux_socket,
        seen.tmux_server_pid,
        seen.tmux_pane_id,
    )


def still_unread(task_id: int) -> bool:
    """Checked right before typing: a message acked or canceled meanwhile needs no notice."""
    return Task.select().where((Task.id == task_id) & (Task.state == TaskState.UNREAD)).exists()


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


def due_sockets() -> set[str]:
    """tmux sockets of the panes that notices due on this host are for."""
    query = (
        Placement.select(Placement.tmux_socket)
        .join(Task, on=(Task.recipient == Placement.agent))
        .where(_due() & placed_here())
        .distinct()
    )
    return {row.tmux_socket for row in query}
