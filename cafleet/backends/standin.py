"""Recognising cafleet's stand-in agent (`python -m cafleet.demo.standin_agent`), which tests and the
demo run in place of a real one, and reading its screen."""

from __future__ import annotations

from cafleet.core.agent_state import AgentState, ScreenReading
from cafleet.panes.agent_process import runs_python_module
from cafleet.panes.processes import Program

PROMPT = "> "
QUESTION_MARK = "? "  # the stand-in's menu: a "? question" line, then numbered options
LIMIT_MARK = "(limited: "  # `(limited: WHAT · resets WHEN)`, shown until its next input


MODULE = "cafleet.demo.standin_agent"


def runs_standin(program: Program) -> bool:
    """The running Python started as `python -m cafleet.demo.standin_agent` (what tests and the demo
    start), never a program that merely names the module or a file called like it."""
    return runs_python_module(program, MODULE)


def read_standin_screen(lines: list[str]) -> ScreenReading:
    """The latest marker line decides: `> ` the input line, `? ` a menu, `(working` busy,
    `(limited: ` a usage limit."""
    for line in reversed(lines):
        if line.startswith(LIMIT_MARK):
            what, _, resets = line[len(LIMIT_MARK) :].rstrip().rstrip(")").partition(" · resets ")
            return ScreenReading(AgentState.LIMITED, detail=what, resets=resets)
        if line.startswith(QUESTION_MARK):
            return ScreenReading(AgentState.ASKING, question=line[len(QUESTION_MARK) :].strip())
        if line.startswith("(working"):
            return ScreenReading(AgentState.BUSY)
        if line.rstrip() == PROMPT.rstrip():
            return ScreenReading(AgentState.READY)
        if line.startswith(PROMPT):
            return ScreenReading(AgentState.DRAFT, draft=line[len(PROMPT) :])
    return ScreenReading(AgentState.STARTING)
