"""Reading opencode's screen (captured from opencode 1.18.33; fixtures in
tests/fixtures/screens/opencode). opencode is full-screen: the input box is the run of `┃`
lines above the `╹▀▀▀` border at the bottom, whose last line names the agent and model."""

from __future__ import annotations

from cafleet.backends.screen_lines import last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_EDGE = "┃"
PERMISSION = "Permission required"


def _is_border(line: str) -> bool:
    return line.strip().startswith("╹▀")


def read_opencode_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-25:]
    asked = last_index(tail, lambda line: PERMISSION in line)
    if asked is not None:
        details = [left_column(line.strip().lstrip(BOX_EDGE)) for line in tail[asked + 1 : asked + 6]]
        return ScreenReading(AgentState.ASKING, question=" ".join(part for part in details if part))
    border = last_index(screen, _is_border)
    if border is None or border == 0:
        return ScreenReading(AgentState.STARTING)  # nothing drawn yet: input would be lost
    footer = " ".join(screen[border + 1 :])
    if "tab agents" in footer:
        return ScreenReading(AgentState.STARTING)  # the home screen: the spawn prompt is not sent yet
    top = border - 1  # the agent/model line
    while top > 0 and screen[top - 1].strip().startswith(BOX_EDGE):
        top -= 1
    box = [left_column(line.strip()[len(BOX_EDGE) :]) for line in screen[top : border - 1]]
    draft = " ".join(part for part in box if part).strip()
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=draft)
    if "esc interrupt" in footer:
        return ScreenReading(AgentState.BUSY)
    return ScreenReading(AgentState.READY)
