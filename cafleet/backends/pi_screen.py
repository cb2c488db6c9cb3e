"""Reading pi's screen (captured from pi-coding-agent 0.73.1; fixtures in
tests/fixtures/screens/pi). Pi draws inline: its editor is the lines between the last two
rules, with no prompt mark (an empty editor is one blank line), and under it the working
directory and a line of token counts that ends with the model. A running turn shows
` ⠦ Working...` above the editor (` ⠸ Retrying (1/3) in 1s... (escape to cancel)` while it
retries a refused request); input submitted meanwhile waits above it, as `Steering: …`
(Enter: it joins the running turn) or `Follow-up: …` (Alt+Enter: its own turn afterwards).
A question from an extension (cafleet's gate) takes the editor's place: a `→ Yes` menu over
`↑↓ navigate  enter select  escape/ctrl+c cancel`.

Refusals (measured against the loopback model's error answers): pi retries a 429 three times
(`Error: 429 …` then `Retrying (n/3) …`), then ends the turn with `Error: Retry failed after 3
attempts: …`; any other refusal ends it at once with `Error: 401 …`, and a context that no
longer fits with `Context overflow recovery failed: …`. The line stays the last thing shown
until the next turn.
"""

from __future__ import annotations

import re

from cafleet.backends.screen_lines import is_rule, last_index, left_column, shown
from cafleet.core.agent_state import AgentState, ScreenReading

MENU_HINT = "↑↓ navigate"
MENU_CHOICE = re.compile(r"^\s*→ \S")
SPINNER = re.compile(r"^ [⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] (?P<what>.*)$")
RETRYING = re.compile(r"Retrying \(\d+/\d+\)(?: in (?P<wait>\d+(?:\.\d+)?[hms]?))?")
STATS = re.compile(r"^(?:↑\d.*)?\d+(?:\.\d+)?%/\S+")  # the footer's token counts (none before the first turn) and context
ERROR = re.compile(r"^ (?:Error: |Context overflow recovery failed: )(?P<said>.*)$")
REFUSALS = (
    (re.compile(r"\b401\b|Incorrect API key|invalid[_ ]api[_ ]key|Unauthorized|authenticat", re.I), AgentState.AUTH_EXPIRED),
    (
        re.compile(r"maximum context length|context_length_exceeded|context window|context overflow", re.I),
        AgentState.CONTEXT_FULL,
    ),
    (re.compile(r"quota|usage limit|\b429\b|billing|rate limit|Retry failed", re.I), AgentState.LIMITED),
)
AUTH_WORDS = re.compile(r"\b401\b|API key|Unauthorized", re.I)


def read_pi_screen(lines: list[str]) -> ScreenReading:
    screen = shown(lines)
    lower = last_index(screen, is_rule)
    upper = last_index(screen, is_rule, lower) if lower is not None else None
    if lower is None or upper is None or not any(STATS.search(line) for line in screen[lower + 1 :]):
        return ScreenReading(AgentState.STARTING)
    box = screen[upper + 1 : lower]
    if any(MENU_HINT in line for line in box):
        return _asking(box)
    draft = " ".join(part for line in box if (part := left_column(line))).strip()
    if draft:
        return ScreenReading(AgentState.DRAFT, draft=draft)
    above = screen[max(0, upper - 8) : upper]
    spinner = next((m for line in reversed(above) if (m := SPINNER.match(line))), None)
    if spinner is not None:
        retry = RETRYING.search(spinner["what"])
        if retry is None:
            return ScreenReading(AgentState.BUSY)
        error = next((m["said"].strip() for line in reversed(above) if (m := ERROR.match(line))), spinner["what"].strip())
        state = AgentState.AUTH_EXPIRED if AUTH_WORDS.search(error) else AgentState.RETRYING
        return ScreenReading(state, detail=error, resets=f"in {retry['wait']}" if retry["wait"] else "")
    if not any(line.strip() for line in screen[:upper]):
        return ScreenReading(AgentState.STARTING)  # the editor is drawn before anything is said
    return _refused(screen[:upper]) or ScreenReading(AgentState.READY)


def _asking(box: list[str]) -> ScreenReading:
    menu = next((i for i, line in enumerate(box) if MENU_CHOICE.match(line)), len(box))
    asked = [line.strip() for line in box[:menu] if line.strip()]
    return ScreenReading(AgentState.ASKING, question=" ".join(asked))


def _refused(transcript: list[str]) -> ScreenReading | None:
    """The error line that ended the latest turn (the last thing said), when it says the provider refuses."""
    said = last_index(transcript, lambda line: bool(line.strip()))
    if said is None:
        return None
    start = said
    while start >= 0 and not ERROR.match(transcript[start]):  # an error wraps onto lines of its own
        if said - start >= 3:
            return None
        start -= 1
    if start < 0:
        return None
    text = " ".join(line.strip() for line in transcript[start : said + 1])
    for words, state in REFUSALS:
        if words.search(text):
            return ScreenReading(state, detail=text, box_open=True)  # the refused turn has ended
    return None
