"""Who may act as whom: an agent's own pane can only act as that agent.

This catches mistakes and confusion between cooperating agents (a member that copies the
Director's id, an agent that answers as the Administrator); it is no defence against a
hostile local process, which can change its environment or open the database itself.
"""

from __future__ import annotations

from cafleet.core.errors import Refused


def pane_agents():
    """The agents placed in the calling pane: empty outside tmux or in a pane that is no
    agent's placement (the human's own shell)."""
    from cafleet.panes.calling_pane import pane_from_env

    pane = pane_from_env()
    if pane is None:
        return pane, []
    from cafleet.broker.identity import agents_in_pane
    from cafleet.store.db import open_database

    open_database()
    return pane, agents_in_pane(pane)


def confirm_acting_agent(agent_id: int) -> None:
    """Refuse an `--agent-id` that is not one of the agents living in the calling pane."""
    pane, here = pane_agents()
    if not here or any(agent.agent_id == agent_id for agent in here):
        return
    yourself = here[0]
    raise Refused(
        f"--agent-id {agent_id}{_named(agent_id, here)} is not you: this {pane.describe()} is "
        f"{_who(here)}; act as yourself with --agent-id {yourself.agent_id} "
        f"(`cafleet --fleet-id {yourself.fleet_id} whoami` shows it). Only the human, "
        "outside every agent's pane, may act as another agent"
    )


def confirm_director_pane(fleet_id: int, command: str) -> None:
    """Refuse a Director-only command run from the pane of an agent that is not that Director."""
    pane, here = pane_agents()
    if not here or any(agent.is_director and agent.fleet_id == fleet_id for agent in here):
        return
    yourself = here[0]
    raise Refused(
        f"`cafleet {command}` is for the Director of fleet {fleet_id} (or the human outside "
        f"every agent's pane), and this {pane.describe()} is {_who(here)}; ask your Director: "
        f"`cafleet --fleet-id {yourself.fleet_id} message send --agent-id {yourself.agent_id} "
        "--to director --text ...`"
    )


def _who(agents) -> str:
    return " and ".join(
        f"{agent.handle} ({'Director' if agent.is_director else agent.kind} of fleet {agent.fleet_id})" for agent in agents
    )


def _named(agent_id: int, here) -> str:
    """Who `agent_id` is, when it is an agent of a fleet the calling pane belongs to; nothing
    otherwise: another fleet's agents (their names, kinds, even whether an id exists) are not
    the caller's to learn, so one there reads like an id that does not exist."""
    from cafleet.broker.identity import agent_of_fleets

    other = agent_of_fleets(agent_id, {agent.fleet_id for agent in here})
    return f" ({other.handle}, {other.kind} of fleet {other.fleet_id})" if other else ""
