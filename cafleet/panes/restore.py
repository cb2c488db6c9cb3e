"""Bringing members back after their panes were lost: `fleet restore` and `member restart`.

Each lost member's agent is started again in a new pane beside its Director, resuming the
conversation it saved (`cafleet.broker.sessions`), with the autonomy, model and worktree it had.
The registry side (the claim that keeps two restores from starting two agents, the new pane
and the notices it missed, recorded in one transaction) is `cafleet.broker.restores`.
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from cafleet.backends import Autonomy, SpawnContext, WorktreeAccess, backend, locate
from cafleet.broker import restores
from cafleet.broker.members import SpawnMark, director
from cafleet.broker.restores import RestoreTarget
from cafleet.core.config import PostgresServer, database_target, local_directory
from cafleet.core.errors import Refused
from cafleet.core.hosts import is_this_host, this_host
from cafleet.core.records import AgentRecord, PaneLocation, SessionRecord
from cafleet.panes.members import new_session, spawn_command
from cafleet.panes.pane_leftovers import end_pane_leftovers
from cafleet.panes.pane_room import open_member_pane, rebalance
from cafleet.panes.processes import process_ended
from cafleet.panes.prompt import FRESH_RESTART_NOTE, with_session_mark
from cafleet.panes.safety import pane_is_alive, target_problem
from cafleet.panes.session_finding import find_saved_session
from cafleet.panes.spawn_recovery import SPAWN_MARKER, spawn_mark
from cafleet.panes.tmux import Tmux, TmuxError
from cafleet.services.lost_servers import lost_because


class Outcome(StrEnum):
    RESUMED = "resumed"  # its agent runs again in a new pane, on its saved conversation
    STARTED_FRESH = "started-fresh"  # no conversation to resume: started anew with its prompt (--fresh)
    ADOPTED = "adopted"  # an interrupted restore had started it: that pane was recorded
    RUNNING = "running"  # its pane lives: nothing to do
    NOT_RESUMABLE = "not-resumable"  # no saved conversation, and --fresh was not given
    BUSY = "being-restored"  # another process is restoring it right now
    ELSEWHERE = "elsewhere"  # its pane lives on another host: restore it there
    FAILED = "failed"  # tmux or its directory refused; the member is still lost
    WOULD_RESUME = "would-resume"  # --dry-run
    WOULD_START_FRESH = "would-start-fresh"  # --dry-run with --fresh


# What leaves a member lost after the command: the exit status says so.
# (One another process is restoring is not: it is being brought back.)
STILL_LOST = frozenset({Outcome.NOT_RESUMABLE, Outcome.ELSEWHERE, Outcome.FAILED})
# What has its agent running again after the command.
BROUGHT_BACK = frozenset({Outcome.RESUMED, Outcome.STARTED_FRESH, Outcome.ADOPTED})


class MemberRestore(NamedTuple):
    member: AgentRecord
    outcome: Outcome
    session_id: str | None = None
    pane_id: str | None = None
    detail: str = ""  # why, for the outcomes that need saying


class FleetRestore(NamedTuple):
    director: AgentRecord
    director_pane: str  # where the Director's placement is now
    director_moved: bool
    members: list[MemberRestore]
    dry_run: bool

    @property
    def still_lost(self) -> list[MemberRestore]:
        return [m for m in self.members if m.outcome in STILL_LOST]


class _Window(NamedTuple):
    """Where restored members' panes go: the Director's window, or a members window of its
    session once a pane there would be too small (`cafleet.panes.pane_room`)."""

    tmux: Tmux
    session: str
    window_id: str


def restore_fleet(fleet_id: int, here: PaneLocation | None, dry_run: bool = False, fresh: bool = False) -> FleetRestore:
    """Restore every member of the fleet's Director whose pane is lost. When the Director's own
    pane is lost too, the calling pane (`here`) becomes the Director's."""
    boss, targets = restores.restore_targets(fleet_id)
    window, moved = _director_window(fleet_id, boss, here, dry_run)
    mark = spawn_mark()
    members = [_restore(target, window, mark, fresh, dry_run, restart=False) for target in targets]
    if not dry_run and any(m.outcome in BROUGHT_BACK for m in members):
        rebalance(window.tmux, window.window_id)
    placement = boss.placement
    director_pane = here.tmux_pane_id if moved and here is not None else (placement.tmux_pane_id if placement else None)
    return FleetRestore(boss, director_pane or "", moved, members, dry_run)


def restart_member(
    fleet_id: int, director_id: int, member_id: int, fresh: bool = False, fresh_note: str = FRESH_RESTART_NOTE
) -> MemberRestore:
    """Start one member's agent again on its saved conversation, in a new pane beside its
    Director: its old pane, if it still lives (an agent that hung or left), is closed first.
    Started anew (`fresh`), its starting prompt is led by `fresh_note`."""
    boss, targets = restores.restore_targets(fleet_id, director_id, member_id)
    if not targets:
        from cafleet.broker.members import member

        member(fleet_id, director_id, member_id)  # says why: not a member, deregistered …
        raise Refused(f"member {member_id} has no pane on record; `cafleet member delete --force` removes it")
    window, _ = _director_window(fleet_id, boss, None, dry_run=False)
    (target,) = targets
    placement = target.placement
    if not is_this_host(placement.host):
        raise Refused(
            f"member {target.member.name}'s pane lives on host {placement.host} and this is host {this_host()}; "
            f"run `cafleet member restart` on {placement.host}"
        )
    tmux = Tmux(placement.tmux_socket)
    state = tmux.pane(placement.tmux_pane_id) if placement.tmux_pane_id and tmux.server_pid else None
    if pane_is_alive(target_problem(placement, tmux, state)) and state is not None:
        _close(tmux, state.pane_id)
    restored = _restore(target, window, spawn_mark(), fresh, dry_run=False, restart=True, fresh_note=fresh_note)
    if restored.outcome in BROUGHT_BACK:
        rebalance(window.tmux, window.window_id)
    return restored


def _director_window(fleet_id: int, boss: AgentRecord, here: PaneLocation | None, dry_run: bool) -> tuple[_Window, bool]:
    """The Director's window, its placement first moved to `here` when its own pane is lost."""
    placement = boss.placement
    if placement is not None and not is_this_host(placement.host):
        raise Refused(
            f"the Director (agent {boss.id}) lives on host {placement.host} and this is host {this_host()}; "
            f"members are restored beside it: run `cafleet fleet restore {fleet_id}` on {placement.host}"
        )
    tmux = Tmux(placement.tmux_socket) if placement is not None else None
    state = (
        tmux.pane(placement.tmux_pane_id)
        if tmux is not None and placement and placement.tmux_pane_id and tmux.server_pid
        else None
    )
    if tmux is not None and placement is not None and pane_is_alive(target_problem(placement, tmux, state)):
        return _Window(tmux, placement.tmux_session, placement.tmux_window_id), False
    if placement is not None and lost_because(placement, target_problem(placement, tmux, state)) is None:
        raise Refused(
            f"the Director's tmux server {placement.tmux_socket} cannot be seen from here (a sandbox?); "
            f"run `cafleet fleet restore {fleet_id}` where tmux can be reached"
        )
    if here is None:
        raise Refused(
            f"the Director's pane of fleet {fleet_id} is gone, and this is no tmux pane to put it in; run "
            f"`cafleet fleet restore {fleet_id}` in the tmux pane of the Director's coding agent"
        )
    assert placement is not None  # a Director always has a placement
    if not dry_run and not restores.move_director(fleet_id, boss.id, placement, here):
        # Another restore placed it meanwhile: work beside it wherever that was.
        return _director_window(fleet_id, director(fleet_id, boss.id), None, dry_run)
    return _Window(Tmux(here.tmux_socket), here.tmux_session, here.tmux_window_id), True


def _restore(
    target: RestoreTarget,
    window: _Window,
    mark: SpawnMark,
    fresh: bool,
    dry_run: bool,
    restart: bool,
    fresh_note: str = FRESH_RESTART_NOTE,
) -> MemberRestore:
    member, placement = target.member, target.placement
    if not is_this_host(placement.host):
        return MemberRestore(member, Outcome.ELSEWHERE, detail=f"its pane lives on host {placement.host}: restore it there")
    if not restart and not _lost(target):
        return MemberRestore(member, Outcome.RUNNING, pane_id=placement.tmux_pane_id)
    if _restorer_alive(target, mark):
        return MemberRestore(member, Outcome.BUSY, detail=f"pid {target.spawner_pid} is restoring it")
    spec = backend(placement.coding_agent)
    leftover = _leftover_panes(target, window.tmux)
    if leftover and not dry_run:
        return _adopt(target, window, leftover, mark)
    session = target.session
    saved = None
    if session is not None:
        saved = find_saved_session(placement.coding_agent, session)
        environment = {**os.environ, **session.state_environment}
        if saved is not None and not spec.session_saved(saved, environment):
            saved = None
    if saved is None and not fresh:
        why = (
            "it saved no conversation (its first prompt was never submitted)"
            if session
            else "it was spawned before sessions were recorded"
        )
        return MemberRestore(member, Outcome.NOT_RESUMABLE, detail=f"{why}; --fresh starts it anew with its starting prompt")
    if dry_run:
        return MemberRestore(member, Outcome.WOULD_RESUME if saved else Outcome.WOULD_START_FRESH, session_id=saved)
    if not restores.claim(target, mark):
        return MemberRestore(member, Outcome.BUSY, detail="another process claimed it first")
    if spec.outlives_its_pane:
        end_pane_leftovers(placement)  # its agent may live on without a pane, on the same conversation
    try:
        pane, started = _start(target, window, mark, saved, fresh_note)
    except (TmuxError, OSError, Refused) as exc:
        return MemberRestore(member, Outcome.FAILED, detail=str(exc))
    if not restores.attach(member.id, mark.token, pane, started):
        _close(window.tmux, pane.tmux_pane_id)
        return MemberRestore(member, Outcome.BUSY, detail="another process took it over meanwhile")
    return MemberRestore(member, Outcome.RESUMED if saved else Outcome.STARTED_FRESH, started.session_id, pane.tmux_pane_id)


def _lost(target: RestoreTarget) -> bool:
    placement = target.placement
    if placement.tmux_pane_id is None:
        return False  # being spawned: `member create` or the reaper deals with it
    tmux = Tmux(placement.tmux_socket)
    state = tmux.pane(placement.tmux_pane_id) if tmux.server_pid else None
    return lost_because(placement, target_problem(placement, tmux, state)) is not None


def _restorer_alive(target: RestoreTarget, mark: SpawnMark) -> bool:
    """Whether another process is restoring (or spawning) the member right now."""
    if target.spawner_pid is None or not target.spawner_identity or target.spawner_pid == mark.pid:
        return False
    return process_ended(target.spawner_pid, target.spawner_identity) is False


def _leftover_panes(target: RestoreTarget, tmux: Tmux) -> list[str]:
    """Live panes started under the member's last token that its placement does not record:
    an earlier restore started its agent and was killed before recording the pane."""
    if not target.spawn_token or tmux.server_pid is None:
        return []
    panes = tmux.panes()
    started = tmux.panes_started_with(f"{SPAWN_MARKER} {target.spawn_token}")
    placement = target.placement
    recorded = (
        placement.tmux_pane_id
        if (placement.tmux_socket, placement.tmux_server_pid) == (tmux.socket_path, tmux.server_pid)
        else None
    )
    return [pane_id for pane_id in started if pane_id != recorded and not panes[pane_id].dead]


def _adopt(target: RestoreTarget, window: _Window, leftover: list[str], mark: SpawnMark) -> MemberRestore:
    """Record the agent an interrupted restore started (closing any extra), instead of a second one."""
    member = target.member
    kept, *extra = leftover
    if not restores.claim(target, mark):
        return MemberRestore(member, Outcome.BUSY, detail="another process claimed it first")
    for pane_id in extra:
        _close(window.tmux, pane_id)
    shown = window.tmux.pane(kept)  # it may sit in a members window of the Director's session
    where = shown.window_id if shown is not None else window.window_id
    pane = PaneLocation(window.tmux.socket_path, window.tmux.server_pid, window.session, where, kept)
    if not restores.attach(member.id, mark.token, pane, target.session):
        return MemberRestore(member, Outcome.BUSY, detail="another process took it over meanwhile")
    session_id = target.session.session_id if target.session is not None else None
    return MemberRestore(member, Outcome.ADOPTED, session_id, kept, "an interrupted restore had started it")


def _start(
    target: RestoreTarget, window: _Window, mark: SpawnMark, saved: str | None, fresh_note: str
) -> tuple[PaneLocation, SessionRecord]:
    """Split the Director's window and start the member's agent there: on its saved
    conversation, or anew. The pane, and what its agent was started with."""
    member, placement = target.member, target.placement
    spec = backend(placement.coding_agent)
    session = target.session
    state_environment = session.state_environment if session is not None else {}
    worktree = target.worktree
    access = None
    if worktree is not None and worktree.closed_at is None:
        from cafleet.git.worktrees import commit_directories, worktree_git_dir

        access = WorktreeAccess(
            Path(worktree.path), commit_directories(Path(worktree.git_dir), worktree_git_dir(worktree.path), worktree.branch)
        )
    cwd = _start_directory(target)
    fresh_prompt = None if saved else with_session_mark(fresh_note + "\n\n" + _first_prompt(target), mark.token)
    context = SpawnContext(
        executable=_executable(target),
        name=member.name,
        prompt=fresh_prompt or "",
        model=session.model if session is not None else None,
        fleet_id=member.fleet_id,
        database_dir=local_directory(),
        autonomy=_autonomy(session),
        environment={**os.environ, **state_environment},
        database_over_network=isinstance(database_target(), PostgresServer),
        worktree=access,
        session_id=saved or spec.chosen_session_id(),
        resume=saved is not None,
    )
    _, command, environment = spawn_command(spec, context, window.window_id, mark.token)
    environment = {**state_environment, **environment}  # where it saved its conversation
    if saved is not None and session is not None:
        started = session._replace(session_id=saved)  # the same conversation, found where it was
    else:
        started = new_session(member.id, context, mark.token, cwd, environment)
        started = started._replace(restores=session.restores if session is not None else 0)
    director_id = placement.director_id if placement.director_id is not None else 0
    opened = open_member_pane(window.tmux, window.window_id, director_id, spec.min_rows, command, environment, cwd)
    return PaneLocation(
        window.tmux.socket_path, window.tmux.server_pid, window.session, opened.window_id, opened.pane_id
    ), started


def _start_directory(target: RestoreTarget) -> str:
    """Where the agent starts: where it started before (it finds its conversation by it)."""
    session, worktree = target.session, target.worktree
    for candidate in (session.cwd if session else None, worktree.path if worktree else None):
        if candidate and Path(candidate).is_dir():
            return candidate
    if session is not None:
        raise Refused(f"its directory {session.cwd} no longer exists")
    return os.getcwd()


def _executable(target: RestoreTarget) -> str:
    session = target.session
    if session is not None and Path(session.executable).exists():
        return session.executable
    return locate(target.placement.coding_agent)


def _autonomy(session: SessionRecord | None) -> Autonomy:
    if session is None:
        return Autonomy()
    chosen = dict(session.autonomy)
    return Autonomy(
        permission_mode=chosen.get("permission_mode"),
        sandbox=chosen.get("sandbox"),
        approval=chosen.get("approval"),
        extra_args=tuple(chosen.get("extra_args") or ()),
    )


def _first_prompt(target: RestoreTarget) -> str:
    """The member's starting prompt as first typed, without its old session mark."""
    from cafleet.core.invocation import cafleet_command
    from cafleet.panes.prompt import DEFAULT_PROMPT, render

    session = target.session
    if session is not None:
        body, _, mark = session.prompt.rpartition("\n\n")
        return body if mark == f"(cafleet session mark {session.marker})" else session.prompt
    member, placement = target.member, target.placement
    return render(
        DEFAULT_PROMPT,
        fleet_id=member.fleet_id,
        agent_id=member.id,
        director_id=placement.director_id,
        name=member.name,
        coding_agent=placement.coding_agent,
        cafleet=cafleet_command(),
    )


def _close(tmux: Tmux, pane_id: str) -> None:
    try:
        tmux.kill_pane(pane_id)
    except TmuxError:
        pass  # it closed by itself meanwhile
