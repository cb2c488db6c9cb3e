"""The registry side of bringing members back after their panes were lost (`fleet restore`,
`member restart`); the tmux side is `cafleet.panes.restore`.

A restore claims a member by writing its own spawn token into the member's placement, but only
while the placement is still the one it looked at (a compare-and-set): of two restores at once,
one wins. It then starts the agent in a pane whose start command carries the token, and records
that pane under the same token. A restore killed in between leaves the token behind; the next
one finds the pane carrying it and adopts it, so no member ever gets two agents.
"""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.convert import agents_with_placements
from cafleet.broker.guards import live_fleet
from cafleet.broker.host_scope import placed_here
from cafleet.broker.members import SpawnMark, director
from cafleet.broker.sessions import record_session
from cafleet.broker.worktrees import worktrees_of
from cafleet.core.domain import LOST_PANE_SKIPS, NOT_ITS_AGENT_SKIP, NOTICE_PENDING, AgentKind, AgentStatus, TaskState
from cafleet.core.errors import Refused
from cafleet.core.hosts import this_host
from cafleet.core.records import AgentRecord, PaneLocation, PlacementRecord, SessionRecord, WorktreeRecord
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, AgentStateRow, Placement, Task, database


class RestoreTarget(NamedTuple):
    """A member as a restore finds it: its placement, who last spawned or restored its pane,
    what resumes its conversation, and its worktree."""

    member: AgentRecord
    spawn_token: str | None
    spawner_pid: int | None
    spawner_identity: str | None
    session: SessionRecord | None
    worktree: WorktreeRecord | None

    @property
    def placement(self) -> PlacementRecord:
        assert self.member.placement is not None  # only placed members are restore targets
        return self.member.placement


def restore_targets(
    fleet_id: int, director_id: int | None = None, member_id: int | None = None
) -> tuple[AgentRecord, list[RestoreTarget]]:
    """The fleet's root Director (which `director_id`, when given, must be), and its active
    members (or just `member_id`) with what restoring each needs."""
    from cafleet.broker.sessions import sessions_of

    if director_id is None:
        director_id = live_fleet(fleet_id).director_id
        if director_id is None:
            raise Refused(f"fleet {fleet_id} has no Director")
    boss = director(fleet_id, director_id)
    owned = Placement.select(Placement.agent).where(Placement.director == director_id)
    condition = Agent.id.in_(owned) & (Agent.status == AgentStatus.ACTIVE) & (Agent.kind == AgentKind.MEMBER)
    if member_id is not None:
        condition &= Agent.id == member_id
    members = [m for m in agents_with_placements(condition) if m.placement is not None]
    ids = [m.id for m in members]
    spawns = {
        row.agent_id: row
        for row in Placement.select(
            Placement.agent, Placement.spawn_token, Placement.spawner_pid, Placement.spawner_identity
        ).where(Placement.agent.in_(ids))
    }
    sessions = sessions_of(ids)
    worktrees = worktrees_of(ids)
    return boss, [
        RestoreTarget(
            member,
            spawns[member.id].spawn_token,
            spawns[member.id].spawner_pid,
            spawns[member.id].spawner_identity,
            sessions.get(member.id),
            worktrees.get(member.id),
        )
        for member in members
    ]


def claim(target: RestoreTarget, mark: SpawnMark) -> bool:
    """Make this process the one restoring the member, if its placement is still as `target`
    saw it. False when another restore (or a spawn) got there first."""
    seen = target.placement
    with database.atomic():
        return bool(
            Placement.update(spawn_token=mark.token, spawner_pid=mark.pid, spawner_identity=mark.identity)
            .where(
                (Placement.agent == target.member.id)
                & _is(Placement.spawn_token, target.spawn_token)
                & _is(Placement.tmux_pane_id, seen.tmux_pane_id)
                & _is(Placement.tmux_server_pid, seen.tmux_server_pid)
                & (Placement.tmux_socket == seen.tmux_socket)
                & placed_here()
            )
            .execute()
        )


def attach(member_id: int, token: str, pane: PaneLocation, session: SessionRecord | None) -> bool:
    """Record the member's new pane and what its agent was started with, and queue again the
    notices it missed while its pane was lost: one transaction. False when the claim under
    `token` was taken over meanwhile (the caller closes its pane)."""
    now = utc_now()
    with database.atomic():
        moved = (
            Placement.update(
                tmux_socket=pane.tmux_socket,
                tmux_server_pid=pane.tmux_server_pid,
                tmux_session=pane.tmux_session,
                tmux_window_id=pane.tmux_window_id,
                tmux_pane_id=pane.tmux_pane_id,
                host=this_host(),
                spawner_pid=None,
                spawner_identity=None,
                created_at=now,
            )
            .where((Placement.agent == member_id) & (Placement.spawn_token == token))
            .execute()
        )
        if not moved:
            return False
        if session is not None:
            record_session(session._replace(restored_at=now, restores=session.restores + 1))
        AgentStateRow.delete().where(AgentStateRow.agent == member_id).execute()  # what its lost pane last showed
        requeue_missed_notices(member_id)
    return True


def move_director(fleet_id: int, director_id: int, seen: PlacementRecord, here: PaneLocation) -> bool:
    """Place the Director in the calling pane, if its placement is still the lost one `seen`."""
    with database.atomic():
        director(fleet_id, director_id)
        moved = (
            Placement.update(
                tmux_socket=here.tmux_socket,
                tmux_server_pid=here.tmux_server_pid,
                tmux_session=here.tmux_session,
                tmux_window_id=here.tmux_window_id,
                tmux_pane_id=here.tmux_pane_id,
                host=this_host(),
            )
            .where(
                (Placement.agent == director_id)
                & (Placement.tmux_socket == seen.tmux_socket)
                & _is(Placement.tmux_server_pid, seen.tmux_server_pid)
                & _is(Placement.tmux_pane_id, seen.tmux_pane_id)
            )
            .execute()
        )
        if moved:
            AgentStateRow.delete().where(AgentStateRow.agent == director_id).execute()
            requeue_missed_notices(director_id)
    return bool(moved)


def requeue_missed_notices(agent_id: int) -> int:
    """Notices of messages still unread that were never typed because the agent's pane was
    gone: due again, for its new pane, in their order."""
    missed = Task.notify_status.in_(LOST_PANE_SKIPS) | Task.notify_status.startswith(NOT_ITS_AGENT_SKIP)
    return (
        Task.update(notify_status=NOTICE_PENDING, notified_at=None, notice_claim=None, notice_step=None, notice_lease_until=None)
        .where((Task.recipient == agent_id) & (Task.state == TaskState.UNREAD) & missed)
        .execute()
    )


def _is(column, value):
    """`column = value`, where None matches NULL."""
    return column.is_null() if value is None else (column == value)


def tell_director(fleet_id: int, director_id: int, text: str) -> int:
    """One message from the fleet's Administrator (the human's side) to its Director; its id."""
    from cafleet.broker.messages import store_unicast

    with database.atomic():
        administrator = Agent.get((Agent.fleet == fleet_id) & (Agent.kind == AgentKind.ADMINISTRATOR))
        return store_unicast(fleet_id, administrator.id, director_id, text, utc_now()).id
