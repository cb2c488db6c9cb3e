"""Spawning, steering and retiring member panes. Registry rows come from
`cafleet.broker.members`; this module adds the tmux side and the rollback between them."""

from __future__ import annotations

import os
import re
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cafleet.backends import (
    STATE_VARIABLES,
    Autonomy,
    SpawnContext,
    SpawnPlan,
    WorktreeAccess,
    backend,
    known_backend,
    locate,
    poll_command,
    validate_model,
)
from cafleet.backends.base import write_plan_files
from cafleet.broker import members as registry
from cafleet.core.agent_state import SHELL_MODE_QUESTION, AgentState
from cafleet.core.budget import validate_budget
from cafleet.core.config import PostgresServer, database_setting, database_target, local_directory
from cafleet.core.domain import NOTICE_PASTE_NOT_SHOWN
from cafleet.core.errors import CafleetError, InvalidInput, Refused
from cafleet.core.hosts import HOST_VARIABLE, is_this_host, this_host
from cafleet.core.invocation import cafleet_command
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import AgentRecord, PlacementRecord, SessionRecord, WorktreeRecord
from cafleet.core.text import is_blank
from cafleet.core.timestamps import utc_now
from cafleet.panes import keystrokes, prompt_file
from cafleet.panes.observe import observe_pane
from cafleet.panes.pane_leftovers import end_pane_leftovers
from cafleet.panes.pane_room import MEMBERS_WINDOW_NAME, open_member_pane, rebalance
from cafleet.panes.prompt import check_template, render, with_session_mark, worktree_note
from cafleet.panes.safety import clean, pane_is_alive, target_problem
from cafleet.panes.spawn_recovery import Reaped, close_spawned_panes, reap_dead_spawns, spawn_mark, start_command
from cafleet.panes.tmux import PaneState, Tmux, TmuxError, new_window_arguments

if TYPE_CHECKING:  # worktrees are loaded only by the commands that use them: `member exec` never does
    from cafleet.backends.versions import AgentVersion
    from cafleet.broker.worktrees import NewWorktree
    from cafleet.panes.worktree_release import Release
    from cafleet.services.worktree_create import MadeWorktree, WorktreePlan, WorktreeRequest

CAPTURE_HISTORY_FACTOR = 4
# How long `exec` waits for a command to end before turning the agent's shell mode off.
SHELL_MODE_WAIT_SECONDS = 10.0
# Newlines, and what other programs take as one: VT, FF, NEL, the Unicode separators.
_LINE_BREAK = re.compile(r"[\n\r\x0b\x0c\x85\u2028\u2029]")


class DeleteTimedOut(CafleetError):
    """The member did not close its pane in time (exit 2, with the pane's last lines)."""

    exit_code = 2


class SpawnedMember(NamedTuple):
    member: AgentRecord
    plan: SpawnPlan
    reaped: list[Reaped]
    worktree: MadeWorktree | None = None
    version: AgentVersion | None = None  # of the agent it runs


class MemberPane(NamedTuple):
    member: AgentRecord
    tmux: Tmux
    state: PaneState

    @property
    def placement(self) -> PlacementRecord:
        return _placement_of(self.member)


def spawn_member(
    fleet_id: int,
    director_id: int,
    name: str,
    description: str,
    coding_agent: str,
    model: str | None = None,
    prompt: str | None = None,
    autonomy: Autonomy | None = None,
    worktree: WorktreeRequest | None = None,
    directory: Path | None = None,
    budget: int | None = None,
) -> SpawnedMember:
    """Validate everything, register with a pending placement, split a pane, start the agent.

    With `worktree`, the member gets a git worktree of the repository the Director works in
    (`directory`, by default this process's) on a new branch, and its pane starts there.
    Any failure after the registration removes the member again (and its worktree and branch):
    no row is left behind.
    """
    registry.validate_name(name)
    registry.validate_description(description)
    if budget is not None:
        validate_budget(budget)
    spec = backend(coding_agent)
    model = validate_model(coding_agent, model)
    autonomy = spec.check_autonomy(autonomy or Autonomy())
    if prompt is not None:
        check_template(prompt)
    boss = registry.director(fleet_id, director_id)
    _refuse_director_elsewhere(boss)  # before anything about this host's programs: they are not the Director's
    executable = locate(coding_agent)
    tmux = _director_server(boss)
    reaped = reap_dead_spawns(director_id)  # a dead spawn may hold the name asked for
    planned = None
    if worktree is not None:
        from cafleet.broker.agents import ensure_name_free
        from cafleet.services.worktree_create import plan_worktree

        ensure_name_free(fleet_id, name)  # before git: a taken name is the refusal to give, not its branch's
        planned = plan_worktree(worktree, fleet_id, name, directory if directory is not None else Path.cwd())

    mark = spawn_mark()
    member = registry.register_member(fleet_id, director_id, name, description, coding_agent, mark, budget)
    pane_id = None
    made = None
    try:
        text = render(
            prompt,
            fleet_id=fleet_id,
            agent_id=member.id,
            director_id=director_id,
            name=member.name,
            coding_agent=coding_agent,
            cafleet=cafleet_command(),
        )
        access = None
        if planned is not None:
            made = _make_worktree(planned)
            recorded = _record_worktree(member.id, _new_worktree(made, _placement_of(member)))
            text += "\n\n" + worktree_note(str(made.path), made.plan.branch, recorded.base_name)
            access = WorktreeAccess(made.path, made.commit_directories())
        context = SpawnContext(
            executable=executable,
            name=member.name,
            prompt=with_session_mark(text, mark.token),
            model=model,
            fleet_id=fleet_id,
            database_dir=local_directory(),
            autonomy=autonomy,
            environment=os.environ,
            database_over_network=isinstance(database_target(), PostgresServer),
            worktree=access,
            session_id=spec.chosen_session_id(),
        )
        window = _placement_of(member).tmux_window_id
        cwd = str(made.start_directory) if made is not None else os.getcwd()
        context = _fitted(spec, context, text, member, window, cwd, mark.token)
        plan, command, environment = spawn_command(spec, context, window, mark.token)
        session = new_session(member.id, context, mark.token, cwd, environment)
        opened = open_member_pane(tmux, window, director_id, spec.min_rows, command, environment, cwd)
        pane_id = opened.pane_id
        attached = registry.attach_pane(member.id, pane_id, mark.token, session, opened.window_id)
        return SpawnedMember(attached, plan, reaped, made, spec.version(executable))
    except BaseException as exc:
        if pane_id is not None:
            try:
                tmux.kill_pane(pane_id)
            except TmuxError:
                pass
        if not isinstance(exc, registry.SpawnReaped):  # the reaper already removed the rows
            registry.discard_member(member.id)
        if made is not None:
            _undo_worktree(made.plan)
        prompt_file.remove_prompt(member.id)
        raise


def _fitted(spec, context: SpawnContext, text: str, member: AgentRecord, window: str, cwd: str, mark: str) -> SpawnContext:
    """`context`, its prompt moved to a file when the start command would not fit tmux's limit."""
    _, command, environment = spawn_command(spec, context, window, mark)
    if prompt_file.fits_tmux(_start_arguments(window, command, environment, cwd)):
        return context
    saved = prompt_file.write_prompt(member.id, text)
    fitted = context._replace(prompt=with_session_mark(prompt_file.pointer(saved, text, member.name), mark), prompt_file=saved)
    _, command, environment = spawn_command(spec, fitted, window, mark)
    if not prompt_file.fits_tmux(_start_arguments(window, command, environment, cwd)):
        raise InvalidInput(
            f"the command that starts {spec.name} is {prompt_file.packed_size([command]):,} bytes even with "
            f"the prompt in a file, over tmux's {prompt_file.TMUX_COMMAND_BYTES:,}-byte limit for one command; "
            "pass shorter --agent-arg values"
        )
    return fitted


def _start_arguments(window: str, command: str, environment: dict[str, str], cwd: str) -> list[str]:
    """The longer of the two tmux commands that may start the pane (a split of `window`, or a
    new members window after it): what must fit tmux's limit."""
    return new_window_arguments(window, MEMBERS_WINDOW_NAME, command, environment, cwd)


def new_session(member_id: int, context: SpawnContext, mark: str, cwd: str, environment: dict[str, str]) -> SessionRecord:
    """What resumes the member's agent, as it is about to start (the time taken before tmux
    runs it: the agent stamps its session later)."""
    pane_environment = {**os.environ, **environment}
    return SessionRecord(
        agent_id=member_id,
        session_id=context.session_id,
        marker=mark,
        cwd=cwd,
        started_at=utc_now(),
        executable=context.executable,
        state_environment={key: pane_environment[key] for key in STATE_VARIABLES if key in pane_environment},
        prompt=context.prompt,
        model=context.model,
        autonomy={**context.autonomy._asdict(), "extra_args": list(context.autonomy.extra_args)},
    )


def _make_worktree(plan: WorktreePlan) -> MadeWorktree:
    from cafleet.services.worktree_create import make_worktree

    return make_worktree(plan)


def _undo_worktree(plan: WorktreePlan) -> None:
    from cafleet.services.worktree_create import undo_worktree

    undo_worktree(plan)


def _record_worktree(member_id: int, worktree: NewWorktree) -> WorktreeRecord:
    from cafleet.broker.worktrees import record_worktree

    return record_worktree(member_id, worktree)


def _new_worktree(made: MadeWorktree, placement: PlacementRecord) -> NewWorktree:
    from cafleet.broker.worktrees import NewWorktree

    plan = made.plan
    return NewWorktree(
        path=str(plan.path),
        branch=plan.branch,
        base_ref=plan.base_ref,
        base_commit=plan.base_commit,
        git_dir=str(plan.source.common_dir),
        source=str(plan.source.root),
        host=placement.host,
        tmux_socket=placement.tmux_socket,
    )


def spawn_command(spec, context: SpawnContext, window: str, token: str) -> tuple[SpawnPlan, str, dict[str, str]]:
    """The backend's plan, the pane's start command and its environment."""
    plan = spec.plan(context)
    write_plan_files(plan)
    # The member's commands must name the host its placement records.
    host = {HOST_VARIABLE: this_host()} if HOST_VARIABLE in os.environ else {}
    environment = {"CAFLEET_DATABASE_URL": database_setting(), **host, **plan.env}
    return plan, start_command(token, "exec " + shlex.join(plan.launch_argv)), environment


class DeletedMember(NamedTuple):
    member: AgentRecord
    worktree: Release | None  # what became of its worktree and branch, if it had them
    already_deleted: bool = False  # only what was kept of its worktree was looked at again


def delete_member(
    fleet_id: int, director_id: int, member_id: int, force: bool, timeout: float, discard: bool = False
) -> DeletedMember:
    """Ask the agent to `/exit` (or kill its pane with `force`), deregister it, then let go of
    its worktree, if it has one, as far as that loses no work (`discard`: everything).

    A member already deregistered whose worktree or branch was kept gets only that last step:
    run again once its work is merged, or with `discard`."""
    from cafleet.broker.worktrees import member_worktree, retired_worktree

    retired = retired_worktree(fleet_id, director_id, member_id)
    if retired is not None:
        gone, kept = retired
        return DeletedMember(gone, _release(kept, discard), already_deleted=True)
    member, worktree = member_worktree(fleet_id, director_id, member_id)
    placement = _placement_of(member)
    _refuse_other_host(placement, f"member {member.name}'s")
    spawning = registry.pending_spawn_of(member_id)
    if spawning is not None and spawning.token:
        # Made, but its id never recorded. A spawner still running finds the member gone when it
        # records the pane, and closes it.
        close_spawned_panes(spawning)
    if placement.tmux_pane_id is not None:
        tmux = Tmux(placement.tmux_socket)
        state = tmux.pane(placement.tmux_pane_id) if tmux.server_pid else None
        problem = target_problem(placement, tmux, state)
        pane_is_ours = pane_is_alive(problem) and state is not None
        if pane_is_ours and force:
            tmux.kill_pane(placement.tmux_pane_id)
        elif pane_is_ours and problem:
            raise Refused(
                f"member {member.name}'s pane {placement.tmux_pane_id} is not running a coding agent ({problem}); "
                "nothing was typed; use --force to kill the pane"
            )
        elif pane_is_ours:
            deadline = time.monotonic() + timeout
            assert state is not None  # pane_is_ours says it exists
            typed = _type_exit_when_ready(tmux, placement, deadline)
            closed = typed.delivered and _wait_for_pane_to_close(tmux, state.pane_id, deadline - time.monotonic())
            last = None if closed else _last_lines(tmux, state.pane_id)
            if last is not None:  # (None: it closed after all, a moment after the wait)
                untyped = "" if typed.delivered else f" (/exit was not typed: it shows {typed.observation.state})"
                raise DeleteTimedOut(
                    f"member {member.name}'s pane {state.pane_id} is still open after {timeout:g}s{untyped}; "
                    f"retry with a longer --timeout or use --force. Its last lines:\n{last}"
                )
        spec = known_backend(placement.coding_agent)
        if spec is not None and spec.outlives_its_pane:
            end_pane_leftovers(placement)  # its pane is closed or gone here; the agent may live on
        rebalance(tmux, placement.tmux_window_id)
    gone = registry.retire_member(fleet_id, director_id, member_id)
    prompt_file.remove_prompt(member_id)
    return DeletedMember(gone, _release(worktree, discard) if worktree is not None else None)


def _last_lines(tmux: Tmux, pane_id: str) -> str | None:
    """The pane's last lines, or None when it has closed."""
    try:
        return "\n".join(capture(tmux, pane_id, 15))
    except TmuxError:
        state = tmux.pane(pane_id)
        if state is None or state.dead:
            return None
        raise


def _release(worktree: WorktreeRecord, discard: bool) -> Release:
    from cafleet.panes.worktree_release import release_worktree

    return release_worktree(worktree, discard)


def member_pane(fleet_id: int, director_id: int, member_id: int) -> MemberPane:
    """A member's pane that is safe to type into, or a refusal that says why not."""
    member = registry.member(fleet_id, director_id, member_id)
    tmux, state = _live_pane_of(member, f"member {member.name}'s")
    return MemberPane(member, tmux, state)


def ping(fleet_id: int, director_id: int, member_id: int) -> MemberPane:
    target = member_pane(fleet_id, director_id, member_id)
    _require_typed(target.member, keystrokes.submit(target.tmux, target.placement, poll_command(fleet_id, member_id)))
    return target


def exec_command(fleet_id: int, director_id: int, member_id: int, command: str) -> MemberPane:
    typed = typed_line(command, "the command", "would run as separate lines")
    if is_blank(typed):
        raise InvalidInput('the command is empty; pass the shell command to run, e.g. "git status"')
    target = member_pane(fleet_id, director_id, member_id)
    outcome = keystrokes.type_line(
        target.tmux, target.placement, " " + typed.strip(), lead="!", allowed=frozenset({AgentState.READY})
    )
    _require_typed(target.member, outcome)
    spec = known_backend(target.placement.coding_agent)
    if spec is not None and spec.shell_mode_off_keys:
        _leave_shell_mode(target, list(spec.shell_mode_off_keys))
    return target


def _leave_shell_mode(target: MemberPane, keys: list[str]) -> None:
    """Turn the agent's shell mode off after `exec` (gemini keeps it on, even while the command
    still runs): notices typed into it would run in the shell."""
    deadline = time.monotonic() + SHELL_MODE_WAIT_SECONDS
    while True:
        observation, _ = observe_pane(target.tmux, target.placement)
        if observation.state == AgentState.ASKING and observation.question == SHELL_MODE_QUESTION:
            keystrokes.press(target.tmux, target.placement, keys)
            return
        # Qwen takes keys unseen while the command runs: wait for it (a while) to end first.
        if observation.state != AgentState.ASKING or time.monotonic() >= deadline:
            return
        time.sleep(0.2)


def send_input(fleet_id: int, director_id: int, member_id: int, choice: int | None, freetext: str | None) -> MemberPane:
    if (choice is None) == (freetext is None):
        raise InvalidInput("give exactly one of --choice 1..3 or --freetext TEXT")
    if freetext is not None:
        freetext = typed_line(freetext, "--freetext", "would submit early")
        if is_blank(freetext):
            raise InvalidInput("--freetext is empty; give the answer text")
        if _leading_visible(freetext) == "!":
            raise InvalidInput("--freetext may not start with '!': the agent would run it as a shell command")
    target = member_pane(fleet_id, director_id, member_id)
    placement = target.placement
    if choice is not None:
        outcome = keystrokes.press(target.tmux, placement, backend(placement.coding_agent).choice_keys(choice))
    else:
        assert freetext is not None  # exactly one of the two was given
        outcome = keystrokes.type_line(target.tmux, placement, freetext, allowed=frozenset({AgentState.ASKING, AgentState.READY}))
    _require_typed(target.member, outcome)
    return target


def typed_line(text: str, what: str, newline_effect: str) -> str:
    """`text` as it will be typed (control characters removed), refused if it holds a line break.

    Rules about the text are checked on this result, not on `text`: a `\\x01!cmd` becomes
    `!cmd` once the control character is gone."""
    if _LINE_BREAK.search(text):
        raise InvalidInput(f"{what} holds a line break, which {newline_effect}; send one line")
    return clean(text)


def _leading_visible(text: str) -> str:
    """The first character a reader (or the agent's input box) would see."""
    for char in text:
        if not is_blank(char):
            return char
    return ""


def capture_member(fleet_id: int, director_id: int, member_id: int, lines: int, ansi: bool) -> list[str]:
    member = registry.member(fleet_id, director_id, member_id)
    placement = _placement_of(member)
    _refuse_other_host(placement, f"member {member.name}'s")
    if placement.tmux_pane_id is None:
        raise Refused(f"member {member.name}'s pane is still being spawned (pending placement); try again shortly")
    tmux = Tmux(placement.tmux_socket)
    state = tmux.pane(placement.tmux_pane_id) if tmux.server_pid else None
    problem = target_problem(placement, tmux, state)
    if problem in (PaneProblem.TMUX_SERVER_GONE, PaneProblem.OTHER_TMUX_SERVER, PaneProblem.PANE_GONE):
        raise Refused(f"member {member.name}'s pane {placement.tmux_pane_id} cannot be read ({problem})")
    return capture(tmux, placement.tmux_pane_id, lines, ansi)


def capture(tmux: Tmux, pane_id: str, lines: int, ansi: bool = False) -> list[str]:
    """The last `lines` lines of the pane, scrollback included, trailing blank lines dropped."""
    captured = tmux.capture(pane_id, history_lines=lines * CAPTURE_HISTORY_FACTOR + 100, ansi=ansi)
    while captured and not captured[-1].strip():
        captured.pop()
    return captured[-lines:]


def _require_typed(member: AgentRecord, outcome: keystrokes.Outcome) -> None:
    """Refuse, saying what the member's pane shows, unless the keys were typed and taken."""
    if outcome.delivered:
        return
    if outcome.status == NOTICE_PASTE_NOT_SHOWN:
        raise Refused(
            f"member {member.name}'s agent had not shown the pasted text after {keystrokes.PASTE_SHOWN_SECONDS:g} s, "
            "so Enter was not pressed; it may show in its input box yet: look with `member capture`"
        )
    seen = outcome.observation
    shows = f"{seen.state}" + (f": {seen.question}" if seen.question else "") + (f" ({seen.reason})" if seen.reason else "")
    raise Refused(f"member {member.name}'s pane was not typed into: {outcome.status}; it shows {shows}")


def _live_pane_of(agent: AgentRecord, whose: str) -> tuple[Tmux, PaneState]:
    placement = agent.placement
    if placement is not None:
        _refuse_other_host(placement, whose)
    if placement is not None and placement.tmux_pane_id is None:
        raise Refused(f"{whose} pane is still being spawned (pending placement); try again shortly")
    tmux = Tmux(placement.tmux_socket) if placement is not None else None
    pane_id = placement.tmux_pane_id if placement is not None else None
    state = tmux.pane(pane_id) if tmux is not None and pane_id and tmux.server_pid else None
    problem = target_problem(placement, tmux, state)
    if problem:
        raise Refused(f"cannot type into {whose} pane ({problem}); nothing was typed")
    assert tmux is not None and state is not None  # target_problem found both
    return tmux, state


def _refuse_other_host(placement: PlacementRecord, whose: str) -> None:
    """Only a process on the pane's own host may look at it or type into it."""
    if not is_this_host(placement.host):
        raise Refused(
            f"{whose} pane lives on host {placement.host} and this is host {this_host()}; "
            f"nothing was done: run the command again on {placement.host}"
        )


def _refuse_director_elsewhere(boss: AgentRecord) -> None:
    placement = boss.placement
    if placement is not None and not is_this_host(placement.host):
        raise Refused(
            f"the Director (agent {boss.id}) lives on host {placement.host} and this is host {this_host()}; "
            f"a member is spawned beside the Director, so run `cafleet member create` on {placement.host} "
            "(in the Director's pane)"
        )


def _director_server(boss: AgentRecord) -> Tmux:
    """The tmux server of the Director's pane, which must still exist (its window is split)."""
    _refuse_director_elsewhere(boss)
    placement = boss.placement
    tmux = Tmux(placement.tmux_socket) if placement is not None else None
    pane_id = placement.tmux_pane_id if placement is not None else None
    state = tmux.pane(pane_id) if tmux is not None and pane_id and tmux.server_pid else None
    problem = target_problem(placement, tmux, state)
    if not pane_is_alive(problem):
        raise Refused(f"the Director's pane cannot host members ({problem}); run `cafleet doctor` in the Director's pane")
    assert tmux is not None  # a live pane has a server
    return tmux


def _placement_of(member: AgentRecord) -> PlacementRecord:
    if member.placement is None:
        raise Refused(f"member {member.name} has no pane on record; `cafleet member delete --force` removes it")
    return member.placement


def _type_exit_when_ready(tmux: Tmux, placement, deadline: float) -> keystrokes.Outcome:
    """Type `/exit` once the agent's box is empty: never glued to a draft, into a menu, or
    into a running turn (codex would steer the turn with it). A busy agent is waited for like
    a starting one: a member deleted right after it answered is often still ending its turn."""
    while True:
        outcome = keystrokes.type_line(
            tmux, placement, backend(placement.coding_agent).exit_line, allowed=frozenset({AgentState.READY})
        )
        if outcome.delivered:
            return outcome
        waiting = not outcome.final or outcome.observation.state == AgentState.BUSY
        if not waiting or time.monotonic() >= deadline:
            return outcome
        time.sleep(0.2)


def _wait_for_pane_to_close(tmux: Tmux, pane_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = tmux.pane(pane_id)
        if state is None or state.dead:
            return True
        time.sleep(0.1)
    return False
