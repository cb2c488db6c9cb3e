"""Message bodies and other free text: what is accepted, and how bodies are shortened for display."""

from __future__ import annotations

import re
import unicodedata

from cafleet.core.config import MAX_MESSAGE_BYTES
from cafleet.core.errors import Field, InvalidInput

ELLIPSIS = "…"
# Control and format characters, separators: nothing a reader can see.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def counted(count: int, noun: str) -> str:
    """`1 message`, `2 messages`: a count with its noun, singular for one."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def is_blank(text: str) -> bool:
    """True when `text` holds nothing visible: only whitespace, control or format characters."""
    return all(char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text)


def refuse_lone_surrogates(text: str, what: str | Field) -> None:
    """Text decoded from bytes that are not UTF-8 holds lone surrogates, which SQLite and
    terminals cannot take; raise `InvalidInput` naming where it came from (a `Field`: each
    face names it in its own terms)."""
    bad = _LONE_SURROGATE.search(text)
    if bad:
        problem = (
            f"is not valid UTF-8 (U+{ord(bad.group()):04X} at character {bad.start()}); pass UTF-8 text (convert it with iconv)"
        )
        if isinstance(what, Field):
            raise InvalidInput(problem, field=what, value=text, names_field=True)
        raise InvalidInput(f"{what} {problem}")


def validate_body(text: str, source: str | None = None) -> str:
    """Return `text` if it is a storable message body, else raise `InvalidInput`. `source` is
    where the face took the text from, in its own words (`--text`, `the composer`)."""
    what = "message text" if source is None else f"message text from {source}"
    refuse_lone_surrogates(text, what)
    if is_blank(text):
        raise InvalidInput(f"{what} is empty (nothing but whitespace or control characters); give the message some text")
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidInput(
            f"{what} is {size:,} bytes, over the {MAX_MESSAGE_BYTES:,}-byte limit; "
            "send a shorter summary and point to a file for the rest"
        )
    return text


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """Cut to `limit` codepoints plus `…`; returns (text, was_cut). Never splits a codepoint."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + ELLIPSIS, True


def decode_body(data: bytes, source: str) -> str:
    """Decode a text file's bytes as UTF-8, or say exactly where it is not."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise InvalidInput(
            f"{source} is over the {MAX_MESSAGE_BYTES:,}-byte message limit; send a shorter summary and point to the file instead"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{source} is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8 first, e.g. with iconv"
        ) from None
