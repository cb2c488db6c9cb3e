"""Fetch-or-raise helpers shared by broker operations. Anything outside the fleet is "not found"."""

from __future__ import annotations

import re

from cafleet.broker.dialect import same_name
from cafleet.core.domain import AgentStatus
from cafleet.core.errors import InvalidInput, NotFound, Refused
from cafleet.core.limits import MAX_ID
from cafleet.core.terminal import one_line
from cafleet.core.timestamps import short
from cafleet.store.models import Agent, Fleet, Task

_ASCII_DIGITS = re.compile(r"[0-9]+")


def any_fleet(fleet_id: int) -> Fleet:
    fleet = Fleet.get_or_none(Fleet.id == fleet_id)
    if fleet is None:
        raise NotFound(
            f"fleet {fleet_id} not found; run `cafleet fleet list` to see fleets "
            "or `cafleet fleet create` (inside tmux) to make one"
        )
    return fleet


def live_fleet(fleet_id: int) -> Fleet:
    fleet = any_fleet(fleet_id)
    if fleet.deleted_at is not None:
        raise Refused(
            f"fleet {fleet_id} was deleted at {short(fleet.deleted_at)}; "
            "create a new one with `cafleet fleet create` or pick one from `cafleet fleet list`"
        )
    return fleet


def agent_in_fleet(fleet_id: int, agent_id: int) -> Agent:
    agent = Agent.get_or_none(Agent.id == agent_id)
    if agent is None or agent.fleet_id != fleet_id:
        raise NotFound(
            f"agent {agent_id} not found in fleet {fleet_id}; "
            f"`cafleet fleet show {fleet_id}` lists its agents"
        )
    return agent


def active_agent(fleet_id: int, agent_id: int) -> Agent:
    """The acting agent (`--agent-id`): it must exist in this fleet and be registered."""
    agent = agent_in_fleet(fleet_id, agent_id)
    if agent.status != AgentStatus.ACTIVE:
        raise Refused(
            f"agent {agent_id} ({agent.name}) was deregistered at {short(agent.deregistered_at)}; "
            f"register again with `cafleet --fleet-id {fleet_id} agent register`"
        )
    return agent


def recipient(fleet_id: int, ref: str) -> Agent:
    """An active agent named by id (`7`), by name (`reviewer`, any case) or both (`reviewer#7`).

    Only ASCII digits make an id: str.isdigit() and int() also take `٦` and `²`, so an agent
    name that merely looks numeric would reach some other agent by its id.
    """
    ref = ref.strip()
    if not ref:
        raise InvalidInput(f"--to is empty; pass an agent id or name (`cafleet fleet show {fleet_id}` lists them)")
    name, sep, number = ref.rpartition("#")
    if sep and name and _ASCII_DIGITS.fullmatch(number):
        agent = recipient(fleet_id, number)
        if agent.name.lower() != name.lower():
            raise NotFound(
                f"--to '{one_line(ref)}': agent {agent.id} is named '{agent.name}', not '{one_line(name)}'; "
                f"pass `--to {agent.name}#{agent.id}`, or `cafleet fleet show {fleet_id}` to find '{one_line(name)}'"
            )
        return agent
    if _ASCII_DIGITS.fullmatch(ref):
        agent_id = int(ref) if len(ref) <= len(str(MAX_ID)) else MAX_ID + 1
        if agent_id > MAX_ID:
            raise InvalidInput(f"--to {ref} is not an id (the largest is {MAX_ID}); pass an agent id or name")
        agent = agent_in_fleet(fleet_id, agent_id)
        if agent.status != AgentStatus.ACTIVE:
            raise Refused(
                f"agent {agent.id} ({agent.name}) is deregistered and cannot receive messages; "
                f"`cafleet fleet show {fleet_id}` lists the active agents"
            )
        return agent
    if ref.lower() == "all":
        raise InvalidInput(
            "--to 'all': there is no agent named all; to reach every other agent use "
            f"`cafleet --fleet-id {fleet_id} message broadcast --agent-id ID --text …`"
        )
    from cafleet.broker.agents import NAME_PATTERN  # agents builds on this module

    if not NAME_PATTERN.fullmatch(ref):
        raise InvalidInput(
            f"--to '{one_line(ref)}' is neither an agent id (digits 0-9) nor an agent name "
            f"(letters, digits, '_', '.', '-'); `cafleet fleet show {fleet_id}` lists the agents"
        )
    agent = (
        Agent.select()
        .where(
            (Agent.fleet == fleet_id)
            & (Agent.status == AgentStatus.ACTIVE)
            & same_name(Agent.name, ref)
        )
        .first()
    )
    if agent is None:
        raise NotFound(
            f"no active agent named '{one_line(ref)}' in fleet {fleet_id}; "
            f"`cafleet fleet show {fleet_id}` lists the agents, pass a name, an id or name#id to --to"
        )
    return agent


def task_in_fleet(fleet_id: int, task_id: int) -> Task:
    """The task's routing and state columns (not its text, which may be a megabyte)."""
    task = (
        Task.select(
            Task.id, Task.fleet, Task.owner, Task.sender, Task.recipient, Task.kind,
            Task.state, Task.state_changed_at, Task.acked_at,
        )
        .where(Task.id == task_id)
        .first()
    )
    if task is None or task.fleet_id != fleet_id:
        raise _task_not_found(fleet_id, task_id)
    return task


def visible_task(fleet_id: int, task_id: int, agent_id: int) -> Task:
    """A task the agent sent or received; any other task is "not found" (no inbox snooping)."""
    task = task_in_fleet(fleet_id, task_id)
    if agent_id not in (task.sender_id, task.recipient_id, task.owner_id):
        raise _task_not_found(fleet_id, task_id)
    return task


def _task_not_found(fleet_id: int, task_id: int) -> NotFound:
    return NotFound(
        f"task {task_id} not found among your messages in fleet {fleet_id}; "
        "`message poll --all` lists the messages you received"
    )
