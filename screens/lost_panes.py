"""The fleet view's warning when its Director's or members' panes are gone, naming the command
that brings them back (`cafleet fleet restore N`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rich.text import Text

from cafleet.core.domain import AgentKind, AgentStatus
from cafleet.core.fleet_loss import PlacedAgent, fleet_loss

from .fleet_data import PaneLook, PaneMark

if TYPE_CHECKING:
    from cafleet.broker.reads import RosterEntry

# Panes this TUI looked at: a pane being spawned has nothing to lose yet, another host's is not seen.
_LOOKED_AT = frozenset({PaneLook.ALIVE, PaneLook.SHOWS_TUI, PaneLook.LOST, PaneLook.GONE})


def loss_warning(fleet_id: int, entries: Mapping[int, RosterEntry], panes: Mapping[int, PaneMark]) -> Text:
    """`⚠ All 4 members' panes are gone (tmux server is not running). Bring them back with:
    cafleet fleet restore 3`;
    empty while no pane is lost. `panes`: the placed agents' marks (a few, however many agents)."""
    placed = []
    for agent_id, pane in panes.items():
        entry = entries.get(agent_id)
        if entry is None or pane.look not in _LOOKED_AT or entry.agent.status != AgentStatus.ACTIVE:
            continue
        agent = entry.agent
        if agent.kind in (AgentKind.DIRECTOR, AgentKind.MEMBER) and agent.placement is not None:
            placed.append(PlacedAgent(agent.id, agent.name, agent.kind, agent.placement.tmux_socket, pane.lost))
    loss = fleet_loss(fleet_id, placed)
    if loss is None:
        return Text()
    what = loss.what()
    fix = loss.fix()
    return Text(f"⚠ {what[0].upper()}{what[1:]} ({loss.why(sockets=False)}). {fix[0].upper()}{fix[1:]}")
