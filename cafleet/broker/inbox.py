"""Reading an inbox: one page of messages, and the long poll that waits for the first one."""

from __future__ import annotations

import time

from cafleet.broker.convert import task_query, task_record
from cafleet.broker.guards import active_agent, live_fleet
from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.records import Inbox
from cafleet.store.changes import open_feed
from cafleet.store.models import Task

DEFAULT_PAGE_SIZE = 20


def poll_inbox(
    fleet_id: int,
    agent_id: int,
    since: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    include_read: bool = False,
) -> Inbox:
    """Messages to `agent_id`, oldest first: unread ones, or all of them with `include_read`."""
    live_fleet(fleet_id)
    active_agent(fleet_id, agent_id)
    return _read_page(agent_id, since, page_size, include_read)


def wait_for_inbox(
    fleet_id: int,
    agent_id: int,
    wait_seconds: float,
    since: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    include_read: bool = False,
) -> Inbox:
    """Like `poll_inbox`, but block up to `wait_seconds` until the page is non-empty.

    Re-queries only when another process has committed (`cafleet.store.changes`), so waiting costs
    almost nothing and a new message is seen within moments of its commit.
    """
    feed = open_feed()
    try:
        inbox = poll_inbox(fleet_id, agent_id, since, page_size, include_read)
        deadline = time.monotonic() + wait_seconds
        while not inbox.tasks and (left := deadline - time.monotonic()) > 0:
            if feed.wait(left):
                inbox = poll_inbox(fleet_id, agent_id, since, page_size, include_read)
    finally:
        feed.close()
    return inbox


def _read_page(agent_id: int, since: str | None, page_size: int, include_read: bool) -> Inbox:
    condition = (Task.owner == agent_id) & (Task.kind != TaskKind.BROADCAST_SUMMARY)
    if not include_read:
        condition &= Task.state == TaskState.UNREAD
    if since is not None:
        condition &= Task.created_at >= since
    # created_at order is id order (both are assigned under the write lock); ordering by
    # created_at lets the (owner, [state,] created_at) indexes serve --since without a sort.
    rows = list(task_query().where(condition).order_by(Task.created_at, Task.id).limit(page_size + 1))
    if len(rows) <= page_size:
        return Inbox(tasks=tuple(task_record(r) for r in rows), remaining=0, next_since=None)
    total = Task.select().where(condition).count()
    return Inbox(
        tasks=tuple(task_record(r) for r in rows[:page_size]),
        remaining=total - page_size,
        next_since=rows[page_size]["created_at"],
    )
