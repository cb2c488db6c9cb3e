"""Message bodies: what is accepted, and how they are shortened for display."""

from __future__ import annotations

from cafleet.config import MAX_MESSAGE_BYTES
from cafleet.errors import InvalidInput

ELLIPSIS = "…"


def validate_body(text: str, source: str = "--text") -> str:
    """Return `text` if it is a storable message body, else raise `InvalidInput`."""
    if not text.strip():
        raise InvalidInput(f"message text from {source} is empty; give the message some text")
    size = len(text.encode("utf-8", "surrogatepass"))
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
