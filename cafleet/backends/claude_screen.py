"""Reading Claude Code's screen (captured from claude-code 2.1.330; fixtures in
tests/fixtures/screens/claude). Claude draws inline: the input box is the `❯` line between
the last two horizontal rules, with the mode line under it.

Refusals from the provider (measured against the loopback model's error answers): while
claude retries, its spinner line says `… · retrying in 34s · attempt 1/10`; a subscription's
usage limit puts `⚠ Usage limit reached · limit resets 11:32pm` under the box until claude
continues by itself at that time (a reset days away asks what to do instead); anything else
ends the turn with one line under the user's turn (`● API Error: …`, `⎿  Context limit
reached …`) that stays the last thing shown until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import is_rule, last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

BOX_MARK = "❯"
# Grey hints claude shows in an empty box (a plain capture cannot see they are grey); the last
# two follow a turn that ended in an error.
PLACEHOLDERS = ("Press up to edit queued messages", "Once fixed, resend your message", "Resend your message to try again")
MENU_END = ("Esc to cancel", "Enter to confirm", "Esc to exit")
ENTRY = "● "  # what claude prints starts so; `⎿` lines under it (or under a user turn) belong to it
SUB_ENTRY = "⎿"
RETRYING = re.compile(r"^\S\s+(?P<what>.+?) · retrying in (?P<wait>[\dhms ]+?) · attempt \d+/\d+")
USAGE_FOOTER = re.compile(r"Usage limit reached · limit resets (?P<resets>.+?)\s*$")
RESETS = re.compile(r"· resets (?P<resets>.+?)\s*$")
CONTINUES_AT = re.compile(r"continue automatically at (?P<resets>.+?)\s*$")
# What ends a turn, by the first words of its line (an entry's text, without its mark).
REFUSALS = (
    (re.compile(r"(Usage limit reached|You've hit your .*limit)\b"), AgentState.LIMITED),
    (re.compile(r"Credit balance too low\b"), AgentState.LIMITED),
    (re.compile(r"(Please run /login|API Error: 401\b|Invalid API key|OAuth token has expired)"), AgentState.AUTH_EXPIRED),
    (re.compile(r"(Context limit reached|Prompt is too long)\b"), AgentState.CONTEXT_FULL),
    (re.compile(r"API Error: (Request rejected \(429\)|429\b|5\d\d\b|Overloaded)"), AgentState.LIMITED),
)
AUTH_WORDS = re.compile(r"\b401\b|OAuth token|API key|authentication", re.I)


def read_claude_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-30:]
    menu_end = last_index(tail, lambda line: line.strip().startswith(MENU_END))
    if menu_end is not None and last_index(tail, lambda line: line.strip().startswith(f"{BOX_MARK} 1."), menu_end) is not None:
        first_option = last_index(tail, lambda line: line.strip().startswith(f"{BOX_MARK} 1."), menu_end) or 0
        detail, resets = _limit_words(tail[:first_option])
        return ScreenReading(AgentState.ASKING, question=_question(tail, menu_end), detail=detail, resets=resets)
    lower = last_index(screen, is_rule)
    upper = last_index(screen, is_rule, lower) if lower is not None else None
    if lower is None or upper is None or not screen[upper + 1].lstrip().startswith(BOX_MARK):
        return ScreenReading(AgentState.STARTING)
    footer = " ".join(screen[lower + 1 :])
    box = [left_column(line) for line in screen[upper + 1 : lower]]
    box[0] = box[0].lstrip()[len(BOX_MARK) :].strip()
    draft = " ".join(part for part in box if part).strip()
    if draft.startswith(PLACEHOLDERS) or draft.startswith('Try "'):
        draft = ""
    held = _held(screen[:upper], screen[lower + 1 :], busy="esc to interrupt" in footer)
    if held is not None:
        return held._replace(box_open=held.box_open and not draft)
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=draft)
    if "esc to interrupt" in footer:
        return ScreenReading(AgentState.BUSY)
    return ScreenReading(AgentState.READY)


def _held(transcript: list[str], footer: list[str], busy: bool) -> ScreenReading | None:
    """A refusal the screen shows as the latest word: the usage-limit footer (claude continues
    by itself at the reset), a retry in the running turn's spinner line, or the line that
    ended the last turn."""
    turn = last_index(transcript, lambda line: line.startswith(BOX_MARK))  # the latest user turn
    latest = transcript[turn + 1 :] if turn is not None else transcript
    for line in footer:
        limit = USAGE_FOOTER.search(line)
        if limit:
            detail = _limit_words(latest)[0] or "Usage limit reached"
            return ScreenReading(AgentState.LIMITED, detail=detail, resets=limit["resets"])
    if busy:
        retry = next((m for line in reversed(latest) if (m := RETRYING.match(line.strip()))), None)
        if retry is None:
            return None
        state = AgentState.AUTH_EXPIRED if AUTH_WORDS.search(retry["what"]) else AgentState.RETRYING
        return ScreenReading(state, detail=retry["what"], resets=f"in {retry['wait']}")
    entry = last_index(latest, lambda line: line.startswith(ENTRY))
    said = [line.strip() for line in latest[entry or 0 :]]
    said = [line.lstrip("●⎿\xa0 ") for line in said if line.startswith((ENTRY.strip(), SUB_ENTRY))]
    for text in said:
        for words, state in REFUSALS:
            if words.match(text):
                _, resets = _limit_words(said)
                # The turn ended on this line; the box below it takes a new turn.
                return ScreenReading(state, detail=text, resets=resets if state == AgentState.LIMITED else "", box_open=True)
    return None


def _limit_words(lines: list[str]) -> tuple[str, str]:
    """The limit claude names in `lines` and when it resets: ("You've hit your 5-hour limit",
    "11:32pm (UTC)"), or empty strings."""
    said = [line.strip().lstrip("●⎿\xa0 ") for line in reversed(lines)]
    for text in said:
        if text.startswith("You've hit your"):
            resets = RESETS.search(text)
            return text.split(" · ")[0], resets["resets"] if resets else ""
    for text in said:
        continues = CONTINUES_AT.search(text)
        if continues:
            return text.split(" · ")[0], continues["resets"]
    return "", ""


def _question(tail: list[str], menu_end: int) -> str:
    """The prompt's question (`Do you want to proceed?`) with what it is about above it."""
    first_option = last_index(tail, lambda line: line.strip().startswith(f"{BOX_MARK} 1."), menu_end)
    if first_option is None:
        return ""
    above = [line.strip() for line in tail[max(0, first_option - 4) : first_option] if line.strip()]
    above = [line for line in above if not set(line) <= {"╌", "─", "▔"}]
    return " ".join(above[-3:])
