"""Where a message's inline preview should go, and recording how its delivery ended."""

from __future__ import annotations

from typing import NamedTuple

from peewee import JOIN

from cafleet.broker.rows import Sender, placement_record
from cafleet.models import Placement, Task, database
from cafleet.records import PlacementRecord
from cafleet.timestamps import utc_now


class PreviewJob(NamedTuple):
    task_id: int
    sender_id: int
    sender_name: str
    recipient_id: int
    created_at: str
    text: str
    placement: PlacementRecord


def plan_previews(task_ids: list[int]) -> list[PreviewJob]:
    """Record the outcome of every task that needs no tmux to decide (self-send, no pane,
    pending pane) and return the ones that must be typed into a pane."""
    jobs, skipped = preview_jobs(task_ids)
    record_outcomes(skipped)
    return jobs


def preview_jobs(task_ids: list[int]) -> tuple[list[PreviewJob], dict[int, str]]:
    """The tasks whose preview goes to a pane, and the skip reason of every other task."""
    rows = (
        Task.select(Task.id, Task.sender, Task.recipient, Task.created_at, Task.text, Sender.name.alias("sender_name"), Placement)
        .join_from(Task, Sender, on=(Task.sender == Sender.id))
        .join_from(Task, Placement, JOIN.LEFT_OUTER, on=(Placement.agent == Task.recipient), attr="placement_row")
        .where(Task.id.in_(task_ids) & Task.recipient.is_null(False))
        .order_by(Task.id)
    )
    jobs: list[PreviewJob] = []
    skipped: dict[int, str] = {}
    for task in rows:
        placement = getattr(task, "placement_row", None)
        if placement is not None and placement.tmux_socket is None:
            placement = None
        if task.recipient_id == task.sender_id:
            skipped[task.id] = "skipped:self"
        elif placement is None:
            skipped[task.id] = "skipped:no-placement"
        elif placement.tmux_pane_id is None:
            skipped[task.id] = "skipped:pending-placement"
        else:
            jobs.append(
                PreviewJob(
                    task_id=task.id, sender_id=task.sender_id, sender_name=task.sender_name,
                    recipient_id=task.recipient_id, created_at=task.created_at, text=task.text,
                    placement=placement_record(placement),
                )
            )
    return jobs, skipped


def record_outcomes(outcomes: dict[int, str]) -> None:
    """Store `notify_status` (`delivered` / `skipped:<why>` / `failed:<why>`) for each task."""
    if not outcomes:
        return
    now = utc_now()
    with database.atomic():
        for task_id, status in outcomes.items():
            Task.update(notify_status=status, notified_at=now).where(Task.id == task_id).execute()
