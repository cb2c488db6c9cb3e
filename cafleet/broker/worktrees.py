"""The registry side of members' git worktrees: one row per member that has one, kept after the
member leaves until nothing of its worktree is left on disk. git itself runs in `cafleet.git`;
these functions only touch rows."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.convert import agent_record
from cafleet.broker.members import director, member
from cafleet.broker.messages import load_task
from cafleet.broker.revisions import next_revision
from cafleet.core.domain import AgentStatus, TaskKind, TaskState
from cafleet.core.records import AgentRecord, TaskRecord, WorktreeRecord
from cafleet.core.text import validate_body
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, Placement, Task, Worktree, database

# A merge's message is a record in the timeline: stored read and never typed into a pane.
RECORD_ONLY = "skipped:record"


class NewWorktree(NamedTuple):
    """What `record_worktree` stores for a member, besides who it is."""

    path: str
    branch: str
    base_ref: str | None
    base_commit: str
    git_dir: str
    source: str
    host: str | None
    tmux_socket: str | None


def worktree_record(row: Worktree) -> WorktreeRecord:
    return WorktreeRecord(
        agent_id=row.agent_id,
        fleet_id=row.fleet_id,
        director_id=row.director_id,
        path=row.path,
        branch=row.branch,
        base_ref=row.base_ref,
        base_commit=row.base_commit,
        git_dir=row.git_dir,
        source=row.source,
        host=row.host,
        tmux_socket=row.tmux_socket,
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


def record_worktree(member_id: int, worktree: NewWorktree) -> WorktreeRecord:
    """The worktree just made for a member that is being spawned (its placement still pending)."""
    with database.atomic():
        agent = Agent.get_by_id(member_id)
        placement = Placement.get(Placement.agent == member_id)
        row = Worktree.create(
            agent=member_id,
            fleet=agent.fleet_id,
            director=placement.director_id,
            created_at=utc_now(),
            **worktree._asdict(),
        )
    return worktree_record(row)


def forget_worktree(member_id: int) -> None:
    """Drop the row of a worktree that was taken back (a spawn that failed)."""
    Worktree.delete().where(Worktree.agent == member_id).execute()


def worktrees_of(member_ids: list[int]) -> dict[int, WorktreeRecord]:
    """The open worktrees of these members, by member id."""
    if not member_ids:
        return {}
    rows = Worktree.select().where(Worktree.agent.in_(member_ids) & Worktree.closed_at.is_null())
    return {row.agent_id: worktree_record(row) for row in rows}


def member_worktree(fleet_id: int, director_id: int, member_id: int) -> tuple[AgentRecord, WorktreeRecord | None]:
    """An active member of this Director, and its open worktree if it has one."""
    record = member(fleet_id, director_id, member_id)
    return record, worktrees_of([member_id]).get(member_id)


def retired_worktree(fleet_id: int, director_id: int, member_id: int) -> tuple[AgentRecord, WorktreeRecord] | None:
    """A deregistered member of this Director whose worktree or branch is still on disk."""
    director(fleet_id, director_id)
    row = (
        Worktree.select(Worktree, Agent)
        .join(Agent, on=(Worktree.agent == Agent.id))
        .where(
            (Worktree.agent == member_id)
            & (Worktree.fleet == fleet_id)
            & (Worktree.director == director_id)
            & Worktree.closed_at.is_null()
            & (Agent.status == AgentStatus.DEREGISTERED)
        )
        .first()
    )
    return None if row is None else (agent_record(row.agent), worktree_record(row))


def open_worktrees(fleet_id: int) -> list[tuple[AgentRecord, WorktreeRecord]]:
    """Every worktree of the fleet's members (active or not) still on disk, oldest first."""
    rows = (
        Worktree.select(Worktree, Agent)
        .join(Agent, on=(Worktree.agent == Agent.id))
        .where((Worktree.fleet == fleet_id) & Worktree.closed_at.is_null())
        .order_by(Worktree.agent)
    )
    return [(agent_record(row.agent), worktree_record(row)) for row in rows]


def close_worktree(member_id: int) -> None:
    """Nothing of the member's worktree is left on disk: neither the directory nor its branch."""
    Worktree.update(closed_at=utc_now()).where((Worktree.agent == member_id) & Worktree.closed_at.is_null()).execute()


def record_merge(fleet_id: int, director_id: int, member_id: int, text: str) -> TaskRecord:
    """One message in the fleet's timeline, from the Director to the member whose branch it
    merged: stored already read and never typed into a pane (a record, not a request)."""
    text = validate_body(text)
    with database.atomic():
        member(fleet_id, director_id, member_id)
        now = utc_now()
        task = Task.create(
            fleet=fleet_id,
            owner=member_id,
            sender=director_id,
            recipient=member_id,
            kind=TaskKind.UNICAST,
            state=TaskState.ACKED,
            created_at=now,
            state_changed_at=now,
            acked_at=now,
            revision=next_revision(fleet_id),
            text=text,
            notify_status=RECORD_ONLY,
            notified_at=now,
        )
    return load_task(task.id)
