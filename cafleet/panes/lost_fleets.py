"""The live fleets placed on this host whose Director's or members' panes are gone, as one look
at each tmux server (`list-panes`, or a probe of its socket) finds them (`cafleet doctor`)."""

from __future__ import annotations

from cafleet.broker.agent_states import watched_agents
from cafleet.core.domain import AgentKind
from cafleet.core.fleet_loss import FleetLoss, PlacedAgent, fleet_loss
from cafleet.panes.safety import PaneSurvey
from cafleet.services.lost_servers import lost_because


def fleet_losses(fleet_id: int | None = None) -> list[FleetLoss]:
    """Each fleet (only `fleet_id`, when given) with a lost pane, by fleet id. A member being
    spawned is not counted: it has no pane to lose yet."""
    survey = PaneSurvey()
    placed: dict[int, list[PlacedAgent]] = {}
    for agent in watched_agents():
        placement = agent.placement
        if fleet_id not in (None, agent.fleet_id) or placement.pending:
            continue
        if agent.kind not in (AgentKind.DIRECTOR, AgentKind.MEMBER):
            continue
        problem, _ = survey.problem(placement)
        lost = lost_because(placement, problem)
        placed.setdefault(agent.fleet_id, []).append(
            PlacedAgent(agent.agent_id, agent.name, agent.kind, placement.tmux_socket, lost)
        )
    losses = (fleet_loss(fleet, agents) for fleet, agents in sorted(placed.items()))
    return [loss for loss in losses if loss is not None]
