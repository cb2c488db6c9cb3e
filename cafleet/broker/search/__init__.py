"""Full-text search over the messages an agent may see, best match first.

An agent sees what it sent or received, exactly what `message show` lets it open; the
Administrator (the human in the TUI) and the root Director see the whole fleet, as the TUI's
timeline does. A message is found once: an agent finds its own copy of a broadcast (the
delivery it can show and ack, or the summary if it sent it), a fleet-wide searcher the summary.

SQLite searches migration 7's FTS5 table; PostgreSQL the tsvector column of migration 10
(`postgres`), read the same way. `query` turns what a user types into a query that cannot be
a syntax error; `snippets` cuts a window around the first match for the CLI and the TUI.
"""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.convert import task_query
from cafleet.broker.dialect import same_name
from cafleet.broker.guards import active_agent, live_fleet
from cafleet.broker.reads import with_deliveries
from cafleet.broker.search.query import Term, fts_query, parse_query
from cafleet.core.domain import AgentKind
from cafleet.core.errors import Field, Fix, Hint, NotFound
from cafleet.core.records import TaskRecord
from cafleet.store.db import is_postgres
from cafleet.store.models import Agent, Task, database

FLEET_WIDE_KINDS = (AgentKind.ADMINISTRATOR, AgentKind.DIRECTOR)
DEFAULT_LIMIT = 20
RANKED_CANDIDATES = 5_000
# Marks FTS5's highlight() (or PostgreSQL's ts_headline) puts around matches: private-use
# characters, so they are told apart from the text (a text holding them is shown without marks;
# see `_spans`).
OPEN, CLOSE = "\ue000", "\ue001"
# Relevance of the text column only: `who` (column 1) says who may see a task, not what it is about.
_BM25 = "bm25(tasks_fts, 1.0, 0.0)"


class Span(NamedTuple):
    start: int
    end: int


class SearchHit(NamedTuple):
    """One message found: the task the searcher can open, its score (bm25 on SQLite, ts_rank
    on PostgreSQL; higher is better) and where the query matched in `task.text` (codepoint
    offsets)."""

    task: TaskRecord
    score: float
    matches: tuple[Span, ...]


class Scope(NamedTuple):
    """Which tasks a search looks through: those of `fleet_id` the searcher may see (all the
    timeline shows when `fleet_wide`), narrowed to `senders` and to `since` when given."""

    fleet_id: int
    agent_id: int
    fleet_wide: bool
    senders: list[int] | None
    since: str | None

    @property
    def filtered(self) -> bool:
        return self.senders is not None or self.since is not None


# What an engine's search returns per task found: its id, its score (higher is better) and its
# text with OPEN/CLOSE around the matches.
Found = tuple[int, float, str]


def search_messages(
    fleet_id: int,
    agent_id: int,
    query: str,
    sender_ref: str | None = None,
    since: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SearchHit]:
    """The messages of `fleet_id` that `agent_id` may see and that match `query`, best
    first (bm25 on SQLite, ts_rank on PostgreSQL; equal scores newest first), at most `limit`."""
    terms = parse_query(query)
    live_fleet(fleet_id)
    agent = active_agent(fleet_id, agent_id)
    senders = _senders(fleet_id, sender_ref) if sender_ref is not None else None
    scope = Scope(fleet_id, agent_id, agent.kind in FLEET_WIDE_KINDS, senders, since)
    found = _postgres_found(scope, terms, limit) if is_postgres() else _sqlite_found(scope, terms, limit)
    if not found:
        return []
    ids = [task_id for task_id, _, _ in found]
    records = {r.id: r for r in with_deliveries(list(task_query().where(Task.id.in_(ids))))}
    return [SearchHit(records[i], score, _spans(marked, records[i].text)) for i, score, marked in found]


def _sqlite_found(scope: Scope, terms: list[Term], limit: int) -> list[Found]:
    expression = fts_query(terms)
    # The tokens of migration 7's `who` column pick, inside the index, the tasks this searcher
    # may see: its own (a<id>), or for the fleet-wide viewers what the timeline shows (f<id>).
    token = f"f{scope.fleet_id}" if scope.fleet_wide else f"a{scope.agent_id}"
    match = f'text : ({expression}) AND who : "{token}"'
    conditions: list[str] = []
    params: list[object] = []
    if scope.senders is not None:
        conditions.append(f"t.from_id IN ({', '.join('?' * len(scope.senders))})")
        params += scope.senders
    if scope.since is not None:
        conditions.append("t.created_at >= ?")
        params.append(scope.since)
    if conditions:
        ranked = database.execute_sql(
            f"SELECT t.id, {_BM25} AS score FROM tasks_fts JOIN tasks t ON t.id = tasks_fts.rowid "
            f"WHERE tasks_fts MATCH ? AND {' AND '.join(conditions)} ORDER BY score, t.id DESC LIMIT ?",
            (match, *params, limit),
        ).fetchall()
    else:
        # Scoring is the cost of a search (bm25 reads every candidate's sizes): a word in more
        # than RANKED_CANDIDATES of the searcher's messages is ranked among its newest matches.
        ranked = database.execute_sql(
            f"SELECT rowid, {_BM25} AS score FROM tasks_fts WHERE tasks_fts MATCH ? AND rowid >= COALESCE(("
            "SELECT rowid FROM tasks_fts WHERE tasks_fts MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?), 0) "
            "ORDER BY score, rowid DESC LIMIT ?",
            (match, match, RANKED_CANDIDATES - 1, limit),
        ).fetchall()
    if not ranked:
        return []
    ids = [row[0] for row in ranked]
    marks = dict(
        database.execute_sql(
            f"SELECT rowid, highlight(tasks_fts, 0, ?, ?) FROM tasks_fts "
            f"WHERE tasks_fts MATCH ? AND rowid IN ({', '.join('?' * len(ids))})",
            (OPEN, CLOSE, f"text : ({expression})", *ids),
        ).fetchall()
    )
    return [(i, -rank, marks.get(i, "")) for i, rank in ranked]


def _postgres_found(scope: Scope, terms: list[Term], limit: int) -> list[Found]:
    from cafleet.broker.search.postgres import postgres_found

    # As on SQLite: unfiltered, a very common word is ranked among its newest matches only.
    return postgres_found(scope, terms, limit, candidates=None if scope.filtered else RANKED_CANDIDATES)


def _senders(fleet_id: int, ref: str) -> list[int]:
    """Every agent of the fleet, registered or not, that `ref` (an id or a name) names."""
    ref = ref.strip()
    condition = Agent.id == int(ref) if ref.isdigit() else same_name(Agent.name, ref)
    ids = [a.id for a in Agent.select(Agent.id).where((Agent.fleet == fleet_id) & condition)]
    if not ids:
        raise NotFound(
            f"{ref!r}: no agent of fleet {fleet_id} has that name or id",
            field=Field.SENDER,
            value=ref,
            hint=Hint(Fix.FIND_ANY_SENDER, fleet_id),
            names_field=True,
        )
    return ids


def _spans(marked: str, text: str) -> tuple[Span, ...]:
    """Where `marked` (the text with OPEN/CLOSE around matches) has its marks, as offsets in `text`."""
    if OPEN in text or CLOSE in text or not marked:
        return ()
    spans, removed, at = [], 0, 0
    while (opened := marked.find(OPEN, at)) >= 0:
        closed = marked.find(CLOSE, opened)
        if closed < 0:
            break
        spans.append(Span(opened - removed, closed - removed - 1))
        removed += 2
        at = closed + 1
    return tuple(spans)
