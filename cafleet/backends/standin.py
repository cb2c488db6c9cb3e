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
    shown = [line for line in lines if line.strip()]
    if not shown:
        return ScreenReading(AgentState.STARTING)
    last = shown[-1]
    for line in reversed(shown[-6:]):
        if line.startswith(QUESTION_MARK):
            return ScreenReading(AgentState.ASKING, question=line[len(QUESTION_MARK):].strip())
    if last.startswith("(working"):
        return ScreenReading(AgentState.BUSY)
    if last.rstrip() == PROMPT.rstrip():
        return ScreenReading(AgentState.READY)
    if last.startswith(PROMPT):
        return ScreenReading(AgentState.DRAFT, draft=last[len(PROMPT):])
    return ScreenReading(AgentState.STARTING)
