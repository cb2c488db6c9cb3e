"""Members' saved sessions: recorded at spawn, completed once the agent saved its conversation,
read back when the member is restored (`cafleet.panes.restore`)."""

from __future__ import annotations

import json
from typing import NamedTuple

from cafleet.broker.dialect import upsert
from cafleet.broker.host_scope import placed_here
from cafleet.core.domain import AgentKind, AgentStatus
from cafleet.core.records import SessionRecord
from cafleet.store.models import Agent, Fleet, MemberSession, Placement, database


class UnfoundSession(NamedTuple):
    """A member on this host whose agent picks its own session id, not found yet."""

    session: SessionRecord
    coding_agent: str


def record_session(session: SessionRecord) -> None:
    """What a spawn (or a fresh restart) started the member's agent with."""
    upsert(
        MemberSession,
        agent=session.agent_id,
        session_id=session.session_id,
        marker=session.marker,
        cwd=session.cwd,
        started_at=session.started_at,
        executable=session.executable,
        state_environment=json.dumps(session.state_environment, sort_keys=True),
        prompt=session.prompt,
        model=session.model,
        autonomy=json.dumps(session.autonomy, sort_keys=True),
        restored_at=session.restored_at,
        restores=session.restores,
    )


def found_session(agent_id: int, session_id: str) -> bool:
    """Record the id the agent gave its conversation, unless one is recorded already."""
    with database.atomic():
        return bool(
            MemberSession.update(session_id=session_id)
            .where((MemberSession.agent == agent_id) & MemberSession.session_id.is_null())
            .execute()
        )


def sessions_of(agent_ids: list[int]) -> dict[int, SessionRecord]:
    if not agent_ids:
        return {}
    return {row.agent_id: _record(row) for row in MemberSession.select().where(MemberSession.agent.in_(agent_ids))}


def unfound_sessions() -> list[UnfoundSession]:
    """Active members placed on this host, in live fleets, whose session id is not known yet."""
    waiting = (
        Placement.select(Placement.agent, Placement.coding_agent)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where(
            (Agent.kind == AgentKind.MEMBER)
            & (Agent.status == AgentStatus.ACTIVE)
            & Fleet.deleted_at.is_null()
            & Placement.tmux_pane_id.is_null(False)
            & placed_here()
        )
    )
    coding_agents = {row.agent_id: row.coding_agent for row in waiting}
    rows = MemberSession.select().where(MemberSession.session_id.is_null() & MemberSession.agent.in_(list(coding_agents)))
    return [UnfoundSession(_record(row), coding_agents[row.agent_id]) for row in rows]


def _record(row: MemberSession) -> SessionRecord:
    return SessionRecord(
        agent_id=row.agent_id,
        session_id=row.session_id,
        marker=row.marker,
        cwd=row.cwd,
        started_at=row.started_at,
        executable=row.executable,
        state_environment=json.loads(row.state_environment),
        prompt=row.prompt,
        model=row.model,
        autonomy=json.loads(row.autonomy),
        restored_at=row.restored_at,
        restores=row.restores,
    )
