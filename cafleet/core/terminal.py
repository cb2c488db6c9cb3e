"""Untrusted text made safe to print on a terminal: control and bidi characters shown escaped.

Message text, names, descriptions, pane text and the values echoed in errors come from other
agents or from panes. Printed raw, an ESC starts an escape sequence (OSC 52 writes the
reader's clipboard), a CR moves back over a header so a body passes for someone else's
message, and a bidi override reorders what the reader sees. They are shown as `\\x1b`,
`\\r`, `\\u202e` instead. JSON keeps every value exact and only spells such characters as
JSON escapes.
"""

from __future__ import annotations

import re

# C0 controls, DEL, C1 controls; the bidi embeddings, overrides, isolates and marks; the
# Unicode line and paragraph separators (line breaks to str.splitlines and some readers);
# and lone surrogates (undecodable input, which no terminal encoding can carry).
_NOT_C0 = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_IN_LINE = re.compile(rf"[\x00-\x1f{_NOT_C0}]")
_UNSAFE_IN_BLOCK = re.compile(rf"[\x00-\x08\x0b-\x1f{_NOT_C0}]")  # keeps tab (\x09) and newline (\x0a)
# What json.dumps(ensure_ascii=False) leaves raw: everything above but the C0 controls.
_UNSAFE_IN_JSON = re.compile(f"[{_NOT_C0}]")


def escape_char(char: str) -> str:
    """`\\r`, `\\t`, `\\n` for the common three, `\\xNN` or `\\uNNNN` for the rest."""
    named = {"\r": "\\r", "\t": "\\t", "\n": "\\n"}.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """`text` for a single output line: every control character escaped, newlines and tabs too."""
    return _UNSAFE_IN_LINE.sub(lambda m: escape_char(m.group()), text)


def block(text: str) -> str:
    """`text` for output that may span lines: newlines and tabs kept, other controls escaped
    (a CR among them, so no line can be rewritten)."""
    return _UNSAFE_IN_BLOCK.sub(lambda m: escape_char(m.group()), text)


def json_text(document: str) -> str:
    """A `json.dumps(..., ensure_ascii=False)` string with the characters it leaves raw spelled
    as `\\uNNNN` escapes: the same JSON value, safe on a terminal. (Those characters occur
    only inside JSON strings, where an escape means the same character.)"""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
