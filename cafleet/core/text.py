"""Message bodies and other free text: what is accepted, and how bodies are shortened for display."""

from __future__ import annotations

import re
import unicodedata

from cafleet.core.config import MAX_MESSAGE_BYTES
from cafleet.core.errors import InvalidInput

ELLIPSIS = "…"
# Control and format characters, separators: nothing a reader can see.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def is_blank(text: str) -> bool:
    """True when `text` holds nothing visible: only whitespace, control or format characters."""
    return all(char.isspace() or unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in text)


def refuse_lone_surrogates(text: str, what: str) -> None:
    """Text decoded from bytes that are not UTF-8 holds lone surrogates, which SQLite and
    terminals cannot take; raise `InvalidInput` naming where it came from."""
    bad = _LONE_SURROGATE.search(text)
    if bad:
        raise InvalidInput(
            f"{what} is not valid UTF-8 (U+{ord(bad.group()):04X} at character {bad.start()}); "
            "pass UTF-8 text (convert it with iconv)"
        )


def validate_body(text: str, source: str = "--text") -> str:
    """Return `text` if it is a storable message body, else raise `InvalidInput`."""
    refuse_lone_surrogates(text, f"message text from {source}")
    if is_blank(text):
        raise InvalidInput(
            f"message text from {source} is empty (nothing but whitespace or control characters); "
            "give the message some text"
        )
    size = len(text.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise InvalidInput(
            f"message text from {source} is {size:,} bytes, over the {MAX_MESSAGE_BYTES:,}-byte limit; "
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
            f"{source} is over the {MAX_MESSAGE_BYTES:,}-byte message limit; "
            "send a shorter summary and point to the file instead"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{source} is not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "convert it to UTF-8 first, e.g. with iconv"
        ) from None
