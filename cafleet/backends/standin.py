"""cafleet's stand-in agent (`python -m cafleet.demo.standin_agent`), which tests and the demo run
in place of a real one: recognising it, reading its screen, and starting it as `cafleet demo`'s
members (the `standin` coding agent, which answers its notices)."""

from __future__ import annotations

import sys

from cafleet.backends.base import Backend, SpawnContext, SpawnPlan
from cafleet.core.agent_state import AgentState, ScreenReading
from cafleet.core.domain import CodingAgent
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
    `(limited: ` a usage limit (an empty input line right under it keeps it limited, as
    codex's `■` line does until its next turn)."""
    shown = [line for line in lines if line.strip()]
    for index in range(len(shown) - 1, -1, -1):
        line = shown[index]
        if line.startswith(LIMIT_MARK):
            return _limited(line)
        if line.startswith(QUESTION_MARK):
            return ScreenReading(AgentState.ASKING, question=line[len(QUESTION_MARK) :].strip())
        if line.startswith("(working"):
            return ScreenReading(AgentState.BUSY)
        if line.rstrip() == PROMPT.rstrip():
            above = shown[index - 1] if index else ""
            return _limited(above, box_open=True) if above.startswith(LIMIT_MARK) else ScreenReading(AgentState.READY)
        if line.startswith(PROMPT):
            return ScreenReading(AgentState.DRAFT, draft=line[len(PROMPT) :])
    return ScreenReading(AgentState.STARTING)


def _limited(line: str, box_open: bool = False) -> ScreenReading:
    what, _, resets = line[len(LIMIT_MARK) :].rstrip().removesuffix(")").partition(" · resets ")
    return ScreenReading(AgentState.LIMITED, detail=what, resets=resets, box_open=box_open)


def answering_standin(executable: str, name: str, prompt: str = "") -> list[str]:
    """The argv of a stand-in that answers its notices as `name`. Without a prompt naming its
    fleet and agent it finds them out as a real agent would, with `cafleet whoami`."""
    return [executable, "-m", MODULE, "--demo", "--name", name, *([prompt] if prompt else [])]


class Standin(Backend):
    """The `standin` coding agent: never offered as a choice, spawned by `cafleet demo`."""

    name = CodingAgent.STANDIN
    binary = sys.executable  # absolute: `locate` finds it as it is
    min_rows = 4  # its box and status line

    def plan(self, context: SpawnContext) -> SpawnPlan:
        return SpawnPlan(answering_standin(context.executable, context.name, context.prompt), {}, ())

    def find_session(self, probe) -> str | None:
        return None  # the demo's members save no conversation

    def runs_agent(self, program: Program) -> bool:
        return runs_standin(program)

    def read_screen(self, lines: list[str]) -> ScreenReading:
        return read_standin_screen(lines)
