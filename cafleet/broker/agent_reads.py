"""Read model for the TUI's agent detail: one agent with its placement, schedule and counts.

All reads; the TUI calls this from a worker thread.
"""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.agent_states import SeenState, seen_states
from cafleet.broker.convert import agents_with_placements
from cafleet.broker.guards import agent_in_fleet, any_fleet
from cafleet.core.domain import TaskState
from cafleet.core.records import AgentRecord
from cafleet.store.models import Agent, MonitorConfig, Task
from cafleet.store.orm import fn


class AgentDetail(NamedTuple):
    agent: AgentRecord
    fleet_director_id: int | None
    fleet_deleted: bool
    # The monitor schedule; interval None when the agent has none.
    interval_seconds: int | None
    enabled: bool
    last_ping_at: str | None
    unread: int
    seen: SeenState | None = None  # its pane's state as the courier last saw it (placed agents)

    @property
    def director_id(self) -> int | None:
        """Whose member this is (its placement's Director), else the fleet's Director."""
        placement = self.agent.placement
        if placement is not None and placement.director_id is not None:
            return placement.director_id
        return self.fleet_director_id


def agent_detail(fleet_id: int, agent_id: int) -> AgentDetail:
    """The agent (NotFound outside the fleet), deregistered ones included."""
    fleet = any_fleet(fleet_id)
    agent_in_fleet(fleet_id, agent_id)
    record = agents_with_placements(Agent.id == agent_id)[0]
    config = MonitorConfig.get_or_none(MonitorConfig.agent == agent_id)
    unread = Task.select(fn.COUNT(Task.id)).where((Task.owner == agent_id) & (Task.state == TaskState.UNREAD)).scalar()
    return AgentDetail(
        agent=record,
        fleet_director_id=fleet.director_id,
        fleet_deleted=fleet.deleted_at is not None,
        interval_seconds=config.interval_seconds if config else None,
        enabled=bool(config.enabled) if config else False,
        last_ping_at=config.last_ping_at if config else None,
        unread=int(unread or 0),
        seen=seen_states([agent_id]).get(agent_id),
    )
