"""One look at an agent's pane: is its own agent running there, and what does it show?

Typing is allowed only into the placement's own coding agent (an allow-list decided from the
foreground process, never a deny-list of shells: a REPL or a pager runs typed text too) and
only in the states `TYPEABLE` names.
"""

from __future__ import annotations

import hashlib
import re

from cafleet.backends import known_backend
from cafleet.backends.standin import read_standin_screen, runs_standin
from cafleet.core.agent_state import UNREADABLE_AFTER_SECONDS, AgentState, Observation
from cafleet.core.domain import NOT_ITS_AGENT
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import PlacementRecord
from cafleet.panes.processes import foreground_program, program_name
from cafleet.panes.safety import target_problem
from cafleet.panes.tmux import PaneState, Tmux, TmuxError
from cafleet.services.lost_servers import lost_because

# Claude and codex draw inline: their input box may sit below a screenful of transcript.
SCREEN_HISTORY_LINES = 60


def observe(tmux: Tmux | None, placement: PlacementRecord | None, pane: PaneState | None) -> Observation:
    """The agent's state in its pane, with the reason when nothing may be typed."""
    problem = target_problem(placement, tmux, pane)
    if problem is PaneProblem.PENDING_PLACEMENT:
        return Observation(AgentState.STARTING, problem)
    if problem is PaneProblem.PANE_SHOWS_CAFLEET_TUI:
        assert pane is not None  # only a pane that exists shows the TUI
        return Observation(AgentState.EXITED, problem, command=pane.current_command)
    if problem:
        # No server at its socket may only mean this process cannot see it (a sandbox).
        return Observation(AgentState.LOST if lost_because(placement, problem) else AgentState.UNSEEN, problem)
    assert tmux is not None and placement is not None and pane is not None  # target_problem checked each
    program = foreground_program(pane.pid)
    spec = known_backend(placement.coding_agent)
    if program is None:
        return Observation(AgentState.UNSEEN, "pane-process-unreadable", command=pane.current_command)
    if runs_standin(program):
        reader = read_standin_screen
    elif spec is not None and spec.runs_agent(program):
        reader = spec.read_screen
    else:
        name = program_name(program.argv) or pane.current_command
        return Observation(AgentState.EXITED, f"{NOT_ITS_AGENT}{name}", command=pane.current_command)
    try:
        lines = tmux.capture(pane.pane_id, SCREEN_HISTORY_LINES)
    except TmuxError:
        return Observation(AgentState.LOST, PaneProblem.PANE_GONE)
    reading = reader(lines)
    if reading.state is AgentState.STARTING and _started_long_ago(placement):
        reason = UNREADABLE_REASON if any(line.strip() for line in lines) else BLANK_REASON
        return Observation(AgentState.UNREADABLE, reason, command=pane.current_command)
    return Observation(
        reading.state,
        reading.detail,
        reading.question,
        reading.draft,
        pane.current_command,
        reading.resets,
        reading.box_open,
        screen_fingerprint(lines),
    )


_MOVING = re.compile(r"[^A-Za-z]+")


def screen_fingerprint(lines: list[str]) -> str:
    """A hash of the screen's letters only: a ticking clock, a token counter or a spinner
    changes no letter, so a busy agent that shows nothing new keeps its fingerprint."""
    letters = _MOVING.sub(" ", "\n".join(lines)).strip()
    return hashlib.sha1(letters.encode()).hexdigest()[:16]


UNREADABLE_REASON = "its screen shows no state cafleet knows"
# An agent that has drawn nothing at all (opencode's start sometimes hangs before its first frame).
BLANK_REASON = "its screen is blank"


def _started_long_ago(placement: PlacementRecord) -> bool:
    """Whether the pane was made more than `UNREADABLE_AFTER_SECONDS` ago."""
    from cafleet.core.timestamps import parse_stamp, utc_now

    age = parse_stamp(utc_now()) - parse_stamp(placement.created_at)
    return age.total_seconds() > UNREADABLE_AFTER_SECONDS


def observe_pane(tmux: Tmux, placement: PlacementRecord) -> tuple[Observation, PaneState | None]:
    """`observe` after asking tmux for the pane afresh."""
    tmux.forget_server()
    pane = tmux.pane(placement.tmux_pane_id) if placement.tmux_pane_id and tmux.server_pid else None
    return observe(tmux, placement, pane), pane
