"""Reading Codex's screen (captured from codex 0.169.0; fixtures in
tests/fixtures/screens/codex). Codex draws inline: the input box is the last `›` line, and
once connected a status line (`model · cwd`) follows it."""

from __future__ import annotations

from cafleet.backends.screen_lines import last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_MARK = "› "
# Grey placeholders of an empty box (a plain capture cannot see they are grey).
PLACEHOLDERS = ("Ask Codex to do anything", "Ask a follow-up question")
APPROVAL = ("Would you like to run the following command?", "Press enter to confirm or esc to cancel")


def read_codex_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-25:]
    if any(line.strip().startswith(APPROVAL) for line in tail):
        return ScreenReading(AgentState.ASKING, question=_question(tail))
    box = last_index(screen, lambda line: line.startswith(BOX_MARK))
    if box is None:
        return ScreenReading(AgentState.STARTING)
    below = [line.strip() for line in screen[box + 1 :] if line.strip()]
    status = next((i for i, line in enumerate(below) if " · " in line and not line.startswith(("?", "←", "tab "))), None)
    if status is None:
        return ScreenReading(AgentState.STARTING)  # not connected yet: only `? for shortcuts`
    text = " ".join([left_column(screen[box][len(BOX_MARK) :]), *below[:status]]).strip()
    if text and text not in PLACEHOLDERS:
        return ScreenReading(AgentState.DRAFT, draft=text)
    # `Working (… esc to interrupt)` sits above the box, queued follow-ups between them.
    previous = last_index(screen, lambda line: line.startswith(BOX_MARK), box) or 0
    if any("esc to interrupt" in line for line in screen[max(previous, box - 8) : box]):
        return ScreenReading(AgentState.BUSY)
    return ScreenReading(AgentState.READY)


def _question(tail: list[str]) -> str:
    asked = [line.strip() for line in tail if line.strip().startswith(("Would you like", "$ "))]
    return " ".join(asked[-2:])
