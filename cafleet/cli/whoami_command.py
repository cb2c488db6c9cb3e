"""`cafleet whoami`: which fleet agent lives in the calling pane (what an agent should act as)."""

from __future__ import annotations

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope, settings
from cafleet.core.errors import Refused


@click.command("whoami", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS, keeps_courier=True)
def whoami_command():
    """Show the fleet id, agent id, name and kind of the agent living in this tmux pane.

    Reads $TMUX and $TMUX_PANE only (no tmux call), so it works inside an agent's sandbox.
    """
    from cafleet.cli.identity import pane_agents
    from cafleet.core.invocation import fleet_command

    pane, here = pane_agents()
    only = settings().fleet_id
    if pane is None:
        raise Refused(
            "this process runs outside tmux, so it is no agent's pane: you act as the human "
            "(any --agent-id); `cafleet fleet show N` lists a fleet's agents"
        )
    mine = [agent for agent in here if only is None or agent.fleet_id == only]
    if not mine:
        of_fleet = f" of fleet {only}" if only is not None else ""
        elsewhere = f" (it is {', '.join(f'{a.handle} of fleet {a.fleet_id}' for a in here)})" if here else ""
        raise Refused(
            f"{pane.describe()} is no agent's placement{of_fleet}{elsewhere}; outside an agent's pane you act as the human"
        )
    if len(mine) > 1:
        raise Refused(
            f"{pane.describe()} directs fleets {', '.join(str(a.fleet_id) for a in mine)}; "
            "say which with `cafleet --fleet-id N whoami`"
        )
    agent = mine[0]
    role = "Director" if agent.is_director else agent.kind
    emit(
        {
            "fleet_id": agent.fleet_id,
            "agent_id": agent.agent_id,
            "name": agent.name,
            "kind": agent.kind,
            "is_director": agent.is_director,
            "coding_agent": agent.coding_agent,
            "pane": pane.tmux_pane_id,
        },
        lambda: (
            f"You are {agent.handle}, {role} of fleet {agent.fleet_id} ({agent.coding_agent} in pane {pane.tmux_pane_id}).\n"
            f"next: {fleet_command(agent.fleet_id)} message poll --agent-id {agent.agent_id}"
        ),
    )
