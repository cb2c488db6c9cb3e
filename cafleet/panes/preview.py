"""The inline preview: the one-line notice typed into a recipient's pane."""

from __future__ import annotations

from cafleet.core.config import max_text_len
from cafleet.core.text import truncate
from cafleet.core.timestamps import short
from cafleet.panes.safety import clean, inert_bangs, newlines_as_symbol, safe_ending


def preview_text(task_id: int, sender_name: str, sender_id: int, created_at: str, text: str) -> str:
    """`[cafleet msg 12 from planner#3 2026-11-21T11:29:04Z] ` and the text cut, on one line.

    It starts with a fixed tag: a leading `!` or `/` would make the agent run a shell
    command or a slash command. One line: a line break could be taken as Enter (see
    `keystrokes.submit`), submitting the header alone and the text as a second input. For
    the same reason a `!` in the text is typed as `！` (`safety.inert_bangs`).
    """
    header = f"[cafleet msg {task_id} from {clean(sender_name)}#{sender_id} {short(created_at)}]"
    body, _ = truncate(inert_bangs(clean(newlines_as_symbol(text))), max_text_len())
    return f"{header} {safe_ending(body)}"


def notice_marker(task_id: int) -> str:
    """The start of task `task_id`'s notice: how a courier recognises its own text on screen."""
    return f"[cafleet msg {task_id} from "
