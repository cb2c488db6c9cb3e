"""Small helpers shared by the backends' screen readers."""

from __future__ import annotations

import re

_WIDE_GAP = re.compile(r"\s{6,}")


def shown(lines: list[str]) -> list[str]:
    """The captured lines without trailing blank ones (the screen below the last output)."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    return lines[:end]


def last_index(lines: list[str], predicate, start: int | None = None) -> int | None:
    """Index of the last line (before `start`) for which `predicate` holds."""
    for index in range(len(lines) - 1 if start is None else start - 1, -1, -1):
        if predicate(lines[index]):
            return index
    return None


def left_column(text: str) -> str:
    """The text before a wide gap: side panels and right-aligned hints are not input."""
    return _WIDE_GAP.split(text.strip(), 1)[0] if text.strip() else ""


def is_rule(line: str) -> bool:
    """A horizontal rule drawn flush left: the input box's borders of claude, gemini, qwen and
    pi (claude's upper rule may carry the session's name: `──────── worker ─`)."""
    return line.startswith("─" * 10)
