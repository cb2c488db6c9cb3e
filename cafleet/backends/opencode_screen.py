"""Reading opencode's screen (captured from opencode 1.18.33; fixtures in
tests/fixtures/screens/opencode). opencode is full-screen: the input box is the run of `┃`
lines above the `╹▀▀▀` border at the bottom, whose last line names the agent and model. Each
turn ends in a `▣  Agent · model` line, drawn as the turn begins (its duration added at the
end); a session showing its first message and none yet has not begun its first turn.

Refusals from the provider (measured against the loopback model's error answers): opencode
retries every 429 and 5xx by itself, showing the provider's message in the footer
(`⬝⬝⬝ Rate limit reached … [retrying in 39s attempt #1]`), so a spent usage limit or quota
reads there too, by its words; its countdown is to its next attempt (waits grow to ~37 s), and
after about 70 s of a usage limit it gives up. A final error is a `┃` block of its own just
above the turn's closing `▣  Agent · model` line (`Incorrect API key provided`, `Conversation
history too large to compact`, `The usage limit has been reached`), and stays the last thing
shown until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_EDGE = "┃"
PERMISSION = "Permission required"
TURN_END = "▣"
RETRY = re.compile(r"(?P<what>[^⬝■]*?)\s*\[?retrying (?:in (?P<wait>[\dhms ]+?) )?attempt #\d+\]")
LIMIT_WORDS = re.compile(r"usage limit|quota|hit your .*limit|billing|credit", re.I)
AUTH_WORDS = re.compile(
    r"api[ _-]?key|\b401\b|unauthori[sz]ed|authentication|token (?:has )?(?:expired|been revoked)|log ?in again", re.I
)
CONTEXT_WORDS = re.compile(
    r"too large to compact|context overflow|context (?:window|length|limit)|maximum context|prompt is too long", re.I
)
# The home screen (the logo, the box in the middle, the spawn prompt not sent yet) has these
# hints alone on the line under its box. A session's footer line starts with the working
# directory and shows the same hints until an answer was counted: in a session resumed after its
# first turn was lost (killed before the answer came), which is ready for input.
HOME_HINTS = "tab agents"
# Transcript text starts in the first columns; deeper text is the sidebar beside it.
TRANSCRIPT_INDENT = 20
# Inside a `┃` line, text starts two columns after the edge; after a gap this wide it is a panel's.
PANEL_GAP = 6


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
    footer = " ".join(line.strip() for line in screen[border + 1 :])
    if footer.startswith(HOME_HINTS):
        return ScreenReading(AgentState.STARTING)  # the home screen: the spawn prompt is not sent yet
    top = border - 1  # the agent/model line
    while top > 0 and screen[top - 1].strip().startswith(BOX_EDGE):
        top -= 1
    retrying = RETRY.search(footer)
    if retrying:
        return _retrying(retrying)
    box = [_left_text(line) for line in screen[top : border - 1]]
    draft = " ".join(part for part in box if part).strip()
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=draft)
    if "esc interrupt" in footer:
        return ScreenReading(AgentState.BUSY)
    if _prompt_not_sent(screen[:top]):
        return ScreenReading(AgentState.STARTING)
    return _refused(screen[:top]) or ScreenReading(AgentState.READY)


def _prompt_not_sent(transcript: list[str]) -> bool:
    """The session shows the spawn prompt a moment before opencode sends it, and what is typed
    meanwhile joins that prompt's request: the transcript ends in a message block and no turn
    has begun (no `▣` line). A pane too short to show any transcript tells nothing."""
    shown_lines = [line for line in transcript if _in_transcript(line)]
    if not shown_lines or not shown_lines[-1].strip().startswith(BOX_EDGE):
        return False
    return not any(line.strip().startswith(TURN_END) for line in shown_lines)


def _retrying(match: re.Match) -> ScreenReading:
    what = match["what"].strip()
    resets = f"in {match['wait']}" if match["wait"] else ""
    if AUTH_WORDS.search(what):
        return ScreenReading(AgentState.AUTH_EXPIRED, detail=what, resets=resets)
    if LIMIT_WORDS.search(what):
        # Its countdown is to its own next attempt, not to the limit's reset (it shows none).
        return ScreenReading(AgentState.LIMITED, detail=what)
    return ScreenReading(AgentState.RETRYING, detail=what, resets=resets)


def _refused(transcript: list[str]) -> ScreenReading | None:
    """The error block that closed the latest turn, when it says the provider refuses."""
    end = last_index(transcript, lambda line: line.strip().startswith(TURN_END))
    if end is None:
        return None
    above = last_index(transcript, _in_transcript, end)
    if above is None or not transcript[above].strip().startswith(BOX_EDGE):
        return None
    block: list[str] = []
    while above is not None and above >= 0 and transcript[above].strip().startswith(BOX_EDGE):
        block.insert(0, _left_text(transcript[above]))
        above -= 1
    text = " ".join(part for part in block if part)
    for words, state in (
        (AUTH_WORDS, AgentState.AUTH_EXPIRED),
        (CONTEXT_WORDS, AgentState.CONTEXT_FULL),
        (LIMIT_WORDS, AgentState.LIMITED),
    ):
        if words.search(text):
            # Read only once the box was seen empty and no turn runs: the box takes a new turn.
            return ScreenReading(state, detail=text, box_open=True)
    return None


def _left_text(line: str) -> str:
    """A `┃` line's own text: none when all it holds sits far right, in the box's right panel
    (where a long working directory wraps) or beside a message (the sidebar)."""
    inside = line.strip()[len(BOX_EDGE) :]
    return "" if len(inside) - len(inside.lstrip()) >= PANEL_GAP else left_column(inside)


def _in_transcript(line: str) -> bool:
    """A line with transcript text (not blank, not only the sidebar's)."""
    return bool(line.strip()) and len(line) - len(line.lstrip()) < TRANSCRIPT_INDENT
