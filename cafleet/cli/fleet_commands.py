"""`cafleet fleet …`: create a fleet from the calling pane, list, show, delete."""

from __future__ import annotations

import click

from cafleet.cli.output import agent_json, agent_line, emit, fleet_json, fleet_line, quoted
from cafleet.cli.params import ID, TEXT
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, FleetScope, settings
from cafleet.core.domain import CODING_AGENTS
from cafleet.store.db import open_database

CODING_AGENT_CHOICE = click.Choice(CODING_AGENTS)


@click.group("fleet", cls=CafleetSubgroup)
def fleet_group():
    """Create, list, show and delete fleets."""


@fleet_group.command("create", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE, keeps_courier=True)
@click.option("--label", type=TEXT, default="", help="A human-readable label for the fleet.")
@click.option(
    "--coding-agent",
    type=CODING_AGENT_CHOICE,
    default="claude",
    show_default=True,
    help="The coding agent running in the calling pane (the Director's).",
)
@click.option("--quiet", is_flag=True, help="Print only the new fleet id.")
@click.option("--force", is_flag=True, help="Create it even though this pane already directs (or is an agent of) a live fleet.")
def create_command(label: str, coding_agent: str, quiet: bool, force: bool):
    """Create a fleet whose root Director is the calling tmux pane.

    Prints the fleet id on line 1 and the Director's agent id on line 2.
    """
    from cafleet.broker.fleets import create_fleet
    from cafleet.panes.calling_pane import calling_pane

    pane = calling_pane("fleet create")
    open_database()
    created = create_fleet(pane, label=label, coding_agent=coding_agent, force=force)
    if quiet:
        click.echo(created.fleet.id)
        return
    fleet, director, admin = created.fleet, created.director, created.administrator
    placement = director.placement
    assert placement is not None  # create_fleet places its Director in the calling pane
    emit(
        {
            "fleet_id": fleet.id,
            "label": fleet.label,
            "created_at": fleet.created_at,
            "director": agent_json(director),
            "administrator_agent_id": admin.id,
        },
        lambda: "\n".join(
            [
                str(fleet.id),
                str(director.id),
                f"fleet {fleet.id} {quoted(fleet.label)}: director {director.handle} "
                f"in pane {placement.tmux_pane_id} (session {placement.tmux_session}, "
                f"window {placement.tmux_window_id}, {coding_agent}); administrator {admin.handle}",
                f"next: cafleet --fleet-id {fleet.id} message poll --agent-id {director.id}",
            ]
        ),
    )


@fleet_group.command("list", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
def list_command():
    """List fleets that are not deleted: id, label, active agents, unread messages, created.

    With --fleet-id N, only fleet N.
    """
    from cafleet.broker.fleets import list_fleets

    open_database()
    only = settings().fleet_id
    fleets = [f for f in list_fleets() if only is None or f.id == only]
    emit(
        [fleet_json(f) for f in fleets],
        lambda: "\n".join(fleet_line(f) for f in fleets) or "No fleets yet; run `cafleet fleet create` inside tmux to make one.",
    )


@fleet_group.command("show", cls=CafleetCommand, fleet_scope=FleetScope.NAMES_FLEET)
@click.argument("fleet_id", type=ID, metavar="N")
def show_command(fleet_id: int):
    """Show fleet N (deleted ones too) and all of its agents."""
    from cafleet.broker.fleets import show_fleet

    open_database()
    fleet, agents = show_fleet(fleet_id)
    emit(
        {**fleet_json(fleet), "agents": [agent_json(a) for a in agents]},
        lambda: "\n".join([fleet_line(fleet)] + ["  " + agent_line(a) for a in agents]),
    )


@fleet_group.command("usage", cls=CafleetCommand, fleet_scope=FleetScope.NAMES_FLEET)
@click.argument("fleet_id", type=ID, metavar="N")
@click.option(
    "--since",
    type=TEXT,
    metavar="WHEN",
    help="Only answers from WHEN on: an ISO-8601 time (UTC if no offset), or a time ago such as 90m, 2h or 3d.",
)
@click.option(
    "--by", type=click.Choice(["hour", "day"]), default="hour", show_default=True, help="The periods of the table over time."
)
def usage_command(fleet_id: int, since: str | None, by: str):
    """What fleet N's members spent: tokens and estimated cost per member (deleted members too),
    in total, and per hour or day, read from each agent's own files (see `member list --usage`)."""
    from cafleet.broker.fleets import show_fleet
    from cafleet.cli.usage_output import fleet_usage_json, fleet_usage_lines, since_seconds
    from cafleet.core.prices import load_prices
    from cafleet.panes.fleet_usage import fleet_usage

    start = since_seconds(since) if since is not None else None
    prices = load_prices()
    open_database()
    fleet, agents = show_fleet(fleet_id)
    spent = fleet_usage(agents, prices, start, by)
    emit(fleet_usage_json(fleet, spent, start, by), lambda: "\n".join(fleet_usage_lines(fleet, spent, start, by)))


@fleet_group.command("delete", cls=CafleetCommand, fleet_scope=FleetScope.NAMES_FLEET, director_only=True)
@click.argument("fleet_id", type=ID, metavar="N")
@click.option(
    "--discard",
    is_flag=True,
    help="Also remove members' worktrees with uncommitted files and branches with unmerged commits (that work is lost).",
)
def delete_command(fleet_id: int, discard: bool):
    """Soft-delete fleet N: deregister its agents, keep its messages. Safe to repeat.

    Members' worktrees are let go as `member delete` does: a worktree is removed only when
    nothing in it is uncommitted and no pane works in it, a branch only when its base holds
    every change on it. Run it again to remove what was kept once that is no longer so.
    """
    from cafleet.broker.fleets import delete_fleet, show_fleet
    from cafleet.broker.worktrees import open_worktrees
    from cafleet.panes.prompt_file import remove_prompt

    open_database()
    result = delete_fleet(fleet_id)
    for agent in show_fleet(fleet_id)[1]:
        remove_prompt(agent.id)  # a starting prompt too long for tmux, saved at spawn
    kept = open_worktrees(fleet_id)
    releases = []
    if kept:
        from cafleet.panes.worktree_release import release_worktree

        releases = [(member, release_worktree(worktree, discard)) for member, worktree in kept]
    document = {"fleet_id": result.fleet_id, "deregistered": result.deregistered, "already_deleted": result.already_deleted}
    emit(
        {**document, "worktrees": [_release_json(member, release) for member, release in releases]} if releases else document,
        lambda: "\n".join(
            [
                f"Deleted fleet {result.fleet_id}. Deregistered {result.deregistered} agent"
                + ("" if result.deregistered == 1 else "s")
                + ".",
                *_release_lines(fleet_id, releases),
            ]
        ),
    )


@fleet_group.command("restore", cls=CafleetCommand, fleet_scope=FleetScope.NAMES_FLEET, director_only=True, keeps_courier=True)
@click.argument("fleet_id", type=ID, metavar="N")
@click.option("--dry-run", is_flag=True, help="Only say which members would be restored, and how.")
@click.option(
    "--fresh",
    is_flag=True,
    help="Start members whose conversation cannot be resumed anew, with their starting prompt (else they stay lost).",
)
def restore_command(fleet_id: int, dry_run: bool, fresh: bool):
    """Bring back fleet N's members whose panes are gone (tmux or the machine restarted, a pane
    closed): each agent starts again in a new pane beside the Director, on its saved
    conversation, with its worktree and autonomy as before. Then what was waiting for them
    is delivered, once, in order.

    Run it in the Director's pane. If the Director's own pane is gone too, run it in the pane
    of the Director's coding agent, started again: that pane becomes the Director's. Members
    whose pane still runs are left alone; running it twice never starts two agents for one member.
    Exit 1 when a member is still lost afterwards (it says why).
    """
    from cafleet.cli.restore_output import restore_json, restore_lines, tell_director_of_fresh_starts
    from cafleet.panes.calling_pane import in_tmux
    from cafleet.panes.restore import restore_fleet

    here = None
    if in_tmux():
        from cafleet.panes.calling_pane import calling_pane

        here = calling_pane("fleet restore")
    open_database()
    restored = restore_fleet(fleet_id, here, dry_run=dry_run, fresh=fresh)
    if not dry_run:
        tell_director_of_fresh_starts(restored)
    emit(restore_json(restored), lambda: "\n".join(restore_lines(restored)))
    if restored.still_lost and not dry_run:
        from cafleet.cli.courier_keeping import keep_courier

        keep_courier()  # for the members that did come back
        click.get_current_context().exit(1)


def _release_json(member, release) -> dict:
    from cafleet.cli.worktree_output import release_json

    return {"member_id": member.id, "name": member.name, **release_json(release)}


def _release_lines(fleet_id: int, releases) -> list[str]:
    from cafleet.cli.worktree_output import release_lines

    again = f"cafleet fleet delete {fleet_id}"
    return [line for member, release in releases for line in [f"Member {member.handle}:", *release_lines(release, again)]]


from cafleet.cli.export_command import export_command  # noqa: E402  (its own module; listed under `fleet`)

fleet_group.add_command(export_command)
