"""`cafleet message search`: full-text search over the messages you may see."""

from __future__ import annotations

import os
import re
import sys

import click

from cafleet.cli.output import emit, task_json, task_lines, wants_json
from cafleet.cli.params import agent_id_option, full_option
from cafleet.cli.settings import CafleetCommand, require_fleet
from cafleet.store.db import open_database

MAX_LIMIT = 500
# Shown around a match when stdout is not a terminal (agents, pipes). The message's own
# brackets of this kind are escaped as \u27e6 / \u27e7, so a bracket shown is always a mark.
MARK_OPEN, MARK_CLOSE = "⟦", "⟧"
# Control characters (but newline and tab), bidi controls and line separators: printed raw
# they would move the cursor or reorder what the reader sees, so they are shown escaped.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\u27e6\u27e7]")


@click.command("search", cls=CafleetCommand)
@agent_id_option()
@click.argument("query", metavar="QUERY")
@click.option(
    "--from", "sender", metavar="ID|NAME", help="Only messages from this agent (an id or a name, also of a deregistered agent)."
)
@click.option("--since", metavar="TIME", help="Only messages sent at or after this ISO-8601 time (UTC if no offset).")
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_LIMIT),
    default=20,
    show_default=True,
    metavar="N",
    help=f"At most this many results (1-{MAX_LIMIT}).",
)
@full_option
def search_command(agent_id, query, sender, since, limit, full):
    """Messages you sent or received that match QUERY, best match first.

    Every word must occur (`review parser`); "a phrase" in double quotes matches as written;
    `tok*` matches words that start with tok. Words match in any form (review, reviews,
    reviewed). The Administrator and the Director search the whole fleet.
    """
    from cafleet.broker.search import search_messages
    from cafleet.broker.search.snippets import snippet
    from cafleet.core.config import max_text_len
    from cafleet.core.timestamps import parse_user_time

    fleet_id = require_fleet()
    since_stamp = parse_user_time(since, "--since") if since else None
    open_database()
    hits = search_messages(fleet_id, agent_id, query, sender_ref=sender, since=since_stamp, limit=limit)
    shown = [snippet(h.task.text, h.matches, len(h.task.text) if full else max_text_len()) for h in hits]
    if wants_json():
        emit(
            [
                {**task_json(h.task, full), "score": h.score, "snippet": s.text, "snippet_matches": [list(m) for m in s.matches]}
                for h, s in zip(hits, shown, strict=True)
            ],
            lambda: "",
        )
        return
    if not hits:
        click.echo(f"No messages match {_escape(query)!r}.")
        return
    styled = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    blocks = []
    for hit, shot in zip(hits, shown, strict=True):
        header = task_lines(hit.task, full, with_state=True, recipient=True).split("\n", 1)[0]
        body = _marked(shot, styled)
        blocks.append("\n".join([header] + ["  " + line for line in body.split("\n")]))
    # Printed directly, not through emit(): the marks are ours and the text is escaped here.
    click.echo("\n".join(blocks))


def _marked(shot, styled: bool) -> str:
    """The snippet with its matches bold (on a terminal) or between ⟦ ⟧, text escaped."""
    parts, at = [], 0
    for start, end in shot.matches:
        parts.append(_escape(shot.text[at:start]))
        match = _escape(shot.text[start:end])
        parts.append(click.style(match, bold=True, underline=True) if styled else MARK_OPEN + match + MARK_CLOSE)
        at = end
    parts.append(_escape(shot.text[at:]))
    return "".join(parts)


def _escape(text: str) -> str:
    def spelled(match: re.Match) -> str:
        code = ord(match.group())
        if match.group() == "\r":
            return "\\r"
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _UNSAFE.sub(spelled, text)
