"""The events the human's notifiers get, worded once here: what happened (a title), what to do
(a body), and the key that makes each episode one event (a question, a hold, an idle spell, a
stall: a restarted courier that sees it again records nothing new)."""

from __future__ import annotations

from typing import NamedTuple, cast

from cafleet.broker.notify_events import record_event
from cafleet.core.notify import EventKind
from cafleet.core.terminal import one_line
from cafleet.core.text import truncate
from cafleet.store.models import Task
from cafleet.store.orm import fn

TITLE_CHARS = 120
BODY_CHARS = 1000


class EventSpec(NamedTuple):
    kind: EventKind
    dedupe_key: str
    title: str
    body: str


def record(spec: EventSpec, fleet_id: int | None, agent_id: int | None) -> bool:
    """Record `spec` in the caller's transaction; True when it is new."""
    return record_event(spec.kind, spec.dedupe_key, spec.title, spec.body, fleet_id, agent_id)


def cut(text: str, limit: int) -> str:
    return truncate(text, limit)[0]


def _title(text: str) -> str:
    return cut(one_line(text), TITLE_CHARS)


def needs_you(handle: str, fleet_id: int, agent_id: int, question: str, since: str, text: str) -> EventSpec:
    return EventSpec(
        EventKind.NEEDS_YOU,
        f"needs-you:{agent_id}:{since}",
        _title(f"{handle} needs you (fleet {fleet_id}): {question or 'a question is showing'}"),
        cut(text, BODY_CHARS),
    )


def held(handle: str, fleet_id: int, agent_id: int, state: str, since: str, text: str) -> EventSpec:
    return EventSpec(
        EventKind.HELD,
        f"held:{agent_id}:{state}:{since}",
        _title(f"{handle} is {state} (fleet {fleet_id})"),
        cut(text, BODY_CHARS),
    )


def unreadable(handle: str, fleet_id: int, agent_id: int, since: str, text: str) -> EventSpec:
    return EventSpec(
        EventKind.UNREADABLE,
        f"unreadable:{agent_id}:{since}",
        _title(f"{handle}'s screen cannot be read (fleet {fleet_id})"),
        cut(text, BODY_CHARS),
    )


def admin_message(sender: str, fleet_id: int, task_id: int, text: str) -> EventSpec:
    return EventSpec(
        EventKind.ADMIN_MESSAGE,
        f"admin-message:{task_id}",
        _title(f"{sender} wrote to you (fleet {fleet_id}, message {task_id})"),
        cut(text, BODY_CHARS),
    )


def idle_unread(handle: str, fleet_id: int, agent_id: int, since: str, unread: int, idle_for: str, command: str) -> EventSpec:
    return EventSpec(
        EventKind.IDLE_UNREAD,
        f"idle-unread:{agent_id}:{since}",
        _title(f"{handle} is idle with {unread} unread message{'s' if unread != 1 else ''} (fleet {fleet_id})"),
        f"{handle} has waited for input for {idle_for} while its messages stay unread. Wake it with: {command}",
    )


def stalled(handle: str, fleet_id: int, agent_id: int, since: str, screen: str, still_for: str, command: str) -> EventSpec:
    return EventSpec(
        EventKind.STALLED,
        f"stalled:{agent_id}:{since}:{screen}",
        _title(f"{handle} seems stalled (fleet {fleet_id})"),
        f"{handle} has been busy with no change on its screen for {still_for}. See it with: {command}",
    )


def budget(handle: str, fleet_id: int, agent_id: int, percent: int, text: str) -> EventSpec:
    return EventSpec(
        EventKind.BUDGET,
        f"budget:{agent_id}:{percent}",
        _title(f"{handle} used {percent} % of its token budget (fleet {fleet_id})"),
        cut(text, BODY_CHARS),
    )


def unread_of(agent_ids: list[int]) -> dict[int, tuple[int, str]]:
    """Agent id -> (unread messages, when the oldest came), for those with any."""
    if not agent_ids:
        return {}
    from cafleet.core.domain import TaskState

    query = (
        Task.select(Task.recipient, fn.COUNT(Task.id), fn.MIN(Task.created_at))
        .where(Task.recipient.in_(agent_ids) & (Task.owner == Task.recipient) & (Task.state == TaskState.UNREAD))
        .group_by(Task.recipient)
    )
    found = cast("list[tuple[int, int, str]]", list(query.tuples()))
    return {recipient: (unread, oldest) for recipient, unread, oldest in found}
