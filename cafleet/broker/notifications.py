"""Where a message's inline preview should go, and recording how its delivery ended."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.rows import placement_record, task_query
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
    rows = list(task_query().where(Task.id.in_(task_ids) & Task.recipient.is_null(False)).order_by(Task.id))
    recipients = {row["recipient"] for row in rows}
    placements = {p.agent_id: p for p in Placement.select().where(Placement.agent.in_(recipients))}
    jobs: list[PreviewJob] = []
    skipped: dict[int, str] = {}
    for row in rows:
        placement = placements.get(row["recipient"])
        if row["recipient"] == row["sender"]:
            skipped[row["id"]] = "skipped:self"
        elif placement is None:
            skipped[row["id"]] = "skipped:no-placement"
        elif placement.tmux_pane_id is None:
            skipped[row["id"]] = "skipped:pending-placement"
        else:
            jobs.append(
                PreviewJob(
                    task_id=row["id"], sender_id=row["sender"], sender_name=row["from_name"],
                    recipient_id=row["recipient"], created_at=row["created_at"], text=row["text"],
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
