"""Option types that accept exactly what they document and refuse the rest as usage errors.

Python's int() and float() are generous: `٦` is 6, `1_0` is 10, `nan` is a float that
passes every range check, and an id of 2**63 overflows SQLite. Text the shell could not
decode arrives as lone surrogates that no database or terminal can store. Each type here
names the value and says what to pass instead.
"""

from __future__ import annotations

import math
import re

import click

from cafleet.core.limits import MAX_ID
from cafleet.core.terminal import one_line

_DIGITS = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_UNDECODABLE = re.compile(r"[\ud800-\udfff]")


SHOWN_CHARS = 80


def shown(value: str, limit: int | None = SHOWN_CHARS) -> str:
    """A user's value quoted for an error line: control characters escaped, a long one cut
    (a path is shown whole: `limit=None`)."""
    cut = value if limit is None or len(value) <= limit else value[:limit] + "…"
    return "'" + one_line(cut) + "'"


class WholeNumber(click.IntRange):
    """A whole number in ASCII digits within [min, max] (both given)."""

    name = "integer"

    def __init__(self, min: int, max: int, noun: str = "a whole number"):
        super().__init__(min=min, max=max)
        self.noun = noun
        self.low, self.high = min, max  # click's own min/max are optional; these are not

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not _DIGITS.fullmatch(text):
                self.fail(f"{shown(str(value))} is not {self.noun}; {self._wanted()}", param, ctx)
            # Compare lengths first: int() refuses (and slowly parses) numbers of thousands of digits.
            digits = text.lstrip("0") or "0"
            number = int(digits) if len(digits) <= len(str(self.high)) else self.high + 1
        if not self.low <= number <= self.high:
            self.fail(f"{shown(str(value))} is out of range; {self._wanted()}", param, ctx)
        return number

    def _wanted(self) -> str:
        return f"use a whole number from {self.low} to {self.high} in digits 0-9"


class Id(WholeNumber):
    """An agent, task or fleet id: 1 to SQLite's largest integer."""

    def __init__(self):
        super().__init__(1, MAX_ID, noun="an id")

    def _wanted(self) -> str:
        return f"ids are whole numbers from 1 to {MAX_ID} in digits 0-9, e.g. 7"

    def _describe_range(self) -> str:
        return "x>=1"  # the upper bound is SQLite's, not worth a line of every --help


class Seconds(click.FloatRange):
    """A finite number of seconds within [min, max], written as a plain decimal (`1.5`, `2e1`)."""

    name = "number"

    def __init__(self, min: float, max: float):
        super().__init__(min=min, max=max)
        self.low, self.high = min, max

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            text = str(value).strip()
            if not _DECIMAL.fullmatch(text):
                self.fail(f"{shown(str(value))} is not a number of seconds; {self._wanted()}", param, ctx)
            number = float(text)
        if not math.isfinite(number) or not self.low <= number <= self.high:
            self.fail(f"{shown(str(value))} is out of range; {self._wanted()}", param, ctx)
        return number

    def _wanted(self) -> str:
        return f"use a number of seconds from {self.low:g} to {self.high:g}, e.g. {max(self.low, min(30, self.high)):g}"


class Text(click.ParamType):
    """Text that is valid Unicode: the shell passes bytes that are not UTF-8 as lone surrogates."""

    name = "text"

    def convert(self, value, param, ctx) -> str:
        if not isinstance(value, str):
            return value
        bad = _UNDECODABLE.search(value)
        if bad:
            self.fail(
                f"{shown(value)} is not valid UTF-8 ({_describe(bad.group())} at character {bad.start()}); "
                "pass UTF-8 text (convert it with iconv, or check the terminal's encoding)",
                param,
                ctx,
            )
        return value


def _describe(char: str) -> str:
    code = ord(char)
    # surrogateescape maps an undecodable byte B to U+DC00+B.
    return f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"lone surrogate U+{code:04X}"


ID = Id()
TEXT = Text()
