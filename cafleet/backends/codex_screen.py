"""Reading Codex's screen (captured from codex 0.169.0; fixtures in
tests/fixtures/screens/codex). Codex draws inline: the input box is the last `›` line, and
once connected a status line (`model · cwd`) follows it.

Refusals from the provider (measured against the loopback model's error answers): while codex
retries, its working line says `Server is busy, reconnecting 1/5` or `Reconnecting... 2/5`
with the reason under it (`└ Selected model is at capacity.`), and no time of the next try;
when it gives up, or the refusal is final, a `■ ` line ends the turn (`■ You’ve hit your
usage limit. … try again at 11:38 PM.`) and stays the last thing shown until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_MARK = "› "
# Grey placeholders of an empty box (a plain capture cannot see they are grey).
PLACEHOLDERS = ("Ask Codex to do anything", "Ask a follow-up question")
APPROVAL = ("Would you like to run the following command?", "Press enter to confirm or esc to cancel")
ERROR_MARK = "■ "
ENTRY_MARKS = ("■ ", "• ", "◦ ", "› ", "└ ")
RECONNECTING = re.compile(r"^[•◦]\s+(Server is busy, reconnecting|Reconnecting\.\.\.) \d+/\d+")
TRY_AGAIN = re.compile(r"try again at (?P<resets>.+?)\.?$")
# A `■` line's first words and what they mean (codex words some as `You’ve`, some as `You've`).
REFUSALS = (
    (re.compile(r"You[’']ve hit your usage limit"), AgentState.LIMITED),
    (re.compile(r"Quota exceeded"), AgentState.LIMITED),
    (re.compile(r"exceeded retry limit, last status: 429"), AgentState.LIMITED),
    (re.compile(r"Selected model is at capacity"), AgentState.LIMITED),
    (
        re.compile(r"(unexpected status 401|.*\b401 Unauthorized)|.*(refresh token|sign in again|log in again)"),
        AgentState.AUTH_EXPIRED,
    ),
    (re.compile(r"Codex ran out of room in the model's context window"), AgentState.CONTEXT_FULL),
)
AUTH_WORDS = re.compile(r"\b401\b|Unauthorized|API key|token", re.I)


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
        return _reconnecting(screen[previous + 1 : box]) or ScreenReading(AgentState.BUSY)
    return _refused(screen[previous + 1 : box]) or ScreenReading(AgentState.READY)


def _reconnecting(latest: list[str]) -> ScreenReading | None:
    """The running turn retries a refused request: the reason is the `└` line under it."""
    working = last_index(latest, lambda line: bool(RECONNECTING.match(line.strip())))
    retry = RECONNECTING.match(latest[working].strip()) if working is not None else None
    if working is None or retry is None:
        return None
    why = next((line.strip()[2:].strip() for line in latest[working + 1 :] if line.strip().startswith("└ ")), "")
    state = AgentState.AUTH_EXPIRED if AUTH_WORDS.search(why) else AgentState.RETRYING
    return ScreenReading(state, detail=why or retry[1])


def _refused(latest: list[str]) -> ScreenReading | None:
    """The `■` line that ended the latest turn, when it says the provider refuses."""
    entry = last_index(latest, lambda line: line.startswith(ENTRY_MARKS))
    if entry is None or not latest[entry].startswith(ERROR_MARK):
        return None
    said = [latest[entry][len(ERROR_MARK) :].strip()]
    said += [line.strip() for line in latest[entry + 1 :] if line.strip()]  # codex wraps long lines itself
    text = " ".join(said)
    for words, state in REFUSALS:
        if words.match(text):
            resets = TRY_AGAIN.search(text) if state == AgentState.LIMITED else None
            # The box below the `■` line is empty (a draft was read first) and takes a new turn.
            return ScreenReading(state, detail=text, resets=resets["resets"] if resets else "", box_open=True)
    return None


def _question(tail: list[str]) -> str:
    asked = [line.strip() for line in tail if line.strip().startswith(("Would you like", "$ "))]
    return " ".join(asked[-2:])
