"""The CLI's words for a refused request: the flag that names each field, the command each fix
runs. The broker says what is wrong and which fix helps (`cafleet.core.errors`); this is
where the CLI turns that into the `Error: …` line it prints."""

from __future__ import annotations

from cafleet.core.errors import CafleetError, Field, Fix, Hint
from cafleet.core.terminal import one_line

FLAGS: dict[Field, str] = {
    Field.FLEET: "--fleet-id",
    Field.AGENT: "--agent-id",
    Field.RECIPIENT: "--to",
    Field.SENDER: "--from",
    Field.QUERY: "QUERY",
    Field.TASK: "--task-id",
    Field.MEMBER: "--member-id",
    Field.DESCRIPTION: "--description",
    Field.SKILLS: "--skills",
    Field.LABEL: "--label",
}

# Each fix as the command that does it. Slots: {fleet}, {agent_id}, {name} from the hint;
# {wanted}, the name part of a `NAME#ID` that named the wrong agent.
FIXES: dict[Fix, str] = {
    Fix.FIND_FLEET: "run `cafleet fleet list` to see fleets or `cafleet fleet create` (inside tmux) to make one",
    Fix.REPLACE_FLEET: "create a new one with `cafleet fleet create` or pick one from `cafleet fleet list`",
    Fix.FIND_AGENT: "`cafleet fleet show {fleet}` lists its agents",
    Fix.REGISTER_AGAIN: "register again with `cafleet --fleet-id {fleet} agent register`",
    Fix.NAME_RECIPIENT: "pass an agent id or name",
    Fix.CHECK_RECIPIENT: "`cafleet fleet show {fleet}` lists the agents",
    Fix.NAME_KNOWN_RECIPIENT: "`cafleet fleet show {fleet}` lists the agents, pass a name, an id or name#id to --to",
    Fix.PICK_ACTIVE_RECIPIENT: "`cafleet fleet show {fleet}` lists the active agents",
    Fix.USE_HANDLE: "pass `--to {name}`, or `cafleet fleet show {fleet}` to find '{wanted}'",
    Fix.BROADCAST: "to reach every other agent use `cafleet --fleet-id {fleet} message broadcast --agent-id ID --text …`",
    Fix.FIND_RECEIVED: "`message poll --all` lists the messages you received",
    Fix.FIND_MEMBERS: "`cafleet --fleet-id {fleet} member list --agent-id {agent_id}` lists them",
    Fix.FIND_ANY_SENDER: "`cafleet fleet show {fleet}` lists its agents (deregistered ones too)",
    Fix.SEARCH_WORDS: 'give letters or digits, e.g. `message search parser` or `message search "exact phrase"`',
    Fix.SPAWN_AGAIN: "run `member create` again",
    Fix.END_FLEET: "end the fleet with `cafleet fleet delete {fleet}` instead",
    Fix.OWN_PANE: "register {name} from its own pane, or with --no-pane to register it without one",
    Fix.KEEP_PANE_FLEET: (
        "keep using it (`cafleet --fleet-id {fleet} whoami`), or pass --force to direct a second fleet "
        "from this pane, or end that one first with `cafleet fleet delete {fleet}`"
    ),
}


def error_text(error: CafleetError) -> str:
    """What follows `Error: ` for `error`, in the CLI's terms."""
    field = FLAGS.get(error.field, error.field.value) if error.field is not None else ""
    fix = _fix_text(error.hint, error.value) if error.hint is not None else ""
    return error.worded(field, fix)


def _fix_text(hint: Hint, value: str | int | None) -> str:
    if hint.fix is Fix.NAME_RECIPIENT and hint.fleet_id is not None:
        # Knowing the fleet, point to where its agents are listed.
        return f"{FIXES[hint.fix]} (`cafleet fleet show {hint.fleet_id}` lists them)"
    wanted = one_line(str(value).rpartition("#")[0]) if hint.fix is Fix.USE_HANDLE else ""
    return FIXES[hint.fix].format(fleet=hint.fleet_id, agent_id=hint.agent_id, name=hint.name, wanted=wanted)
