"""The walk-through pages as a reader follows them: in order, each command where the page says.

A walk-through page (README.md, docs/quickstart.md, docs/run-a-team.md) tells its reader where
to type: "in the Director's pane", "in a second tmux window", "in a plain terminal". The last
such phrase before a code block says where that block runs, and it holds until the page names
another place, as it would for a reader. A page whose first command comes before any place is
an error: the reader would not know where to type it.

In a transcript block (lines starting with `$ `) each prompt line is a shell command and the
lines up to the next prompt are its documented output. In any other block, each line that
starts with `cafleet` is a command. A command runs as the reader would type it: the whole line
through bash, shell operators and all. A trailing `# exit N …` says it is documented to fail.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

from doc_commands import EXIT_NOTE, REPO, _blocks

WALKTHROUGHS = ("README.md", "docs/quickstart.md", "docs/run-a-team.md", "docs/worktrees.md")


class Place(enum.Enum):
    """Where a page tells its reader to type."""

    DIRECTOR_PANE = "the Director's pane"  # the pane the latest `fleet create` ran in
    NEW_WINDOW = "a new tmux window"  # a window opened for this block on (it becomes the
    # Director's pane once `fleet create` runs there)
    SECOND_WINDOW = "a second tmux window"  # a pane of the same tmux that is no agent's
    PLAIN_TERMINAL = "a plain terminal"  # outside tmux
    OWN_PANES = "each agent's own pane"  # a summary: each line is run by the agent it names


# The phrases a page uses to name each place (lower case; matched in the prose before a block).
PHRASES = {
    Place.DIRECTOR_PANE: ("in the director's pane:", "in one of its panes", "the director runs the commands itself"),
    Place.NEW_WINDOW: ("in a new tmux window",),
    Place.SECOND_WINDOW: ("in a second tmux window", "in the second window"),
    Place.PLAIN_TERMINAL: ("in a plain terminal", "from another terminal", "from any shell"),
    Place.OWN_PANES: ("each agent in its own pane",),
}
# Lines a reader types that are not cafleet's to test here (installing, starting tmux, the demo).
SETUP = re.compile(r"^(pip install|tmux new|python -m pytest|bash examples/|cafleet demo)")


class Step(NamedTuple):
    doc: str
    line: int  # 1-based, of the command
    place: Place
    told: int  # which naming of a place this is (the page's n-th), so "a new window" twice is two windows
    command: str  # the shell line as the reader types it (prompt removed)
    output: list[str] | None  # the documented output, for a transcript line
    expected_exit: int


def _places_in(prose: str) -> list[tuple[int, Place]]:
    text = " ".join(prose.lower().split()).replace("’", "'")
    found = []
    for place, phrases in PHRASES.items():
        for phrase in phrases:
            found += [(m.start(), place) for m in re.finditer(re.escape(phrase), text)]
    return sorted(found, key=lambda f: f[0])


def walkthrough(doc: str, text: str | None = None) -> list[Step]:
    """The page's commands, in order, each with the place the page says to run it in."""
    lines = (text if text is not None else (REPO / doc).read_text(encoding="utf-8")).splitlines()
    steps: list[Step] = []
    place: Place | None = None
    told = 0
    prose_from = 0
    for start, body, is_output in _blocks("\n".join(lines)):
        # The prose a reader has read before this block (the block's own fence line excluded).
        prose = "\n".join(
            line for line in lines[prose_from : start - 1] if not line.startswith("    ") and not line.lstrip().startswith("```")
        )
        places = _places_in(prose)
        if places:
            place = places[-1][1]
            told += 1
        prose_from = start - 1 + len(body)
        if is_output:
            continue
        steps += _steps_of(doc, start, body, place, told)
    return steps


def _steps_of(doc: str, start: int, body: list[str], place: Place | None, told: int) -> list[Step]:
    steps: list[Step] = []
    transcript = any(line.startswith("$ ") for line in body)
    for offset, raw in enumerate(body):
        line = raw.strip()
        if transcript:
            if not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ")
        if not line or SETUP.match(line) or (not transcript and not line.startswith("cafleet")):
            continue
        if place is None:
            raise ValueError(f"{doc}:{start + offset}: `{line}` comes before the page says where to run it")
        output = None
        if transcript:
            output = []
            for following in body[offset + 1 :]:
                if following.strip().startswith("$ "):
                    break
                output.append(following.rstrip())
            while output and not output[-1]:
                output.pop()
        note = EXIT_NOTE.search(line.partition(" #")[2]) if " #" in line else None
        steps.append(Step(doc, start + offset, place, told, line, output, int(note.group(1)) if note else 0))
    return steps
