"""`cafleet member …`: the Director spawns, watches, steers and retires member panes."""

from __future__ import annotations

import click

from cafleet.cli.output import agent_json, agent_line, emit, note, wants_json
from cafleet.cli.params import ID, TEXT, agent_id_option, read_text_file
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, require_fleet
from cafleet.cli.types import Seconds, WholeNumber
from cafleet.core.budget import MAX_BUDGET_TOKENS
from cafleet.core.domain import CODING_AGENTS
from cafleet.core.terminal import one_line
from cafleet.store.db import open_database


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
    type=TEXT,
    default="claude",
    show_default=True,
    metavar="AGENT",
    help=f"The coding agent to run in the new pane: {', '.join(CODING_AGENTS)}, or the name of a backend file "
    "(docs/backend-files.md).",
)
@click.option(
    "--backend-file",
    type=TEXT,
    metavar="FILE",
    help="Run the coding agent the backend file FILE describes, wherever it is (instead of --coding-agent; "
    "docs/backend-files.md). The member keeps FILE's path: leave the file there while the member lives.",
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
@click.option(
    "--approval",
    type=TEXT,
    metavar="POLICY",
    help="codex: on-request or never (default); gemini: default (default), auto_edit or yolo; "
    "qwen: default (default), auto-edit, auto or yolo; pi: default (cafleet's gate asks) or yolo (no gate).",
)
@click.option(
    "--agent-arg",
    "agent_args",
    type=TEXT,
    multiple=True,
    metavar="ARG",
    help="Pass ARG to the coding agent as it is (repeatable).",
)
@click.option(
    "--worktree",
    is_flag=True,
    help="Give the member a git worktree of your repository on a new branch, and start it there "
    "(worktrees go in <repository's parent>/.cafleet-worktrees/<repository>/, or under $CAFLEET_WORKTREES_DIR).",
)
@click.option("--branch", type=TEXT, metavar="NAME", help="--worktree: the new branch (default cafleet/<fleet>/<member>).")
@click.option("--base", type=TEXT, metavar="REF", help="--worktree: branch from REF (default your HEAD).")
@click.option(
    "--setup",
    type=TEXT,
    metavar="CMD",
    help="--worktree: run CMD in the new worktree before the agent starts (default: the repository's "
    ".cafleet/worktree-setup, if any); its output goes to a log.",
)
@click.option("--no-setup", is_flag=True, help="--worktree: run no setup command, not even .cafleet/worktree-setup.")
@click.option(
    "--budget",
    type=WholeNumber(1, MAX_BUDGET_TOKENS, "a number of tokens"),
    metavar="TOKENS",
    help="The member's token budget (input, cached and output added): you get one message when it has used "
    "80 % and one at 100 %. Nothing is stopped.",
)
@click.option("--quiet", is_flag=True, help="Print only the new member's id.")
def create_command(
    agent_id,
    name,
    description,
    coding_agent,
    backend_file,
    model,
    prompt,
    prompt_file,
    permission_mode,
    sandbox,
    approval,
    agent_args,
    worktree,
    branch,
    base,
    setup,
    no_setup,
    budget,
    quiet,
):
    """Spawn a member: a new pane in your window running the coding agent.

    A pane is never smaller than its agent needs to be read: when your window has no room
    left, the member goes to a `members` window of your tmux session.

    The member may run this fleet's cafleet commands without asking; everything else stays
    governed by your own agent settings and the autonomy options below.

    With --worktree (run from inside a git repository whose work tree has no uncommitted
    changes, on a branch), the member works in a worktree of its own on a new branch, may edit
    and commit there, and its starting prompt says so. Untracked, ignored files that the
    repository's .worktreeinclude names (gitignore syntax) are copied in. Review its work with
    `member diff`, merge it with `member merge`.
    """
    from cafleet.backends import Autonomy
    from cafleet.panes.members import spawn_member

    fleet_id = require_fleet()
    if prompt is not None and prompt_file is not None:
        raise click.UsageError("give at most one of --prompt or --prompt-file")
    coding_agent = _chosen_agent(coding_agent, backend_file)
    request = _worktree_request(worktree, branch, base, setup, no_setup)
    if prompt_file is not None:
        prompt, _ = read_text_file(prompt_file, "--prompt-file")
    open_database()
    autonomy = Autonomy(permission_mode, sandbox, approval, tuple(agent_args))
    directory = working_directory() if request is not None else None
    spawned = spawn_member(
        fleet_id, agent_id, name, description, coding_agent, model, prompt, autonomy, request, directory, budget=budget
    )
    for reaped in spawned.reaped:
        note(f"Note: {reaped.note()}")
    member = spawned.member
    made = spawned.worktree
    version = spawned.version
    if version is not None and version.unverified:
        note(f"Note: {version.describe()}; if {member.handle} shows `unreadable`, install a verified version")
    if quiet:
        click.echo(member.id)
        return
    from cafleet.cli.worktree_output import made_json, made_lines

    emit(
        {
            **agent_json(member),
            "grants": list(spawned.plan.grants),
            "worktree": made_json(made) if made else None,
            "agent_version": version.installed if version else None,
            "budget_tokens": budget,
        },
        lambda: "\n".join(
            [
                str(member.id),
                f"Spawned member {member.handle} ({coding_agent}{_installed(version)}) in pane {member.placement.tmux_pane_id}.",
                *(f"  {grant}" for grant in spawned.plan.grants),
                *(made_lines(made) if made else []),
                *([f"  budget: {budget:,} tokens (you are told at 80 % and 100 %)"] if budget else []),
            ]
        ),
    )


def _installed(version) -> str:
    return f" {version.installed}" if version is not None and version.installed else ""


def working_directory():
    from pathlib import Path

    from cafleet.core.errors import Refused

    try:
        return Path.cwd()
    except OSError:
        raise Refused("the current directory no longer exists; cd into your work tree of the repository") from None


def _chosen_agent(coding_agent: str, backend_file: str | None) -> str:
    """The coding agent a member runs: a name, or the checked backend file's absolute path."""
    from cafleet.backends.backend_files import is_file_path, named_backend_file

    if backend_file is None:
        if is_file_path(coding_agent):
            raise click.UsageError(
                f"--coding-agent {coding_agent!r} is a path; name a backend file with --backend-file {coding_agent}"
            )
        return coding_agent
    source = click.get_current_context().get_parameter_source("coding_agent")
    if source is not None and source.name != "DEFAULT":
        raise click.UsageError("give --coding-agent or --backend-file, not both")
    return named_backend_file(backend_file)


def _worktree_request(worktree: bool, branch, base, setup, no_setup: bool):
    """The worktree asked for, or None; its options without --worktree are a usage error."""
    given = [
        flag for flag, value in (("--branch", branch), ("--base", base), ("--setup", setup), ("--no-setup", no_setup)) if value
    ]
    if not worktree:
        if given:
            raise click.UsageError(f"{given[0]} applies only with --worktree; add --worktree")
        return None
    if setup is not None and no_setup:
        raise click.UsageError("give at most one of --setup or --no-setup")
    from cafleet.services.worktree_create import WorktreeRequest

    return WorktreeRequest(branch, base, setup, no_setup)


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
@click.option(
    "--discard",
    is_flag=True,
    help="Also remove its worktree with uncommitted files and its branch with unmerged commits (that work is lost).",
)
def delete_command(agent_id, member_id, force, timeout, discard):
    """Close a member's pane (/exit, or --force) and deregister it.

    A member's worktree is removed only when nothing in it is uncommitted and no pane works in
    it, and its branch only when its base holds every change on it; what is kept is said.
    Run it again for a deleted member once its work is merged (or with --discard) to remove
    what was kept.
    """
    from cafleet.panes.members import delete_member

    fleet_id = require_fleet()
    open_database()
    deleted = delete_member(fleet_id, agent_id, member_id, force, timeout, discard)
    member, release = deleted.member, deleted.worktree
    if release is None:
        emit(agent_json(member), lambda: f"Deleted member {member.handle}.")
        return
    from cafleet.cli.worktree_output import release_json, release_lines

    again = f"cafleet --fleet-id {fleet_id} member delete --agent-id {agent_id} --member-id {member_id}"
    emit(
        {**agent_json(member), "worktree": release_json(release)},
        lambda: "\n".join(
            [
                f"Member {member.handle} was already deleted." if deleted.already_deleted else f"Deleted member {member.handle}.",
                *release_lines(release, again),
            ]
        ),
    )


@member_group.command("restart", cls=CafleetCommand, keeps_courier=True)
@director_option
@member_option
@click.option(
    "--fresh",
    is_flag=True,
    help="If its conversation cannot be resumed, start it anew with its starting prompt (else nothing is done).",
)
def restart_command(agent_id, member_id, fresh):
    """Start a member's agent again, on its saved conversation, in a new pane beside you.

    For a member whose agent exited, hung or lost its pane: its old pane, if it still lives,
    is closed first (the conversation is saved as it goes). Its worktree and autonomy are as
    before, and what was waiting for it is delivered once it is ready.
    """
    from cafleet.cli.restore_output import member_json, member_line, tell_director_fresh
    from cafleet.core.errors import Refused
    from cafleet.panes.restore import BROUGHT_BACK, Outcome, restart_member

    fleet_id = require_fleet()
    open_database()
    restarted = restart_member(fleet_id, agent_id, member_id, fresh)
    if restarted.outcome not in BROUGHT_BACK:
        raise Refused(f"member {member_line(restarted)}")
    if restarted.outcome == Outcome.STARTED_FRESH:
        tell_director_fresh(fleet_id, agent_id, [restarted.member.handle])
    emit(member_json(restarted), lambda: f"Restarted {member_line(restarted)}.")


@member_group.command("list", cls=CafleetCommand)
@director_option
@click.option("--activity", is_flag=True, help="Add pane liveness, idle time, last sent/received/acked and unread count.")
@click.option(
    "--usage",
    is_flag=True,
    help="Add tokens in/out/cached, estimated cost, context fill and budget, read from each agent's own files.",
)
def list_command(agent_id, activity, usage):
    """Your members, one line each.

    A member with a worktree gets a second line: its path and branch, how many commits its
    branch has that its base lacks, and how many files in it are uncommitted.

    With --usage, a line per member says what its agent recorded: input tokens (not from the
    prompt cache), output tokens, cached input tokens, the estimated cost in US dollars ($? when
    the model has no price: add it to $XDG_CONFIG_HOME/cafleet/prices.toml), how much of the
    model's context window the latest answer used, and how much of its --budget it has used.
    """
    from cafleet.broker.members import list_members
    from cafleet.panes.spawn_recovery import reap_dead_spawns

    fleet_id = require_fleet()
    open_database()
    members = list_members(fleet_id, agent_id)
    if any(m.placement is not None and m.placement.pending for m in members):
        for reaped in reap_dead_spawns(agent_id):
            note(f"Note: {reaped.note()}")
        members = list_members(fleet_id, agent_id)
    worktrees = _worktree_states(fleet_id, [m.id for m in members])
    sessions = _sessions(m.id for m in members) if wants_json() else {}
    rows = None
    if activity:
        from cafleet.panes.activity import member_activity

        rows = dict((m.id, a) for m, a in member_activity(members))
    spent = None
    if usage:
        from cafleet.panes.member_usage import reports

        spent = reports(members)

    def document(member) -> dict:
        doc = {
            **agent_json(member),
            "worktree": worktrees[member.id][0] if member.id in worktrees else None,
            "session": sessions.get(member.id),
        }
        if rows is not None:
            doc["activity"] = rows[member.id]._asdict()
        if spent is not None:
            doc["usage"] = spent[member.id].as_json()
        return doc

    def lines(member) -> list[str]:
        return [
            agent_line(member),
            *([worktrees[member.id][1]] if member.id in worktrees else []),
            *([f"  {rows[member.id].summary()}"] if rows is not None else []),
            *([f"  {spent[member.id].summary()}"] if spent is not None else []),
        ]

    emit([document(m) for m in members], lambda: "\n".join(line for m in members for line in lines(m)) or "No members.")


def _sessions(member_ids) -> dict[int, dict]:
    """What resumes each member's conversation, as `member list --json` shows it."""
    from cafleet.broker.sessions import sessions_of

    return {
        member_id: {"id": session.session_id, "restored_at": session.restored_at, "restores": session.restores}
        for member_id, session in sessions_of(list(member_ids)).items()
    }


def _worktree_states(fleet_id: int, member_ids: list[int]) -> dict[int, tuple[dict, str]]:
    """Each worktree member's state as JSON and as its lines in `member list` (git runs only
    for members that have a worktree), with the files its branch changes that another's does."""
    from cafleet.broker.worktrees import worktrees_of

    records = worktrees_of(member_ids)
    if not records:
        return {}
    from cafleet.broker.worktree_overlaps import overlaps_of
    from cafleet.cli.worktree_output import overlap_json, overlap_lines, status_json, status_line
    from cafleet.services.worktree_review import worktree_status

    overlaps = overlaps_of(fleet_id)
    states = {}
    for member_id, record in records.items():
        status = worktree_status(record)
        mine = overlaps.get(member_id, [])
        states[member_id] = (
            {**status_json(record, status), "overlaps": overlap_json(mine)},
            "\n".join([status_line(record, status), *overlap_lines(mine)]),
        )
    return states


@member_group.command("diff", cls=CafleetCommand)
@director_option
@member_option
@click.option("--stat", is_flag=True, help="Only the files changed and their line counts (git diff --stat).")
@click.option("--uncommitted", is_flag=True, help="What its worktree holds that is not committed, instead of its commits.")
def diff_command(agent_id, member_id, stat, uncommitted):
    """A worktree member's work: its branch against its base, as `git diff`.

    Shows what the branch changed since it left its base (what the base gained since does not
    show), or with --uncommitted what its worktree holds that is not committed, untracked files
    included. --json adds its commits and files with their line counts.
    """
    from cafleet.cli.worktree_output import diff_json
    from cafleet.services.worktree_review import member_diff

    fleet_id = require_fleet()
    open_database()
    diff = member_diff(fleet_id, agent_id, member_id, stat=stat, uncommitted=uncommitted, details=wants_json())
    if not diff.text and not wants_json():
        what = "uncommitted changes in its worktree" if uncommitted else f"changes that {diff.worktree.base_name} lacks"
        note(f"Member {diff.member.handle} has no {what}.")
        return
    emit(diff_json(diff), lambda: diff.text.rstrip("\n"))


@member_group.command("merge", cls=CafleetCommand)
@director_option
@member_option
@click.option("--squash", is_flag=True, help="One ordinary commit holding all of its changes, instead of a merge commit.")
def merge_command(agent_id, member_id, squash):
    """Merge a worktree member's branch into your current branch.

    Run it in your work tree of the repository. Refused, with nothing changed, when your work
    tree has uncommitted changes, or when the merge would conflict (the files are named; found
    with git merge-tree, without touching any work tree). The merge is recorded as one message
    from you to the member in the fleet's timeline (already read: never typed into its pane).
    """
    from cafleet.cli.worktree_output import merged_json, merged_line
    from cafleet.services.worktree_review import merge_member

    fleet_id = require_fleet()
    open_database()
    merged = merge_member(fleet_id, agent_id, member_id, working_directory(), squash)
    emit(merged_json(merged), lambda: merged_line(merged))


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
