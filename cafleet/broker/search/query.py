"""What a user types into a search, turned into an FTS5 query that cannot be a syntax error.

The user's words are never FTS5 syntax: each word, and each "quoted phrase", becomes an FTS5
string (AND-ed together), so `NEAR`, `OR`, `-`, `:` or `(` are just text. A word ending in
`*` (`tok*`) matches as a prefix. PostgreSQL builds its tsquery from the same terms
(`cafleet.broker.search.postgres`).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cafleet.core.errors import Field, Fix, Hint, InvalidInput

MAX_QUERY_CHARS = 1000
MAX_TERMS = 32

# A double-quoted phrase (the closing quote may be missing), or a run of non-space characters.
_PIECE = re.compile(r'"([^"]*)"?|([^\s"]+)')


class Term(NamedTuple):
    text: str
    phrase: bool
    prefix: bool


def parse_query(query: str) -> list[Term]:
    """The terms of `query`, or `InvalidInput` naming what is wrong with it."""
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in query):
        raise InvalidInput(f"search query {query[:80]!r} is not valid UTF-8; type it again as text")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(
            f"search query is {len(query):,} characters, over the {MAX_QUERY_CHARS:,}-character limit; "
            "search for a few distinctive words"
        )
    # NUL ends an FTS5 string early; it is never part of a word, so it separates like a space.
    query = query.replace("\0", " ")
    terms = []
    for match in _PIECE.finditer(query):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            if _has_word(phrase):
                terms.append(Term(phrase, phrase=True, prefix=False))
        elif _has_word(word):
            prefix = word.endswith("*") and _has_word(word.rstrip("*"))
            terms.append(Term(word.rstrip("*") if prefix else word, phrase=False, prefix=prefix))
    if not terms:
        raise InvalidInput(
            f"search query {query[:80]!r} has no words to search for",
            field=Field.QUERY,
            value=query,
            hint=Hint(Fix.SEARCH_WORDS),
        )
    if len(terms) > MAX_TERMS:
        raise InvalidInput(
            f"search query has {len(terms)} words, over the limit of {MAX_TERMS}; search for a few distinctive words"
        )
    return terms


def fts_query(terms: list[Term]) -> str:
    """The FTS5 MATCH expression for `terms` (from `parse_query`): every term as a quoted
    string, all required."""
    return " ".join(_quoted(term) for term in terms)


def _quoted(term: Term) -> str:
    quoted = '"' + term.text.replace('"', '""') + '"'
    return quoted + "*" if term.prefix else quoted


def _has_word(text: str) -> bool:
    # FTS5's unicode61 tokenizer makes words of letters and digits; anything else separates.
    return any(ch.isalnum() for ch in text)
