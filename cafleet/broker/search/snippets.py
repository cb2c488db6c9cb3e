"""A window of a message around its first match, for search results in the CLI and the TUI."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.core.text import ELLIPSIS


class Snippet(NamedTuple):
    """`text` shown, and where matches fall in it (codepoint offsets, half-open)."""

    text: str
    matches: tuple[tuple[int, int], ...]


def snippet(text: str, matches, width: int) -> Snippet:
    """At most `width` codepoints of `text` (plus `…` where cut), starting a little before the
    first match so it shows with some context. `matches` are (start, end) offsets in `text`."""
    if len(text) <= width:
        return Snippet(text, tuple((s, e) for s, e in matches))
    first = matches[0][0] if matches else 0
    start = max(0, min(first - width // 4, len(text) - width))
    end = start + width
    shown = text[start:end]
    lead = ELLIPSIS if start > 0 else ""
    tail = ELLIPSIS if end < len(text) else ""
    shift = len(lead) - start
    inside = tuple((max(s, start) + shift, min(e, end) + shift) for s, e in matches if s < end and e > start)
    return Snippet(lead + shown + tail, inside)
