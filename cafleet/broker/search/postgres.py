"""Message search on PostgreSQL: what `cafleet.broker.search` does with FTS5 on SQLite, over
`tasks.search_vector` (GIN-indexed): the text's words, ASCII punctuation separating them, stemmed
and none left out (migration 10).

The user's text only ever reaches PostgreSQL as a parameter of a function that reads it as
plain text (phraseto_tsquery), or as quoted runs of letters and digits (to_tsquery for a
prefix), so no query is tsquery syntax and none can be a syntax error.
"""

from __future__ import annotations

import re

from cafleet.broker.search import CLOSE, OPEN, Found, Scope
from cafleet.broker.search.query import Term
from cafleet.core.domain import TaskKind
from cafleet.store.migrations import SEARCH_CONFIG, SEARCH_SEPARATORS
from cafleet.store.models import database

# Divide by 1 + log(length): as bm25 does, a word found in a short message weighs more.
_RANK_NORMALIZATION = 1
_HEADLINE_OPTIONS = f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true"
_BLANKS = " " * len(SEARCH_SEPARATORS)
_BLANKED = str.maketrans(SEARCH_SEPARATORS, _BLANKS)
_WORD = re.compile(r"\w+")


def postgres_found(scope: Scope, terms: list[Term], limit: int, candidates: int | None) -> list[Found]:
    """The best `limit` matches in `scope`, ranked among the newest `candidates` matches (all
    of them when None), each with its text marked where the query matched."""
    query = _tsquery(terms)
    if not query:
        return []  # no word PostgreSQL's parser reads as one (a lone `²`, say)
    conditions, params = _scope_conditions(scope)
    newest = " ORDER BY t.id DESC LIMIT %(candidates)s" if candidates is not None else ""
    # The marks go into the text as the index read it (punctuation blanked, one character for
    # one), so that they fall on the words the index found.
    rows = database.execute_sql(
        "SELECT id, score, text, ts_headline("
        f"'{SEARCH_CONFIG}', translate(text, %(separators)s, %(blanks)s), %(query)s::tsquery, %(headline)s) FROM ("
        f" SELECT id, text, ts_rank(search_vector, %(query)s::tsquery, {_RANK_NORMALIZATION}) AS score FROM ("
        "  SELECT t.id, t.text, t.search_vector FROM tasks t"
        f"  WHERE t.search_vector @@ %(query)s::tsquery AND {' AND '.join(conditions)}{newest}"
        " ) AS matching ORDER BY score DESC, id DESC LIMIT %(limit)s"
        ") AS best ORDER BY score DESC, id DESC",
        {
            **params,
            "query": query,
            "separators": SEARCH_SEPARATORS,
            "blanks": _BLANKS,
            "headline": _HEADLINE_OPTIONS,
            "candidates": candidates,
            "limit": limit,
        },
    ).fetchall()
    return [(task_id, float(score), _marks_onto(marked, text)) for task_id, score, text, marked in rows]


def _tsquery(terms: list[Term]) -> str:
    """The tsquery requiring every term, as PostgreSQL writes it ('' when it has no lexemes)."""
    parts = [_term_query(term) for term in terms]
    sql = " && ".join(part for part, _ in parts)
    params = [value for _, values in parts for value in values]
    return database.execute_sql(f"SELECT ({sql})::text", params).fetchone()[0]


def _term_query(term: Term) -> tuple[str, list[str]]:
    """One term as a tsquery expression and its parameters, its punctuation blanked as the
    index's was: a word with punctuation inside (`col:z`, `src/parser.py`) is, as in FTS5, its
    parts in a row."""
    text = term.text.translate(_BLANKED)
    if not term.prefix:
        return f"phraseto_tsquery('{SEARCH_CONFIG}', %s)", [text]
    # Quoted runs of letters and digits: never tsquery syntax. The last one is the prefix,
    # stemmed as FTS5's porter stems a prefix (`parsing*` also finds `parser`).
    phrase = " <-> ".join(f"'{word}'" for word in _WORD.findall(text)) + ":*"
    return f"to_tsquery('{SEARCH_CONFIG}', %s)", [phrase]


def _marks_onto(marked: str, text: str) -> str:
    """The marks of `marked` (the blanked text with OPEN/CLOSE) put into `text` itself."""
    if len(marked) - marked.count(OPEN) - marked.count(CLOSE) != len(text):
        return ""  # ts_headline left a word out (one too long to index): no marks
    characters = iter(text)
    return "".join(ch if ch in (OPEN, CLOSE) else next(characters) for ch in marked)


def _scope_conditions(scope: Scope) -> tuple[list[str], dict[str, object]]:
    """WHERE conditions on `tasks t` selecting the tasks of `scope`, and their parameters."""
    params: dict[str, object] = {"fleet": scope.fleet_id, "agent": scope.agent_id}
    if scope.fleet_wide:
        # What the fleet timeline shows: a broadcast once, as its summary.
        conditions = [f"t.fleet_id = %(fleet)s AND t.kind IN ('{TaskKind.UNICAST}', '{TaskKind.BROADCAST_SUMMARY}')"]
    else:
        # The searcher's own tasks (migration 7's `who`): a unicast it sent or received, its
        # broadcast's summary, a delivery to it. The owner of a unicast or a delivery is its
        # recipient and of a summary its sender, so: owned, or a unicast it sent (both indexed).
        conditions = [
            f"t.fleet_id = %(fleet)s AND (t.owner_id = %(agent)s OR (t.from_id = %(agent)s AND t.kind = '{TaskKind.UNICAST}'))"
        ]
    if scope.senders is not None:
        conditions.append("t.from_id = ANY(%(senders)s)")
        params["senders"] = scope.senders
    if scope.since is not None:
        conditions.append("t.created_at >= %(since)s")
        params["since"] = scope.since
    return conditions, params
