"""Recognising cafleet's stand-in agent (`python -m cafleet.standin`), which tests and the
demo run in place of a real one, and reading its screen."""

from __future__ import annotations

from cafleet.agent_state import AgentState, ScreenReading
from cafleet.panes.processes import runs_script

PROMPT = "> "
QUESTION_MARK = "? "  # the stand-in's menu: a "? question" line, then numbered options


def runs_standin(argv: list[str]) -> bool:
    return runs_script(argv, "cafleet.standin")


def read_standin_screen(lines: list[str]) -> ScreenReading:
    """The latest marker line decides: `> ` the input line, `? ` a menu, `(working` busy."""
    for line in reversed(lines):
        if line.startswith(QUESTION_MARK):
            return ScreenReading(AgentState.ASKING, question=line[len(QUESTION_MARK):].strip())
        if line.startswith("(working"):
            return ScreenReading(AgentState.BUSY)
        if line.rstrip() == PROMPT.rstrip():
            return ScreenReading(AgentState.READY)
        if line.startswith(PROMPT):
            return ScreenReading(AgentState.DRAFT, draft=line[len(PROMPT):])
    return ScreenReading(AgentState.STARTING)
