"""Reading Claude Code's screen (captured from claude-code 2.1.330; fixtures in
tests/fixtures/screens/claude). Claude draws inline: the input box is the `❯` line between
the last two horizontal rules, with the mode line under it."""

from __future__ import annotations

from cafleet.backends.screen_lines import last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_MARK = "❯"
# Grey hints claude shows in an empty box (a plain capture cannot see they are grey).
PLACEHOLDERS = ("Press up to edit queued messages",)
MENU_END = ("Esc to cancel", "Enter to confirm", "Esc to exit")


def _is_rule(line: str) -> bool:
    # The upper rule may carry the session's name: `──────── worker ─`.
    return line.startswith("─" * 10)


def read_claude_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-30:]
    menu_end = last_index(tail, lambda line: line.strip().startswith(MENU_END))
    if menu_end is not None and last_index(tail, lambda line: line.strip().startswith(f"{BOX_MARK} 1."), menu_end) is not None:
        return ScreenReading(AgentState.ASKING, question=_question(tail, menu_end))
    lower = last_index(screen, _is_rule)
    upper = last_index(screen, _is_rule, lower) if lower is not None else None
    if lower is None or upper is None or not screen[upper + 1].lstrip().startswith(BOX_MARK):
        return ScreenReading(AgentState.STARTING)
    box = [left_column(line) for line in screen[upper + 1 : lower]]
    box[0] = box[0].lstrip()[len(BOX_MARK) :].strip()
    draft = " ".join(part for part in box if part).strip()
    if draft and not draft.startswith(PLACEHOLDERS) and not draft.startswith('Try "'):
        return ScreenReading(AgentState.DRAFT, draft=draft)
    footer = " ".join(screen[lower + 1 :])
    if "esc to interrupt" in footer:
        return ScreenReading(AgentState.BUSY)
    return ScreenReading(AgentState.READY)


def _question(tail: list[str], menu_end: int) -> str:
    """The prompt's question (`Do you want to proceed?`) with what it is about above it."""
    first_option = last_index(tail, lambda line: line.strip().startswith(f"{BOX_MARK} 1."), menu_end)
    if first_option is None:
        return ""
    above = [line.strip() for line in tail[max(0, first_option - 4) : first_option] if line.strip()]
    above = [line for line in above if not set(line) <= {"╌", "─"}]
    return " ".join(above[-3:])
