"""Which fleet agents live in a given tmux pane: how a command learns who is calling it."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.host_scope import placed_here
from cafleet.core.domain import AgentStatus
from cafleet.core.records import EnvPane
from cafleet.store.models import Agent, Fleet, Placement


class PaneAgent(NamedTuple):
    """An active agent of a live fleet whose placement is the calling pane."""

    fleet_id: int
    agent_id: int
    name: str
    kind: str
    coding_agent: str
    is_director: bool

    @property
    def handle(self) -> str:
        return f"{self.name}#{self.agent_id}"


def agents_in_pane(pane: EnvPane) -> list[PaneAgent]:
    """Usually one agent; a pane that directs several fleets (`fleet create --force`) has more."""
    rows = (
        Placement.select(Placement, Agent, Fleet)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where(
            (Placement.tmux_socket == pane.tmux_socket)
            & (Placement.tmux_pane_id == pane.tmux_pane_id)
            & (Agent.status == AgentStatus.ACTIVE)
            & Fleet.deleted_at.is_null()
            & placed_here()  # socket paths and pane ids repeat on every machine
        )
        .order_by(Agent.id)
    )
    return [
        PaneAgent(
            fleet_id=row.agent.fleet.id,
            agent_id=row.agent.id,
            name=row.agent.name,
            kind=row.agent.kind,
            coding_agent=row.coding_agent,
            is_director=row.agent.fleet.director_id == row.agent.id,
        )
        for row in rows
        # Pane ids start again at %0 on a new server with the same socket: a placement
        # recorded on an earlier server is not this pane.
        if pane.tmux_server_pid is None or row.tmux_server_pid in (None, pane.tmux_server_pid)
    ]


def agent_of_fleets(agent_id: int, fleet_ids: set[int]) -> PaneAgent | None:
    """Agent `agent_id` when it belongs to one of `fleet_ids` (a caller's own fleets), else
    None: whether another fleet's id exists is not the caller's to learn."""
    agent = Agent.get_or_none((Agent.id == agent_id) & Agent.fleet.in_(sorted(fleet_ids)))
    if agent is None:
        return None
    return PaneAgent(
        fleet_id=agent.fleet_id,
        agent_id=agent.id,
        name=agent.name,
        kind=agent.kind,
        coding_agent="",
        is_director=False,
    )
