"""`cafleet member …`: the Director spawns, watches, steers and retires member panes."""

from __future__ import annotations

import click

from cafleet.cli.output import agent_json, agent_line, emit, note
from cafleet.cli.params import ID, TEXT, agent_id_option, read_text_file
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, require_fleet
from cafleet.cli.types import Seconds, WholeNumber
from cafleet.core.domain import CODING_AGENTS
from cafleet.core.terminal import one_line
from cafleet.store.db import open_database

CODING_AGENT_CHOICE = click.Choice(CODING_AGENTS)


def director_option(f):
    return agent_id_option(help="Your agent id: the fleet's Director.")(f)


def member_option(f):
    return click.option("--member-id", type=ID, required=True, metavar="ID", help="The member's agent id.")(f)


@click.group("member", cls=CafleetSubgroup)
def member_group():
    """Director only: spawn coding agents into panes and drive them."""


@member_group.command("create", cls=CafleetCommand, keeps_courier=True)
@director_option
@click.option("--name", type=TEXT, required=True, help="The member's name (unique in the fleet, any case).")
@click.option("--description", type=TEXT, required=True, help="One sentence on the member's job.")
@click.option(
    "--coding-agent",
    type=CODING_AGENT_CHOICE,
    default="claude",
    show_default=True,
    help="The coding agent to run in the new pane.",
)
@click.option("--model", type=TEXT, metavar="MODEL", help="Model for the coding agent (opencode: provider/model).")
@click.option(
    "--prompt",
    type=TEXT,
    metavar="TEXT",
    help="Starting prompt; {fleet_id} {agent_id} {director_id} {name} {coding_agent} are filled in.",
)
@click.option("--prompt-file", metavar="FILE", help="Read the starting prompt from FILE ('-' for stdin).")
@click.option(
    "--permission-mode",
    type=TEXT,
    metavar="MODE",
    help="claude: default, acceptEdits, plan, dontAsk (default) or bypassPermissions.",
)
@click.option("--sandbox", type=TEXT, metavar="MODE", help="codex: workspace-write (default) or danger-full-access.")
@click.option("--approval", type=TEXT, metavar="POLICY", help="codex: on-request or never (default).")
@click.option(
    "--agent-arg",
    "agent_args",
    type=TEXT,
    multiple=True,
    metavar="ARG",
    help="Pass ARG to the coding agent as it is (repeatable).",
)
@click.option("--quiet", is_flag=True, help="Print only the new member's id.")
def create_command(
    agent_id, name, description, coding_agent, model, prompt, prompt_file, permission_mode, sandbox, approval, agent_args, quiet
):
    """Spawn a member: a new pane in your window running the coding agent.

    The member may run this fleet's cafleet commands without asking; everything else stays
    governed by your own agent settings and the autonomy options below.
    """
    from cafleet.backends import Autonomy
    from cafleet.panes.members import spawn_member

    fleet_id = require_fleet()
    if prompt is not None and prompt_file is not None:
        raise click.UsageError("give at most one of --prompt or --prompt-file")
    if prompt_file is not None:
        prompt, _ = read_text_file(prompt_file, "--prompt-file")
    open_database()
    autonomy = Autonomy(permission_mode, sandbox, approval, tuple(agent_args))
    spawned = spawn_member(fleet_id, agent_id, name, description, coding_agent, model, prompt, autonomy)
    for reaped in spawned.reaped:
        note(f"Note: {reaped.note()}")
    member = spawned.member
    if quiet:
        click.echo(member.id)
        return
    emit(
        {**agent_json(member), "grants": list(spawned.plan.grants)},
        lambda: "\n".join(
            [
                str(member.id),
                f"Spawned member {member.handle} ({coding_agent}) in pane {member.placement.tmux_pane_id}.",
                *(f"  {grant}" for grant in spawned.plan.grants),
            ]
        ),
    )


@member_group.command("delete", cls=CafleetCommand)
@director_option
@member_option
@click.option("--force", is_flag=True, help="Kill the pane instead of asking the agent to /exit.")
@click.option(
    "--timeout",
    type=Seconds(0.5, 600),
    default=15,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the pane to close.",
)
def delete_command(agent_id, member_id, force, timeout):
    """Close a member's pane (/exit, or --force) and deregister it."""
    from cafleet.panes.members import delete_member

    fleet_id = require_fleet()
    open_database()
    member = delete_member(fleet_id, agent_id, member_id, force, timeout)
    emit(agent_json(member), lambda: f"Deleted member {member.handle}.")


@member_group.command("list", cls=CafleetCommand)
@director_option
@click.option("--activity", is_flag=True, help="Add pane liveness, idle time, last sent/received/acked and unread count.")
def list_command(agent_id, activity):
    """Your members, one line each."""
    from cafleet.broker.members import list_members
    from cafleet.panes.spawn_recovery import reap_dead_spawns

    fleet_id = require_fleet()
    open_database()
    members = list_members(fleet_id, agent_id)
    if any(m.placement is not None and m.placement.pending for m in members):
        for reaped in reap_dead_spawns(agent_id):
            note(f"Note: {reaped.note()}")
        members = list_members(fleet_id, agent_id)
    if not activity:
        emit([agent_json(m) for m in members], lambda: "\n".join(agent_line(m) for m in members) or "No members.")
        return
    from cafleet.panes.activity import member_activity

    rows = member_activity(members)
    emit(
        [{**agent_json(m), "activity": a._asdict()} for m, a in rows],
        lambda: "\n".join(f"{agent_line(m)}\n  {a.summary()}" for m, a in rows) or "No members.",
    )


@member_group.command("capture", cls=CafleetCommand)
@director_option
@member_option
@click.option("--lines", type=WholeNumber(1, 10000), default=40, show_default=True, metavar="N", help="How many lines (1-10000).")
@click.option("--ansi", is_flag=True, help="Keep colours and other ANSI escapes.")
def capture_command(agent_id, member_id, lines, ansi):
    """The last lines of a member's pane, scrollback included."""
    from cafleet.panes.members import capture_member

    fleet_id = require_fleet()
    open_database()
    captured = capture_member(fleet_id, agent_id, member_id, lines, ansi)
    emit({"member_id": member_id, "lines": captured}, lambda: "\n".join(captured), raw=ansi)


@member_group.command("send-input", cls=CafleetCommand)
@director_option
@member_option
@click.option("--choice", type=WholeNumber(1, 3), metavar="N", help="Pick option 1, 2 or 3 of the member's question.")
@click.option("--freetext", type=TEXT, metavar="TEXT", help="Type a one-line answer (not starting with '!').")
def send_input_command(agent_id, member_id, choice, freetext):
    """Answer a member's multiple-choice question."""
    from cafleet.panes.members import send_input

    fleet_id = require_fleet()
    open_database()
    target = send_input(fleet_id, agent_id, member_id, choice, freetext)
    emit(
        {"member_id": member_id, "pane_id": target.state.pane_id, "sent": "choice" if choice else "freetext"},
        lambda: f"Sent {'choice ' + str(choice) if choice else 'answer'} to {target.member.handle}.",
    )


@member_group.command("exec", cls=CafleetCommand)
@director_option
@member_option
@click.argument("command", type=TEXT)
def exec_command(agent_id, member_id, command):
    """Run COMMAND in the member's shell mode (types `! COMMAND` + Enter)."""
    from cafleet.panes.members import exec_command as run_in_pane

    fleet_id = require_fleet()
    open_database()
    target = run_in_pane(fleet_id, agent_id, member_id, command)
    emit(
        {"member_id": member_id, "pane_id": target.state.pane_id, "command": command},
        lambda: f"Typed `! {one_line(command)}` into {target.member.handle}'s pane {target.state.pane_id}.",
    )


@member_group.command("ping", cls=CafleetCommand)
@director_option
@member_option
def ping_command(agent_id, member_id):
    """Type the member's poll command into its pane; exit 1 if that is not possible."""
    from cafleet.panes.members import ping

    fleet_id = require_fleet()
    open_database()
    target = ping(fleet_id, agent_id, member_id)
    emit(
        {"member_id": member_id, "pane_id": target.state.pane_id, "delivered": True},
        lambda: f"Pinged {target.member.handle} in pane {target.state.pane_id}.",
    )
