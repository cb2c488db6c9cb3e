"""Events for the human's notifiers, and each one's delivery per notifier.

An event is recorded once, by its `dedupe_key` (one per episode: a question, a hold, a stall),
inside the transaction of what caused it (the `[needs you]` message, the hold's message, the
message to the Administrator). The courier fans each event out to the notifiers of the user's
config that want it (one `notify_deliveries` row each, by name) and sends them.

A delivery is `pending` until a courier claims it (`sending`, `claim` names the courier and
`step` how far it got: `claimed`, then `posted` once the request left), then `sent`, or
`pending` again with a later `next_at` after a failure, or `failed` once it gave up. A claim
left by a courier that died is taken over: `posted` counts as sent (the notifier has it; only
its answer was lost), `claimed` is sent again. So a restart never sends one twice and never
drops one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple, cast

from cafleet.core.notify import EventKind, NotifyEvent
from cafleet.core.timestamps import parse_stamp, to_stamp, utc_now
from cafleet.store.models import Agent, NotifyDelivery, NotifyEventRow, database
from cafleet.store.orm import fn

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
STEP_CLAIMED, STEP_POSTED = "claimed", "posted"
# At most this many events go in one request (a summary); the rest in the next.
BATCH = 20


class Claimed(NamedTuple):
    delivery_id: int
    attempts: int  # counting this one
    event: NotifyEvent


class OpenClaim(NamedTuple):
    delivery_id: int
    notifier: str
    claim: str
    step: str | None
    attempted_at: str | None


class LastDelivery(NamedTuple):
    """A notifier's latest attempt, for `doctor` and `notify list`."""

    at: str | None
    status: str | None
    outcome: str | None
    waiting: int  # deliveries not sent yet (pending or in flight)


def record_event(
    kind: EventKind,
    dedupe_key: str,
    title: str,
    body: str,
    fleet_id: int | None = None,
    agent_id: int | None = None,
    now: str | None = None,
) -> bool:
    """Record an event unless one with `dedupe_key` exists; inside the caller's transaction,
    where there is one. True when it is new."""
    with database.atomic():
        if NotifyEventRow.select().where(NotifyEventRow.dedupe_key == dedupe_key).exists():
            return False
        NotifyEventRow.insert(
            fleet_id=fleet_id,
            agent_id=agent_id,
            kind=kind.value,
            dedupe_key=dedupe_key,
            title=title,
            body=body,
            created_at=now or utc_now(),
        ).on_conflict_ignore().execute()
    return True


def unfanned_events(limit: int = 200) -> list[tuple[int, EventKind, int | None]]:
    """Events not yet given a delivery per notifier: (id, kind, fleet id), oldest first."""
    query = (
        NotifyEventRow.select(NotifyEventRow.id, NotifyEventRow.kind, NotifyEventRow.fleet_id)
        .where(NotifyEventRow.fanned_out_at.is_null())
        .order_by(NotifyEventRow.id)
        .limit(limit)
    )
    return [(row.id, EventKind(row.kind), row.fleet_id) for row in query]


def fan_out(plan: dict[int, list[str]], now: str | None = None) -> None:
    """One pending delivery per named notifier for each event, and the events marked fanned
    out, in one transaction (a second courier doing the same adds nothing)."""
    now = now or utc_now()
    with database.atomic():
        for event_id, names in plan.items():
            for name in names:
                NotifyDelivery.insert(event=event_id, notifier=name, status=PENDING, next_at=now).on_conflict_ignore().execute()
        if plan:
            NotifyEventRow.update(fanned_out_at=now).where(
                NotifyEventRow.id.in_(list(plan)) & NotifyEventRow.fanned_out_at.is_null()
            ).execute()


def notifiers_waiting() -> dict[str, str]:
    """Notifier name -> the earliest `next_at` of its pending deliveries."""
    query = (
        NotifyDelivery.select(NotifyDelivery.notifier, fn.MIN(NotifyDelivery.next_at))
        .where(NotifyDelivery.status == PENDING)
        .group_by(NotifyDelivery.notifier)
    )
    return dict(cast("list[tuple[str, str]]", list(query.tuples())))


def last_attempt(notifier: str) -> str | None:
    """When a request last went to `notifier` (its rate limit counts from there)."""
    latest = NotifyDelivery.select(fn.MAX(NotifyDelivery.attempted_at)).where(NotifyDelivery.notifier == notifier).scalar()
    return cast("str | None", latest)


def claim(notifier: str, claimer: str, now: str | None = None, limit: int = BATCH) -> list[Claimed]:
    """Claim the due pending deliveries of `notifier` (oldest first, at most `limit`) in one
    transaction; each is this courier's to send until it settles or gives it back."""
    now = now or utc_now()
    with database.atomic():
        ids = [
            row.id
            for row in NotifyDelivery.select(NotifyDelivery.id)
            .where((NotifyDelivery.notifier == notifier) & (NotifyDelivery.status == PENDING) & (NotifyDelivery.next_at <= now))
            .order_by(NotifyDelivery.id)
            .limit(limit)
        ]
        if not ids:
            return []
        NotifyDelivery.update(
            status=SENDING, claim=claimer, step=STEP_CLAIMED, attempts=NotifyDelivery.attempts + 1, attempted_at=now
        ).where(NotifyDelivery.id.in_(ids) & (NotifyDelivery.status == PENDING)).execute()
        return _claimed(ids, claimer)


def _claimed(ids: list[int], claimer: str) -> list[Claimed]:
    rows = list(
        NotifyDelivery.select(NotifyDelivery, NotifyEventRow)
        .join(NotifyEventRow)
        .where(NotifyDelivery.id.in_(ids) & (NotifyDelivery.claim == claimer) & (NotifyDelivery.status == SENDING))
        .order_by(NotifyDelivery.id)
    )
    agent_ids = [row.event.agent_id for row in rows if row.event.agent_id is not None]
    names = {a.id: a.name for a in Agent.select(Agent.id, Agent.name).where(Agent.id.in_(agent_ids))} if agent_ids else {}
    return [
        Claimed(
            row.id,
            row.attempts,
            NotifyEvent(
                row.event.id,
                EventKind(row.event.kind),
                row.event.fleet_id,
                row.event.agent_id,
                names.get(row.event.agent_id) if row.event.agent_id is not None else None,
                row.event.title,
                row.event.body,
                row.event.created_at,
            ),
        )
        for row in rows
    ]


def mark_posted(delivery_ids: list[int], claimer: str) -> None:
    """The request left: from now on a restart counts these as sent."""
    with database.atomic():
        NotifyDelivery.update(step=STEP_POSTED).where(
            NotifyDelivery.id.in_(delivery_ids) & (NotifyDelivery.claim == claimer) & (NotifyDelivery.status == SENDING)
        ).execute()


def settle_sent(delivery_ids: list[int], claimer: str, outcome: str, now: str | None = None) -> None:
    now = now or utc_now()
    with database.atomic():
        NotifyDelivery.update(status=SENT, sent_at=now, outcome=outcome, claim=None).where(
            NotifyDelivery.id.in_(delivery_ids) & (NotifyDelivery.claim == claimer) & (NotifyDelivery.status == SENDING)
        ).execute()


def settle_failed(claimed: list[Claimed], claimer: str, error: str, retry_after: dict[int, float | None]) -> None:
    """The attempt failed: each delivery is due again after its back-off (`retry_after`, in
    seconds, by delivery id), or `failed` for good where that is None."""
    now = parse_stamp(utc_now())
    with database.atomic():
        for item in claimed:
            after = retry_after.get(item.delivery_id)
            values = (
                {"status": FAILED, "outcome": f"gave up: {error}"}
                if after is None
                else {"status": PENDING, "outcome": error, "next_at": to_stamp(now + timedelta(seconds=after))}
            )
            NotifyDelivery.update(claim=None, step=None, **values).where(
                (NotifyDelivery.id == item.delivery_id) & (NotifyDelivery.claim == claimer) & (NotifyDelivery.status == SENDING)
            ).execute()


def open_claims() -> list[OpenClaim]:
    """Every delivery some courier holds (`sending`)."""
    query = NotifyDelivery.select(
        NotifyDelivery.id, NotifyDelivery.notifier, NotifyDelivery.claim, NotifyDelivery.step, NotifyDelivery.attempted_at
    ).where(NotifyDelivery.status == SENDING)
    return [OpenClaim(row.id, row.notifier, row.claim or "", row.step, row.attempted_at) for row in query]


def take_over(claim: OpenClaim, now: str | None = None) -> str:
    """Finish a delivery whose courier died: `posted` is sent (its answer was lost with the
    courier), `claimed` goes back to pending. The new status."""
    now = now or utc_now()
    with database.atomic():
        mine = (
            (NotifyDelivery.id == claim.delivery_id) & (NotifyDelivery.claim == claim.claim) & (NotifyDelivery.status == SENDING)
        )
        if claim.step == STEP_POSTED:
            NotifyDelivery.update(
                status=SENT, sent_at=now, claim=None, outcome="sent; its answer was not seen (the courier stopped)"
            ).where(mine).execute()
            return SENT
        NotifyDelivery.update(status=PENDING, claim=None, step=None, next_at=now).where(mine).execute()
        return PENDING


def drop_pending(notifier: str, reason: str) -> int:
    """Settle the deliveries of `notifier` that wait (it was removed) as failed, saying why."""
    with database.atomic():
        return (
            NotifyDelivery.update(status=FAILED, outcome=reason, next_at=utc_now())
            .where((NotifyDelivery.notifier == notifier) & (NotifyDelivery.status == PENDING))
            .execute()
        )


def release(claimer: str) -> int:
    """Give back this courier's claims whose request has not left (it is stopping)."""
    with database.atomic():
        return (
            NotifyDelivery.update(status=PENDING, claim=None, step=None, attempts=NotifyDelivery.attempts - 1)
            .where((NotifyDelivery.claim == claimer) & (NotifyDelivery.status == SENDING) & (NotifyDelivery.step == STEP_CLAIMED))
            .execute()
        )


def last_deliveries(names: list[str]) -> dict[str, LastDelivery]:
    """Each named notifier's latest attempt and how many deliveries still wait."""
    found: dict[str, LastDelivery] = {}
    for name in names:
        latest = (
            NotifyDelivery.select()
            .where((NotifyDelivery.notifier == name) & NotifyDelivery.attempted_at.is_null(False))
            .order_by(NotifyDelivery.attempted_at.desc(), NotifyDelivery.id.desc())
            .first()
        )
        waiting = (
            NotifyDelivery.select()
            .where((NotifyDelivery.notifier == name) & NotifyDelivery.status.in_([PENDING, SENDING]))
            .count()
        )
        found[name] = (
            LastDelivery(latest.attempted_at, latest.status, latest.outcome, waiting)
            if latest is not None
            else LastDelivery(None, None, None, waiting)
        )
    return found


def record_test(notifier: str, event: NotifyEvent, ok: bool, outcome: str, dedupe_key: str) -> None:
    """What `notify test` did, as the notifier's latest delivery (`doctor` shows it)."""
    now = utc_now()
    with database.atomic():
        row = NotifyEventRow.create(
            kind=event.kind.value,
            dedupe_key=dedupe_key,
            title=event.title,
            body=event.body,
            created_at=now,
            fanned_out_at=now,
        )
        NotifyDelivery.create(
            event=row.id,
            notifier=notifier,
            status=SENT if ok else FAILED,
            attempts=1,
            next_at=now,
            attempted_at=now,
            sent_at=now if ok else None,
            outcome=outcome,
        )
