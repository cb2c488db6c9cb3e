"""`cafleet agent …`: register, deregister, list and show agents of a fleet."""

from __future__ import annotations

import click

from cafleet.cli.output import agent_json, agent_line, emit, note
from cafleet.cli.params import ID, TEXT, agent_id_option, quiet_option
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, require_fleet
from cafleet.core.domain import CODING_AGENTS
from cafleet.store.db import open_database


@click.group("agent", cls=CafleetSubgroup)
def agent_group():
    """Register agents and look at the fleet's roster."""


@agent_group.command("register", cls=CafleetCommand, keeps_courier=True)
@click.option("--name", type=TEXT, required=True, help="Unique in the fleet (any case); used in --to NAME and @name.")
@click.option("--description", type=TEXT, required=True, help="One sentence on what this agent does.")
@click.option("--skills", type=TEXT, metavar="JSON", help="Optional JSON describing the agent's skills.")
@click.option(
    "--coding-agent",
    type=click.Choice(CODING_AGENTS),
    help="The coding agent running in the calling pane (default: the one found running there).",
)
@click.option("--no-pane", is_flag=True, help="Register without a pane even when run by a coding agent in tmux.")
@quiet_option
def register_command(name: str, description: str, skills: str | None, coding_agent: str | None, no_pane: bool, quiet: bool):
    """Register an agent; prints its id.

    Run by a coding agent in a tmux pane that is no agent's yet, the pane becomes the new
    agent's own (its notices are typed there, on this host). From a shell, outside tmux, from
    another agent's pane, or with --no-pane, the agent has no pane.
    """
    from cafleet.broker.agents import register_agent

    fleet_id = require_fleet()
    open_database()
    placed = None if no_pane else _agent_pane(name, coding_agent)
    pane, running = placed if placed is not None else (None, "claude")
    agent = register_agent(fleet_id, name, description, skills, pane=pane, coding_agent=running)
    if quiet:
        click.echo(agent.id)
        return
    emit(agent_json(agent), lambda: str(agent.id))


def _agent_pane(name: str, coding_agent: str | None):
    """The calling pane and the coding agent in it, when a coding agent runs in a pane that is
    no agent's placement yet; else None (outside tmux; a Director registering a helper from
    its own pane; a human's shell, which gets a note)."""
    from cafleet.cli.identity import pane_agents
    from cafleet.panes.calling_pane import calling_pane

    pane, here = pane_agents()
    if pane is None or here:
        return None
    location = calling_pane("agent register")
    from cafleet.panes.pane_program import STANDIN, pane_program

    program = pane_program(location)
    if program.coding_agent is None:
        note(
            f"Note: {program.describe(location.tmux_pane_id)}: {name} is registered without a pane "
            "(an agent that runs `agent register` itself gets its own pane)"
        )
        return None
    detected = None if program.coding_agent == STANDIN else program.coding_agent
    return location, coding_agent or detected or "claude"


@agent_group.command("deregister", cls=CafleetCommand)
@agent_id_option(help="The agent to deregister (yourself).")
def deregister_command(agent_id: int):
    """Deregister an agent; its messages are kept. Refused for the Director and Administrator."""
    from cafleet.broker.agents import deregister_agent

    fleet_id = require_fleet()
    open_database()
    agent = deregister_agent(fleet_id, agent_id)
    emit(agent_json(agent), lambda: f"Deregistered agent {agent.handle}.")


@agent_group.command("list", cls=CafleetCommand)
@agent_id_option()
@click.option("--all", "include_all", is_flag=True, help="Include deregistered agents.")
@click.option("--full", is_flag=True, help="Under --json, print every field of each agent (placement, times, skills).")
def list_command(agent_id: int, include_all: bool, full: bool):
    """The fleet's roster, one line per agent: id, name, kind, status, pane, description."""
    from cafleet.broker.agents import list_agents

    fleet_id = require_fleet()
    open_database()
    agents = list_agents(fleet_id, agent_id, include_all)
    if full:
        document = [agent_json(a) for a in agents]
    else:
        from cafleet.cli.lean import brief_agent

        document = [brief_agent(a) for a in agents]
    emit(document, lambda: "\n".join(agent_line(a) for a in agents))


@agent_group.command("show", cls=CafleetCommand)
@agent_id_option()
@click.option("--id", "target_id", type=ID, required=True, metavar="ID", help="The agent to show.")
def show_command(agent_id: int, target_id: int):
    """One agent in detail, with its placement."""
    from cafleet.broker.agents import show_agent

    fleet_id = require_fleet()
    open_database()
    from cafleet.broker.agent_states import seen_states
    from cafleet.cli.hold_output import hold_json
    from cafleet.services.lost_servers import seen_now

    agent = show_agent(fleet_id, agent_id, target_id)
    seen = seen_now(agent.id, seen_states([agent.id]).get(agent.id), agent.placement)
    state = (
        None
        if seen is None
        else {
            "state": seen.state.value,
            "reason": seen.reason,
            "question": seen.question,
            "changed_at": seen.changed_at,
            "hold": hold_json(seen),
        }
    )
    emit({**agent_json(agent), "state": state}, lambda: _detail(agent, seen))


def _detail(agent, seen=None) -> str:
    from cafleet.core.terminal import json_text, one_line
    from cafleet.core.timestamps import short

    lines = [
        agent_line(agent),
        f"  registered={short(agent.registered_at)}"
        + (f" deregistered={short(agent.deregistered_at)}" if agent.deregistered_at else ""),
    ]
    if agent.description:
        lines.append(f"  description: {one_line(agent.description)}")
    if agent.skills is not None:
        import json

        lines.append(f"  skills: {json_text(json.dumps(agent.skills, ensure_ascii=False))}")
    placement = agent.placement
    if placement is not None:
        lines.append(
            f"  placement: {placement.coding_agent} pane={one_line(placement.tmux_pane_id or 'pending')} "
            f"window={one_line(placement.tmux_window_id)} session={one_line(placement.tmux_session)} "
            f"socket={one_line(placement.tmux_socket)}"
            + (f" director={placement.director_id}" if placement.director_id else "")
            + (f" host={one_line(placement.host)}" if placement.host else "")
        )
    if seen is not None:
        from cafleet.cli.hold_output import hold_words

        why = f" ({one_line(seen.reason)})" if seen.reason else ""
        asks = f": {one_line(seen.question)}" if seen.question else ""
        held = hold_words(seen)
        lines.append(f"  state: {seen.state}{why}{asks} since {short(seen.changed_at)}" + (f"; {held}" if held else ""))
    return "\n".join(lines)
