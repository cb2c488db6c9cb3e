"""Reading Gemini CLI's screen (captured from gemini-cli 0.61.0; fixtures in
tests/fixtures/screens/gemini). Gemini draws inline: under the transcript a rule, the mode
line (`Shift+Tab to accept edits`, `YOLO Ctrl+Y`, …), then the input line ` >   Type your
message or @path/to/file` (the placeholder; `*` instead of `>` in yolo mode), then the
`workspace (/directory) … sandbox … /model` footer. The box is drawn a moment before the
prompt gemini was started with is submitted: while the banner is all there is, it is starting.
A running turn shows ` ⠹ Thinking...
(esc to cancel, 3s)` above the rule, and input submitted meanwhile is queued (`Queued
(press ↑ to edit):`). A question (a tool's approval, a usage-limit choice) replaces the input
line with a `│` box holding a numbered menu whose choice is marked `●`.

`!` on an empty box turns on shell mode (` !   Type your shell command`, `shell mode enabled
(esc to disable)`), which stays on after a command ran: text typed then runs in the shell,
so the box is read as asking (nothing is typed) until `!` turns it off again.

Refusals from the provider (measured against the loopback model's error answers): gemini
retries 429 and 503 by itself without a word (the turn just keeps `Thinking...`); a spent
daily quota asks `Usage limit reached for all Pro models.` (`1. Keep trying`, `2. Stop`);
anything final ends the turn with `✕ [API Error: …]` under the user's turn, which stays the
last thing shown until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import is_rule, last_index, left_column, shown
from cafleet.core.agent_state import SHELL_MODE_QUESTION, AgentState, ScreenReading

# The input line's mark, by approval mode: `>` (default, auto-edit, plan), `*` (yolo), `!` (shell mode).
INPUT_LINE = re.compile(r"^ (?P<mark>[>*!]) (?P<text>.*)$")
PLACEHOLDERS = ("Type your message or @path/to/file", "Type your shell command")
SHELL_MARK = "!"
FOOTER = "workspace (/directory)"
BUSY = "(esc to cancel"
MENU_CHOICE = re.compile(r"^[│ ]*● 1\. ")
ERROR_MARK = "✕ "
SHORTCUTS = "? for shortcuts"
# What gemini shows at start: its logo and banner, its tips, and notes (`⚠ Warning: …`, `ℹ …`).
BANNER_MARKS = ("▝▜▄", "▗▟▀", "▝▀", "Gemini CLI v", "Authenticated with", "Tips for getting started:")
NOTE_MARKS = ("⚠", "ℹ")
TIP = re.compile(r"^\d\. \S")
BOX_CHARACTERS = "│╭╮╰╯ "
API_ERROR = re.compile(r"^\[API Error: (?P<said>.*?)\](?=\s|$)")
# A user's turn in the transcript: ` > text` (or `*`/`!`) flush left, like the input line.
USER_TURN = re.compile(r"^ [>*!] \S")
REFUSALS = (
    (
        re.compile(r"API key (expired|not valid)|API_KEY_INVALID|\b401\b|UNAUTHENTICATED|PERMISSION_DENIED", re.I),
        AgentState.AUTH_EXPIRED,
    ),
    (re.compile(r"exceeds the maximum number of tokens|input token count|context window", re.I), AgentState.CONTEXT_FULL),
    (re.compile(r"quota|usage limit|RESOURCE_EXHAUSTED|\b429\b|billing", re.I), AgentState.LIMITED),
)


def read_gemini_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-30:]
    footer = last_index(screen, lambda line: line.lstrip().startswith(FOOTER))
    menu = last_index(tail, lambda line: bool(MENU_CHOICE.match(line)))
    rule = last_index(screen, is_rule, footer) if footer is not None else None
    if menu is not None and (rule is None or len(screen) - len(tail) + menu > rule):
        return _asking(tail, menu)
    if footer is None or rule is None:
        return ScreenReading(AgentState.STARTING)
    entry = next((i for i in range(rule + 1, footer) if INPUT_LINE.match(screen[i])), None)
    if entry is None:
        return ScreenReading(AgentState.STARTING)
    line = INPUT_LINE.match(screen[entry])
    assert line is not None  # found by it
    box = [left_column(line["text"])]
    for text in screen[entry + 1 : footer]:  # a long draft wraps onto indented lines; a pop-up follows a blank line
        if not text.startswith("   ") or not text.strip():
            break
        box.append(left_column(text))
    draft = " ".join(part for part in box if part).strip()
    if draft in PLACEHOLDERS:
        draft = ""
    if line["mark"] == SHELL_MARK and not draft:
        return ScreenReading(AgentState.ASKING, question=SHELL_MODE_QUESTION)
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=(SHELL_MARK + " " + draft) if line["mark"] == SHELL_MARK else draft)
    above = screen[max(0, rule - 3) : rule]
    if any(BUSY in text for text in above):
        return ScreenReading(AgentState.BUSY)
    if _before_first_turn(screen[:rule]):
        return ScreenReading(AgentState.STARTING)
    return _refused(screen[:rule]) or ScreenReading(AgentState.READY)


def _before_first_turn(transcript: list[str]) -> bool:
    """Gemini draws its empty box a second or two before it submits the prompt it was started
    with, and redraws the screen then, dropping what was typed: while the transcript holds only
    what gemini shows at start (its banner, tips, `⚠`/`ℹ` notes), nothing has been said yet.
    Lines whose start scrolled away count as said: only a block seen from its first line is
    known to be a start-up note."""
    in_note = False
    for line in transcript:
        text = line.strip()
        if not text or text == SHORTCUTS:
            continue
        if line.startswith(NOTE_MARKS) or any(mark in line for mark in BANNER_MARKS) or TIP.match(line):
            in_note = True
        elif not (in_note and line.startswith("  ")):
            return False
    return True


def _asking(tail: list[str], menu: int) -> ScreenReading:
    """A numbered menu in a box: the question is the box's text above its options."""
    top = last_index(tail, lambda line: line.lstrip().startswith("╭"), menu)
    inside = [line.strip(BOX_CHARACTERS) for line in tail[(top or max(0, menu - 8)) + 1 : menu]]
    inside = [text for text in inside if text and not set(text) <= set(BOX_CHARACTERS + "─")]
    asked = last_index(inside, lambda text: text.endswith("?"))
    question = " ".join(inside[: asked + 1] if asked is not None else inside)
    limited = next((text for text in inside if re.search(r"usage limit|quota", text, re.I)), "")
    return ScreenReading(AgentState.ASKING, question=question, detail=limited)


def _refused(transcript: list[str]) -> ScreenReading | None:
    """The `✕ [API Error: …]` that ended the latest turn, when it says the provider refuses."""
    turn = last_index(transcript, lambda line: bool(USER_TURN.match(line)))
    latest = transcript[turn + 1 :] if turn is not None else transcript
    error = last_index(latest, lambda line: line.startswith(ERROR_MARK))
    if error is None:
        return None
    said = [latest[error][len(ERROR_MARK) :].strip()]
    for line in latest[error + 1 :]:  # its wrapped continuation lines are indented
        if not line.startswith("  ") or not line.strip():
            break
        said.append(line.strip())
    text = " ".join(said)
    api = API_ERROR.match(text)
    text = api["said"] if api else text
    for words, state in REFUSALS:
        if words.search(text):
            return ScreenReading(state, detail=_message(text), box_open=True)  # the refused turn has ended
    return None


def _message(text: str) -> str:
    """The provider's own message where the error is its JSON body, else the words shown."""
    found = re.search(r'"message":"(?P<message>(?:[^"\\]|\\.)*)"', text)
    return found["message"] if found else text
