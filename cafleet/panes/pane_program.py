"""Which coding agent runs in a pane: how `agent register` tells an agent's own pane (its
foreground program is the agent, which runs cafleet from its shell tool) from a human's shell
(whose foreground program is cafleet itself)."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.backends import BACKENDS
from cafleet.backends.standin import runs_standin
from cafleet.core.domain import CodingAgent
from cafleet.core.records import PaneLocation
from cafleet.panes.processes import foreground_program, program_name
from cafleet.panes.tmux import Tmux

STANDIN = CodingAgent.STANDIN  # cafleet's scripted stand-in, which tests and the demo run for any backend


class PaneProgram(NamedTuple):
    coding_agent: str | None  # a backend name, STANDIN, or None when no coding agent runs there
    command: str  # the foreground program, as a reader would name it

    def describe(self, pane_id: str) -> str:
        return f"pane {pane_id} runs {self.command}, not a coding agent"


def pane_program(location: PaneLocation) -> PaneProgram:
    """The coding agent in the pane's foreground, if any."""
    pane = Tmux(location.tmux_socket).pane(location.tmux_pane_id)
    if pane is None:
        return PaneProgram(None, "nothing (the pane is gone)")
    program = foreground_program(pane.pid)
    if program is None:
        return PaneProgram(None, pane.current_command or "an unreadable program")
    if runs_standin(program):
        return PaneProgram(STANDIN, "the cafleet stand-in")
    for name, spec in BACKENDS.items():
        if spec.runs_agent(program):
            return PaneProgram(name, name)
    return PaneProgram(None, program_name(program.argv) or pane.current_command)
