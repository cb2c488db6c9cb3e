"""The agent registry: register, deregister, roster and detail."""

from __future__ import annotations

import json
import math
import re
from typing import cast

from cafleet.broker.convert import agent_record, agents_with_placements
from cafleet.broker.dialect import same_name
from cafleet.broker.guards import active_agent, agent_in_fleet, live_fleet
from cafleet.core.domain import AgentKind, AgentStatus, CodingAgent
from cafleet.core.errors import Conflict, Field, Fix, Hint, InvalidInput, Refused
from cafleet.core.hosts import this_host
from cafleet.core.limits import MAX_SKILLS_CHARS
from cafleet.core.records import AgentRecord, EnvPane, PaneLocation
from cafleet.core.terminal import one_line
from cafleet.core.text import is_blank, refuse_lone_surrogates, truncate
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, AgentStateRow, MonitorConfig, Placement, database

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# `all` is the broadcast mention; `Administrator` is the built-in human agent.
RESERVED_NAMES = ("administrator", "all")
MAX_DESCRIPTION_LEN = 1000
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Skills are a short profile shown on one line (`agent show`, the TUI's agent detail): a list
# of names, or an object of lists, is 2-3 levels. Eight leaves room for any honest shape while
# every reader (json.loads, the TUI) stays far from Python's recursion limit, which a skills
# value ~1000 levels deep used to reach long after it was accepted. The size limit,
# MAX_SKILLS_CHARS (10,000 characters), keeps one agent's profile a few KiB on every roster
# read.
MAX_SKILLS_DEPTH = 8
# What opens or closes a level, or starts or ends a JSON string (whose brackets do not count).
_JSON_STRUCTURE = re.compile(r'[\[\]{}"]')


def validate_name(name: str) -> str:
    """A name usable in `@name` mentions and as a recipient; raises `InvalidInput` otherwise."""
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"agent name {name!r} is not allowed; use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit (e.g. reviewer-1)"
        )
    if name.isdigit():
        raise InvalidInput(f"agent name {name!r} is all digits and would read as an id; add a letter")
    if name.lower() in RESERVED_NAMES:
        raise InvalidInput(f"agent name {name!r} is reserved; choose another name")
    return name


def validate_description(description: str) -> str:
    refuse_lone_surrogates(description, Field.DESCRIPTION)
    description = description.strip()
    if is_blank(description):
        raise _bad_field(Field.DESCRIPTION, "is empty; say in one sentence what the agent does", description)
    if len(description) > MAX_DESCRIPTION_LEN:
        raise InvalidInput(f"description is {len(description)} characters, over the {MAX_DESCRIPTION_LEN} limit; shorten it")
    return description


def parse_skills(skills: str | None) -> str | None:
    """Validate the skills JSON; returns it re-encoded compactly for storage."""
    if skills is None:
        return None
    example = 'pass e.g. \'["review", "tests"]\''
    if len(skills) > MAX_SKILLS_CHARS:
        raise _bad_field(
            Field.SKILLS,
            f"is {len(skills):,} characters, over the {MAX_SKILLS_CHARS:,} limit; describe the skills briefly",
            skills,
        )
    refuse_lone_surrogates(skills, Field.SKILLS)
    shown = one_line(truncate(skills, 60)[0])
    depth = json_depth(skills, MAX_SKILLS_DEPTH + 1)
    if depth > MAX_SKILLS_DEPTH:
        raise _bad_field(
            Field.SKILLS,
            f"'{shown}' is nested more than {MAX_SKILLS_DEPTH} levels deep (the limit is {MAX_SKILLS_DEPTH}); flatten it: {example}",
            skills,
        )
    try:
        value = json.loads(skills, parse_constant=_refuse_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise _bad_field(Field.SKILLS, f"'{shown}' is not valid JSON ({exc.msg}); {example}", skills) from None
    except _NotJsonNumber as exc:
        raise _bad_field(Field.SKILLS, f"'{shown}' is not usable JSON ({exc}); {example}", skills) from None
    except ValueError:  # int() refuses numbers of thousands of digits
        raise _bad_field(
            Field.SKILLS, f"'{shown}' is not usable JSON (a number with too many digits); {example}", skills
        ) from None
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if _LONE_SURROGATE.search(encoded):
        raise _bad_field(
            Field.SKILLS, f"'{shown}' escapes half of a surrogate pair (\\udXXX); write the character itself", skills
        )
    return encoded


def _bad_field(field: Field, problem: str, value: str) -> InvalidInput:
    """A usage error said of `field`: each face puts its name for it first."""
    return InvalidInput(problem, field=field, value=value, names_field=True)


def json_depth(text: str, stop: int) -> int:
    """How deeply the arrays and objects of JSON `text` nest, counted on the raw text without
    parsing it (the parser recurses once per level), up to `stop`. Brackets inside strings do
    not count; malformed text is left for the parser to name."""
    depth = deepest = 0
    in_string = False
    for found in _JSON_STRUCTURE.finditer(text):
        char = found.group()
        if char == '"':
            if not in_string or not _escaped(text, found.start()):
                in_string = not in_string
        elif in_string:
            continue
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest >= stop:
                return deepest
        else:
            depth -= 1
    return deepest


def _escaped(text: str, at: int) -> bool:
    """Whether the character at `at` follows an odd run of backslashes (is escaped)."""
    start = at
    while start > 0 and text[start - 1] == "\\":
        start -= 1
    return (at - start) % 2 == 1


class _NotJsonNumber(ValueError):
    pass


def _refuse_constant(name: str):
    raise _NotJsonNumber(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJsonNumber(f"{text} is too large for a JSON number")
    return value


def ensure_name_free(fleet_id: int, name: str) -> None:
    taken = (
        Agent.select(Agent.id, Agent.name)
        .where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE) & same_name(Agent.name, name))
        .first()
    )
    if taken is not None:
        raise Conflict(
            f"fleet {fleet_id} already has an active agent named {taken.name!r} (agent {taken.id}); "
            "names are unique per fleet regardless of case, choose another"
        )
    _refuse_look_alike(fleet_id, name)


def _refuse_look_alike(fleet_id: int, name: str) -> None:
    """Refuse `name` when it reads like an active agent's name (`coder-I` beside `coder-l`):
    a misread name would route messages to the wrong agent. Only register and create pay
    for this scan of the fleet's active names (and this import: `send` loads this module)."""
    from cafleet.core.names import LOOK_ALIKE_GROUPS, skeleton

    wanted = skeleton(name)
    query = Agent.select(Agent.id, Agent.name).where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE))
    active = cast("list[tuple[int, str]]", list(query.tuples()))
    skeletons = {skeleton(existing): (agent_id, existing) for agent_id, existing in active}
    if wanted not in skeletons:
        return
    agent_id, existing = skeletons[wanted]
    raise Conflict(
        f"agent name {name!r} reads like {existing!r} (agent {agent_id}) of fleet {fleet_id}: names that "
        f"differ only in look-alike characters ({LOOK_ALIKE_GROUPS}) are refused, since a misread name "
        f"reaches the wrong agent; choose a distinct name{_suggestion(name, skeletons)}"
    )


def _suggestion(name: str, taken: dict[str, tuple[int, str]]) -> str:
    from cafleet.core.names import skeleton

    for n in range(2, 100):
        candidate = f"{name[:60]}-{n}"
        if skeleton(candidate) not in taken:
            return f", e.g. {candidate}"
    return ""


def register_agent(
    fleet_id: int,
    name: str,
    description: str,
    skills: str | None = None,
    pane: PaneLocation | None = None,
    coding_agent: str = CodingAgent.CLAUDE,
) -> AgentRecord:
    """Register an agent in a live fleet, placed in `pane` (on this host) when given: its
    notices are typed there, and the pane acts as this agent. Without a pane it only polls."""
    name = validate_name(name)
    description = validate_description(description)
    skills_json = parse_skills(skills)
    with database.atomic():
        live_fleet(fleet_id)
        ensure_name_free(fleet_id, name)
        if pane is not None:
            _refuse_taken_pane(pane, name)
        now = utc_now()
        agent = Agent.create(
            fleet=fleet_id,
            name=name,
            description=description,
            kind=AgentKind.AGENT,
            registered_at=now,
            skills=skills_json,
        )
        placement = None
        if pane is not None:
            placement = place_in_pane(agent, pane, coding_agent, now)
    return agent_record(agent, placement)


def place_in_pane(agent: Agent, pane: PaneLocation, coding_agent: str, now: str) -> Placement:
    """Place `agent` in `pane` of this host, owned by no Director (inside the caller's transaction)."""
    return Placement.create(
        agent=agent,
        director=None,
        coding_agent=coding_agent,
        created_at=now,
        tmux_socket=pane.tmux_socket,
        tmux_server_pid=pane.tmux_server_pid,
        tmux_session=pane.tmux_session,
        tmux_window_id=pane.tmux_window_id,
        tmux_pane_id=pane.tmux_pane_id,
        host=this_host(),
    )


def _refuse_taken_pane(pane: PaneLocation, name: str) -> None:
    from cafleet.broker.identity import agents_in_pane

    here = agents_in_pane(EnvPane(pane.tmux_socket, pane.tmux_server_pid, pane.tmux_pane_id))
    if here:
        taken = here[0]
        raise Conflict(
            f"pane {pane.tmux_pane_id} already is agent {taken.handle} of fleet {taken.fleet_id}",
            field=Field.PANE,
            value=pane.tmux_pane_id,
            hint=Hint(Fix.OWN_PANE, name=name),
        )


def deregister_agent(fleet_id: int, agent_id: int) -> AgentRecord:
    """Soft-deregister; its placement and monitor schedule go, its messages stay."""
    with database.atomic():
        live_fleet(fleet_id)
        agent = active_agent(fleet_id, agent_id)
        if agent.kind == AgentKind.DIRECTOR:
            raise Refused(
                f"agent {agent_id} is the root Director of fleet {fleet_id} and cannot be deregistered",
                field=Field.AGENT,
                value=agent_id,
                hint=Hint(Fix.END_FLEET, fleet_id),
            )
        if agent.kind == AgentKind.ADMINISTRATOR:
            raise Refused(f"agent {agent_id} is the built-in Administrator of fleet {fleet_id} and cannot be deregistered")
        agent.status = AgentStatus.DEREGISTERED
        agent.deregistered_at = utc_now()
        agent.save()
        Placement.delete().where(Placement.agent == agent_id).execute()
        AgentStateRow.delete().where(AgentStateRow.agent == agent_id).execute()
        MonitorConfig.delete().where(MonitorConfig.agent == agent_id).execute()
    return agent_record(agent)


def list_agents(fleet_id: int, agent_id: int, include_deregistered: bool = False) -> list[AgentRecord]:
    """The fleet's roster as seen by an active agent of it."""
    live_fleet(fleet_id)
    active_agent(fleet_id, agent_id)
    condition = Agent.fleet == fleet_id
    if not include_deregistered:
        condition &= Agent.status == AgentStatus.ACTIVE
    return agents_with_placements(condition)


def show_agent(fleet_id: int, agent_id: int, target_id: int) -> AgentRecord:
    live_fleet(fleet_id)
    active_agent(fleet_id, agent_id)
    agent_in_fleet(fleet_id, target_id)
    return agents_with_placements(Agent.id == target_id)[0]
