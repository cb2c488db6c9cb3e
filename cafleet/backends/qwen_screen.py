"""Reading Qwen Code's screen (captured from qwen-code 0.24.4; fixtures in
tests/fixtures/screens/qwen). Qwen draws inline: the input box is the `>` line between the last
two rules (`!` in shell mode), and under it `➜ <dir> · <model>` and the mode line (`⏸ Ask
permissions (shift + tab to cycle)`). The empty box shows the placeholder `Type your message or
@path/to/file`; a typed draft with the cursor at its end ends in U+200B. The box is drawn a
moment before the prompt qwen was started with is submitted: while the banner has no user
turn under it, it is starting. A running turn shows
`<phrase>... (3s · esc to cancel)` above the box and `Enter to steer · Ctrl+Q to queue` in the
mode line: Enter joins the running turn, Ctrl+Q queues the input for the next one. A tool's
approval replaces nothing: its menu (`› 1. Yes, allow once`) sits above `Waiting for user
confirmation...`, over the box.

Qwen follows a finished turn with a grey suggested prompt in the empty box, which a plain
capture cannot tell from typed text: members are started with suggestions off.

`!` on an empty box turns on shell mode (`shell mode enabled (esc to disable)`), which stays
on after a command: typed text would run in the shell, so the box is read as asking until `!`
turns it off (and while a command runs, `⊷ Shell Command …`, input is taken unseen).

Refusals (measured against the loopback model's error answers): 429s are retried without a
word (the turn keeps running); a final error ends the turn with `✕ [API Error: 401 …] (Press
Ctrl+Y to retry)` under the user's turn, the last thing shown until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import is_rule, last_index, left_column, shown
from cafleet.core.agent_state import SHELL_MODE_QUESTION, AgentState, ScreenReading

INPUT_LINE = re.compile(r"^(?P<mark>[>!]) (?P<text>.*)$")
PLACEHOLDER = "Type your message or @path/to/file"
CURSOR_END = "\u200b"
SHELL_MARK = "!"
BUSY = "esc to cancel)"
STEER = "Enter to steer"  # the mode line's hint while a turn runs
ASKING = "Waiting for user confirmation"
MENU_CHOICE = re.compile(r"^\s*› 1\. ")
RUNNING_COMMAND = "⊷ "
# While a shell command runs, typed text is taken unseen: nothing is typed, not even the `!`
# that would turn shell mode off (it would join the hidden text).
SHELL_COMMAND_RUNS = "a shell command runs in shell mode: typed text would join the next shell command"
ERROR_MARK = "✕ "
USER_TURN = re.compile(r"^  > \S")
BANNER = "Qwen Code (v"
API_ERROR = re.compile(r"^\[API Error: (?P<said>.*?)\](?=\s|$)")
REFUSALS = (
    (re.compile(r"\b401\b|Incorrect API key|invalid[_ ]api[_ ]key|Unauthorized|authenticat", re.I), AgentState.AUTH_EXPIRED),
    (re.compile(r"maximum context length|context_length_exceeded|context window|too many tokens", re.I), AgentState.CONTEXT_FULL),
    (re.compile(r"quota|usage limit|\b429\b|billing|rate limit", re.I), AgentState.LIMITED),
)


def read_qwen_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    tail = screen[-30:]
    lower = last_index(screen, is_rule)
    upper = last_index(screen, is_rule, lower) if lower is not None else None
    if any(ASKING in line for line in screen[-4:]):
        return _asking(tail)
    if lower is None or upper is None or lower - upper < 2 or not INPUT_LINE.match(screen[upper + 1]):
        return ScreenReading(AgentState.STARTING)
    first = INPUT_LINE.match(screen[upper + 1])
    assert first is not None  # checked above
    box = [first["text"], *(line for line in screen[upper + 2 : lower])]
    draft = " ".join(left_column(line).replace(CURSOR_END, "") for line in box).strip()
    above = screen[max(0, upper - 3) : upper]
    if draft == PLACEHOLDER:
        draft = ""
    if first["mark"] == SHELL_MARK and not draft:
        running = any(line.strip().startswith(RUNNING_COMMAND) for line in above)
        return ScreenReading(AgentState.ASKING, question=SHELL_COMMAND_RUNS if running else SHELL_MODE_QUESTION)
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=f"{SHELL_MARK} {draft}" if first["mark"] == SHELL_MARK else draft)
    banner = last_index(screen, lambda line: BANNER in line, upper)
    if banner is not None and not any(USER_TURN.match(line) for line in screen[banner:upper]):
        # The box is drawn a moment before the prompt qwen was started with is submitted.
        return ScreenReading(AgentState.STARTING)
    footer = " ".join(screen[lower + 1 :])
    if STEER in footer or any(BUSY in line for line in screen[max(0, upper - 8) : upper]):
        return ScreenReading(AgentState.BUSY)
    return _refused(screen[:upper]) or ScreenReading(AgentState.READY)


def _asking(tail: list[str]) -> ScreenReading:
    """The question above the menu (`Allow execution of: 'touch'?`) and what it is about."""
    menu = last_index(tail, lambda line: bool(MENU_CHOICE.match(line)))
    above = [line.strip() for line in tail[max(0, (menu or len(tail)) - 6) : menu] if line.strip()]
    return ScreenReading(AgentState.ASKING, question=" ".join(above[-3:]))


def _refused(transcript: list[str]) -> ScreenReading | None:
    """The `✕ [API Error: …]` that ended the latest turn, when it says the provider refuses."""
    turn = last_index(transcript, lambda line: bool(USER_TURN.match(line)))
    latest = transcript[turn + 1 :] if turn is not None else transcript
    error = last_index(latest, lambda line: line.strip().startswith(ERROR_MARK))
    if error is None:
        return None
    said = [latest[error].strip()[len(ERROR_MARK) :]]
    said += [line.strip() for line in latest[error + 1 :] if line.startswith("    ") and line.strip()]
    text = " ".join(said)
    api = API_ERROR.match(text)
    text = api["said"] if api else text
    for words, state in REFUSALS:
        if words.search(text):
            return ScreenReading(state, detail=text, box_open=True)  # the refused turn has ended
    return None
