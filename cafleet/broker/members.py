"""The registry side of members: a Director's agents that live in panes it spawned.

Spawning itself (tmux) lives in `cafleet.panes.members`; these functions only touch rows.
"""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.agents import ensure_name_free, validate_description, validate_name
from cafleet.broker.budgets import drop_budget, set_budget
from cafleet.broker.convert import agent_record, agents_with_placements, value_rows
from cafleet.broker.dialect import count_where
from cafleet.broker.guards import active_agent, agent_in_fleet, live_fleet
from cafleet.broker.host_scope import placed_here
from cafleet.core.budget import validate_budget
from cafleet.core.domain import DEFAULT_MONITOR_INTERVALS, AgentKind, AgentStatus, TaskKind, TaskState
from cafleet.core.errors import Field, Fix, Hint, NotFound, Refused
from cafleet.core.hosts import this_host
from cafleet.core.records import AgentRecord, SessionRecord
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, AgentStateRow, MemberSession, MonitorConfig, Placement, Task, Worktree, database
from cafleet.store.orm import fn


class SpawnMark(NamedTuple):
    """Who is spawning a member's pane: the token in the pane's start command and the spawning
    process (pid and identity, to tell later whether it died before recording the pane)."""

    token: str
    pid: int
    identity: str | None


class PendingSpawn(NamedTuple):
    """A member whose pane id was never recorded."""

    member_id: int
    name: str
    fleet_id: int
    director_id: int | None
    tmux_socket: str
    created_at: str
    token: str | None
    spawner_pid: int | None
    spawner_identity: str | None

    @property
    def handle(self) -> str:
        return f"{self.name}#{self.member_id}"


class SpawnReaped(Refused):
    """The member was reaped (its spawn looked dead) before its pane id could be recorded."""

    fix_after = ": "  # the pane was closed: what to do now


class MemberActivity(NamedTuple):
    agent_id: int
    last_sent_at: str | None
    last_received_at: str | None
    last_acked_at: str | None
    unread: int


def director(fleet_id: int, director_id: int) -> AgentRecord:
    """The acting agent, which must be the fleet's root Director, with its placement."""
    fleet = live_fleet(fleet_id)
    agent = active_agent(fleet_id, director_id)
    if agent.kind != AgentKind.DIRECTOR or fleet.director_id != agent.id:
        raise Refused(
            f"agent {director_id} ({agent.name}) is not the Director of fleet {fleet_id}; "
            f"only the Director (agent {fleet.director_id}) can manage members"
        )
    return agents_with_placements(Agent.id == director_id)[0]


def register_member(
    fleet_id: int,
    director_id: int,
    name: str,
    description: str,
    coding_agent: str,
    spawn: SpawnMark | None = None,
    budget: int | None = None,
) -> AgentRecord:
    """A member with a pending placement in the Director's window (pane id set by `attach_pane`),
    on this host: the caller spawns the pane here, beside the Director's. `budget`: its token
    budget (`cafleet.core.budget`)."""
    name = validate_name(name)
    description = validate_description(description)
    with database.atomic():
        boss = director(fleet_id, director_id)
        if boss.placement is None or boss.placement.tmux_pane_id is None:
            raise Refused(f"the Director (agent {director_id}) has no pane to spawn members next to")
        ensure_name_free(fleet_id, name)
        now = utc_now()
        member = Agent.create(
            fleet=fleet_id,
            name=name,
            description=description,
            kind=AgentKind.MEMBER,
            registered_at=now,
        )
        placement = Placement.create(
            agent=member,
            director=director_id,
            coding_agent=coding_agent,
            created_at=now,
            tmux_socket=boss.placement.tmux_socket,
            tmux_server_pid=boss.placement.tmux_server_pid,
            tmux_session=boss.placement.tmux_session,
            tmux_window_id=boss.placement.tmux_window_id,
            tmux_pane_id=None,
            spawn_token=spawn and spawn.token,
            spawner_pid=spawn and spawn.pid,
            spawner_identity=spawn and spawn.identity,
            host=this_host(),
        )
        MonitorConfig.create(agent=member, interval_seconds=DEFAULT_MONITOR_INTERVALS[AgentKind.MEMBER], enabled=True)
        if budget is not None:
            set_budget(member.id, validate_budget(budget))
    return agent_record(member, placement)


def attach_pane(
    member_id: int,
    pane_id: str,
    token: str | None = None,
    session: SessionRecord | None = None,
    window_id: str | None = None,
) -> AgentRecord:
    """Record the spawned pane (and its window, when it is not the Director's), and what its
    agent was started with; `SpawnReaped` if another process reaped the member meanwhile."""
    same_spawn = Placement.spawn_token.is_null() if token is None else (Placement.spawn_token == token)
    window = {"tmux_window_id": window_id} if window_id is not None else {}
    with database.atomic():
        updated = (
            Placement.update(tmux_pane_id=pane_id, created_at=utc_now(), **window)
            .where((Placement.agent == member_id) & Placement.tmux_pane_id.is_null() & same_spawn)
            .execute()
        )
        if updated and session is not None:
            from cafleet.broker.sessions import record_session

            record_session(session)
    if not updated:
        raise SpawnReaped(
            f"member {member_id} was removed (deleted, or reaped as a dead spawn) while its pane {pane_id} "
            "was being spawned; the pane was closed",
            field=Field.MEMBER,
            value=member_id,
            hint=Hint(Fix.SPAWN_AGAIN),
        )
    return agents_with_placements(Agent.id == member_id)[0]


def _pending_query():
    # Only this host's: whether a spawner died, and which panes carry its token, can only be
    # told on the host it ran on.
    return (
        Placement.select(Placement, Agent)
        .join(Agent, on=(Placement.agent == Agent.id))
        .where(
            Placement.tmux_pane_id.is_null()
            & (Agent.kind == AgentKind.MEMBER)
            & (Agent.status == AgentStatus.ACTIVE)
            & placed_here()
        )
    )


def _pending(row: Placement) -> PendingSpawn:
    return PendingSpawn(
        member_id=row.agent.id,
        name=row.agent.name,
        fleet_id=row.agent.fleet_id,
        director_id=row.director_id,
        tmux_socket=row.tmux_socket,
        created_at=row.created_at,
        token=row.spawn_token,
        spawner_pid=row.spawner_pid,
        spawner_identity=row.spawner_identity,
    )


def pending_spawns(director_id: int | None = None) -> list[PendingSpawn]:
    """Members whose pane id is not recorded yet (of one Director, or of everyone)."""
    query = _pending_query()
    if director_id is not None:
        query = query.where(Placement.director == director_id)
    return [_pending(row) for row in query]


def pending_spawn_of(member_id: int) -> PendingSpawn | None:
    row = _pending_query().where(Placement.agent == member_id).first()
    return None if row is None else _pending(row)


def reap_spawn(spawn: PendingSpawn) -> bool:
    """Remove a member whose spawn died, if it is still pending under the same token. It goes
    as if never created, unless messages already name it: then it is deregistered and they stay."""
    with database.atomic():
        same_spawn = Placement.spawn_token.is_null() if spawn.token is None else (Placement.spawn_token == spawn.token)
        still = _pending_query().where((Placement.agent == spawn.member_id) & same_spawn).exists()
        if not still:
            return False
        named = (
            Task.select()
            .where((Task.owner == spawn.member_id) | (Task.sender == spawn.member_id) | (Task.recipient == spawn.member_id))
            .exists()
        )
        if named:
            Agent.update(status=AgentStatus.DEREGISTERED, deregistered_at=utc_now()).where(Agent.id == spawn.member_id).execute()
        _drop_pane_rows(spawn.member_id)
        if not named:
            # Its worktree, if the spawn got that far, stays on disk for git to list (`git worktree list`).
            Worktree.delete().where(Worktree.agent == spawn.member_id).execute()
            MemberSession.delete().where(MemberSession.agent == spawn.member_id).execute()
            drop_budget(spawn.member_id)
            Agent.delete().where(Agent.id == spawn.member_id).execute()
    return True


def _drop_pane_rows(member_id: int) -> None:
    MonitorConfig.delete().where(MonitorConfig.agent == member_id).execute()
    Placement.delete().where(Placement.agent == member_id).execute()
    AgentStateRow.delete().where(AgentStateRow.agent == member_id).execute()


def discard_member(member_id: int) -> None:
    """Undo `register_member` after a failed spawn: the member never existed."""
    with database.atomic():
        _drop_pane_rows(member_id)
        Worktree.delete().where(Worktree.agent == member_id).execute()
        MemberSession.delete().where(MemberSession.agent == member_id).execute()
        drop_budget(member_id)
        Agent.delete().where((Agent.id == member_id) & (Agent.kind == AgentKind.MEMBER)).execute()


def member(fleet_id: int, director_id: int, member_id: int) -> AgentRecord:
    """An active member of this Director; anyone else's pane is not the caller's to drive."""
    director(fleet_id, director_id)
    agent = agent_in_fleet(fleet_id, member_id)
    record = agents_with_placements(Agent.id == member_id)[0]
    if agent.kind != AgentKind.MEMBER or record.placement is None or record.placement.director_id != director_id:
        raise NotFound(
            f"agent {member_id} ({agent.name}) is not a member of Director {director_id}",
            field=Field.MEMBER,
            value=member_id,
            hint=Hint(Fix.FIND_MEMBERS, fleet_id, agent_id=director_id),
        )
    if agent.status != AgentStatus.ACTIVE:
        raise Refused(f"member {member_id} ({agent.name}) is already deregistered")
    return record


def list_members(fleet_id: int, director_id: int) -> list[AgentRecord]:
    director(fleet_id, director_id)
    owned = Placement.select(Placement.agent).where(Placement.director == director_id)
    return agents_with_placements((Agent.id.in_(owned)) & (Agent.status == AgentStatus.ACTIVE))


def activity(member_ids: list[int]) -> dict[int, MemberActivity]:
    """Last sent / received / acked times and unread count per member, in three queries."""
    if not member_ids:
        return {}
    sent = dict(
        value_rows(
            Task.select(Task.sender, fn.MAX(Task.created_at))
            .where(Task.sender.in_(member_ids) & (Task.kind != TaskKind.BROADCAST_SUMMARY))
            .group_by(Task.sender)
        )
    )
    received = {
        owner: (last, acked, unread)
        for owner, last, acked, unread in value_rows(
            Task.select(Task.owner, fn.MAX(Task.created_at), fn.MAX(Task.acked_at), count_where(Task.state == TaskState.UNREAD))
            .where(Task.owner.in_(member_ids) & (Task.kind != TaskKind.BROADCAST_SUMMARY))
            .group_by(Task.owner)
        )
    }
    result = {}
    for member_id in member_ids:
        last_received, last_acked, unread = received.get(member_id, (None, None, 0))
        result[member_id] = MemberActivity(member_id, sent.get(member_id), last_received, last_acked, int(unread or 0))
    return result


def retire_member(fleet_id: int, director_id: int, member_id: int) -> AgentRecord:
    """Deregister a member whose pane is gone; its messages stay."""
    with database.atomic():
        member(fleet_id, director_id, member_id)
        Agent.update(status=AgentStatus.DEREGISTERED, deregistered_at=utc_now()).where(Agent.id == member_id).execute()
        _drop_pane_rows(member_id)
    return agents_with_placements(Agent.id == member_id)[0]
