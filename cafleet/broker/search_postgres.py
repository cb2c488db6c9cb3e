"""Message search on PostgreSQL: what `cafleet.broker.search` does with FTS5 on SQLite, over
migration 7's `tasks.search_vector` (to_tsvector('english', text), GIN-indexed).

The user's text only ever reaches PostgreSQL as a parameter of a function that reads it as
plain text (phraseto_tsquery), or as quoted runs of letters and digits (to_tsquery for a
prefix), so no query is tsquery syntax and none can be a syntax error.
"""

from __future__ import annotations

import re

from cafleet.broker.search import CLOSE, OPEN, Found, Scope
from cafleet.domain import TaskKind
from cafleet.models import database
from cafleet.search_query import Term

# Migration 7's configuration: a query matches only lexemes made the way the index made them.
CONFIG = "english"
# Divide by 1 + log(length): as bm25 does, a word found in a short message weighs more.
_RANK_NORMALIZATION = 1
_HEADLINE_OPTIONS = f"StartSel={OPEN}, StopSel={CLOSE}, HighlightAll=true"
_WORD = re.compile(r"\w+")


def postgres_found(scope: Scope, terms: list[Term], limit: int, candidates: int | None) -> list[Found]:
    """The best `limit` matches in `scope`, ranked among the newest `candidates` matches (all
    of them when None), each with its text marked where the query matched."""
    query = _tsquery(terms)
    if not query:
        return []  # every word is an English stop word: the index holds none of them
    conditions, params = _scope_conditions(scope)
    newest = " ORDER BY t.id DESC LIMIT %(candidates)s" if candidates is not None else ""
    rows = database.execute_sql(
        f"SELECT id, score, ts_headline('{CONFIG}', text, %(query)s::tsquery, %(headline)s) FROM ("
        f" SELECT id, text, ts_rank(search_vector, %(query)s::tsquery, {_RANK_NORMALIZATION}) AS score FROM ("
        f"  SELECT t.id, t.text, t.search_vector FROM tasks t"
        f"  WHERE t.search_vector @@ %(query)s::tsquery AND {' AND '.join(conditions)}{newest}"
        " ) AS matching ORDER BY score DESC, id DESC LIMIT %(limit)s"
        ") AS best ORDER BY score DESC, id DESC",
        {**params, "query": query, "headline": _HEADLINE_OPTIONS, "candidates": candidates, "limit": limit},
    ).fetchall()
    return [(task_id, float(score), marked) for task_id, score, marked in rows]


def _tsquery(terms: list[Term]) -> str:
    """The tsquery requiring every term, as PostgreSQL writes it ('' when it has no lexemes)."""
    parts = [_term_query(term) for term in terms]
    sql = " && ".join(part for part, _ in parts)
    params = [value for _, values in parts for value in values]
    return database.execute_sql(f"SELECT ({sql})::text", params).fetchone()[0]


def _term_query(term: Term) -> tuple[str, list[str]]:
    """One term as a tsquery expression and its parameters. A word with punctuation inside
    (`col:z`, `foo-bar`) is, as in FTS5, its parts in a row: a phrase."""
    if not term.prefix:
        return f"phraseto_tsquery('{CONFIG}', %s)", [term.text]
    # The last word is the prefix. Stemmed as the index stems, and also as typed, so that a
    # prefix which is an English stop word (`an*`) still finds `analysis`.
    phrase = " <-> ".join(f"'{word}'" for word in _WORD.findall(term.text)) + ":*"
    return f"(to_tsquery('{CONFIG}', %s) || to_tsquery('simple', %s))", [phrase, phrase]


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
