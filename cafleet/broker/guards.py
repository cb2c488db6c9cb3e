"""Fetch-or-raise helpers shared by broker operations. Anything outside the fleet is "not found"."""

from __future__ import annotations

import re

from cafleet.broker.dialect import same_name
from cafleet.core.domain import AgentStatus
from cafleet.core.errors import CafleetError, Field, Fix, Hint, InvalidInput, NotFound, Refused
from cafleet.core.limits import MAX_ID
from cafleet.core.terminal import one_line
from cafleet.core.timestamps import short
from cafleet.store.models import Agent, Fleet, Task

_ASCII_DIGITS = re.compile(r"[0-9]+")


def any_fleet(fleet_id: int) -> Fleet:
    fleet = Fleet.get_or_none(Fleet.id == fleet_id)
    if fleet is None:
        raise NotFound(f"fleet {fleet_id} not found", field=Field.FLEET, value=fleet_id, hint=Hint(Fix.FIND_FLEET))
    return fleet


def live_fleet(fleet_id: int) -> Fleet:
    fleet = any_fleet(fleet_id)
    if fleet.deleted_at is not None:
        raise Refused(
            f"fleet {fleet_id} was deleted at {short(fleet.deleted_at)}",
            field=Field.FLEET,
            value=fleet_id,
            hint=Hint(Fix.REPLACE_FLEET),
        )
    return fleet


def agent_in_fleet(fleet_id: int, agent_id: int) -> Agent:
    agent = Agent.get_or_none(Agent.id == agent_id)
    if agent is None or agent.fleet_id != fleet_id:
        raise NotFound(
            f"agent {agent_id} not found in fleet {fleet_id}",
            field=Field.AGENT,
            value=agent_id,
            hint=Hint(Fix.FIND_AGENT, fleet_id),
        )
    return agent


def active_agent(fleet_id: int, agent_id: int) -> Agent:
    """The acting agent: it must exist in this fleet and be registered."""
    agent = agent_in_fleet(fleet_id, agent_id)
    if agent.status != AgentStatus.ACTIVE:
        raise Refused(
            f"agent {agent_id} ({agent.name}) was deregistered at {short(agent.deregistered_at)}",
            field=Field.AGENT,
            value=agent_id,
            hint=Hint(Fix.REGISTER_AGAIN, fleet_id),
        )
    return agent


def recipient(fleet_id: int, ref: str) -> Agent:
    """An active agent named by id (`7`), by name (`reviewer`, any case) or both (`reviewer#7`).

    Only ASCII digits make an id: str.isdigit() and int() also take `٦` and `²`, so an agent
    name that merely looks numeric would reach some other agent by its id.
    """
    ref = ref.strip()
    if not ref:
        raise _bad_recipient(InvalidInput, "is empty", ref, Hint(Fix.NAME_RECIPIENT, fleet_id))
    name, sep, number = ref.rpartition("#")
    if sep and name and _ASCII_DIGITS.fullmatch(number):
        agent = recipient(fleet_id, number)
        if agent.name.lower() != name.lower():
            raise _bad_recipient(
                NotFound,
                f"'{one_line(ref)}': agent {agent.id} is named '{agent.name}', not '{one_line(name)}'",
                ref,
                Hint(Fix.USE_HANDLE, fleet_id, name=f"{agent.name}#{agent.id}"),
            )
        return agent
    if _ASCII_DIGITS.fullmatch(ref):
        agent_id = int(ref) if len(ref) <= len(str(MAX_ID)) else MAX_ID + 1
        if agent_id > MAX_ID:
            raise _bad_recipient(InvalidInput, f"{ref} is not an id (the largest is {MAX_ID})", ref, Hint(Fix.NAME_RECIPIENT))
        agent = agent_in_fleet(fleet_id, agent_id)
        if agent.status != AgentStatus.ACTIVE:
            raise Refused(
                f"agent {agent.id} ({agent.name}) is deregistered and cannot receive messages",
                field=Field.RECIPIENT,
                value=ref,
                hint=Hint(Fix.PICK_ACTIVE_RECIPIENT, fleet_id),
            )
        return agent
    if ref.lower() == "all":
        raise _bad_recipient(InvalidInput, "'all': there is no agent named all", ref, Hint(Fix.BROADCAST, fleet_id))
    from cafleet.broker.agents import NAME_PATTERN  # agents builds on this module

    if not NAME_PATTERN.fullmatch(ref):
        raise _bad_recipient(
            InvalidInput,
            f"'{one_line(ref)}' is neither an agent id (digits 0-9) nor an agent name (letters, digits, '_', '.', '-')",
            ref,
            Hint(Fix.CHECK_RECIPIENT, fleet_id),
        )
    agent = (
        Agent.select()
        .where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE) & same_name(Agent.name, ref))
        .first()
    )
    if agent is None:
        raise NotFound(
            f"no active agent named '{one_line(ref)}' in fleet {fleet_id}",
            field=Field.RECIPIENT,
            value=ref,
            hint=Hint(Fix.NAME_KNOWN_RECIPIENT, fleet_id),
        )
    return agent


def _bad_recipient(kind: type[CafleetError], problem: str, ref: str, hint: Hint) -> CafleetError:
    """A refusal said of the recipient: each face puts its name for it first."""
    return kind(problem, field=Field.RECIPIENT, value=ref, hint=hint, names_field=True)


def task_in_fleet(fleet_id: int, task_id: int) -> Task:
    """The task's routing and state columns (not its text, which may be a megabyte)."""
    task = (
        Task.select(
            Task.id,
            Task.fleet,
            Task.owner,
            Task.sender,
            Task.recipient,
            Task.kind,
            Task.state,
            Task.state_changed_at,
            Task.acked_at,
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
        f"task {task_id} not found among your messages in fleet {fleet_id}",
        field=Field.TASK,
        value=task_id,
        hint=Hint(Fix.FIND_RECEIVED),
    )
