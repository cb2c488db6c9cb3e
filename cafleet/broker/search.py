"""Full-text search over the messages an agent may see, best match first.

An agent sees what it sent or received, exactly what `message show` lets it open; the
Administrator (the human in the TUI) and the root Director see the whole fleet, as the TUI's
timeline does. The index holds each message once (a broadcast as its summary); a recipient's
hit on a broadcast comes back as its own delivery, the task it can show and ack.
"""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.lookup import active_agent, live_fleet
from cafleet.broker.rows import task_query, task_record
from cafleet.broker.timeline import with_deliveries
from cafleet.errors import NotFound
from cafleet.models import Agent, Task, database
from cafleet.records import TaskRecord
from cafleet.search_query import fts_query

FLEET_WIDE_KINDS = ("administrator", "director")
DEFAULT_LIMIT = 20
# Marks FTS5's highlight() puts around matches: private-use characters, so they are told
# apart from the text (a text holding them is shown without marks; see `_spans`).
OPEN, CLOSE = "\ue000", "\ue001"


class Span(NamedTuple):
    start: int
    end: int


class SearchHit(NamedTuple):
    """One message found: the task the searcher can open, its bm25 score (higher is
    better) and where the query matched in `task.text` (codepoint offsets)."""

    task: TaskRecord
    score: float
    matches: tuple[Span, ...]


def search_messages(
    fleet_id: int,
    agent_id: int,
    query: str,
    sender_ref: str | None = None,
    since: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SearchHit]:
    """The messages of `fleet_id` that `agent_id` may see and that match `query`, best
    first (bm25; equal scores newest first), at most `limit`."""
    expression = fts_query(query)
    live_fleet(fleet_id)
    agent = active_agent(fleet_id, agent_id)
    fleet_wide = agent.kind in FLEET_WIDE_KINDS
    conditions = ["tasks_fts MATCH ?", "t.fleet_id = ?"]
    params: list = [expression, fleet_id]
    if not fleet_wide:
        conditions.append(
            "(t.from_id = ? OR t.to_id = ? OR (t.kind = 'broadcast_summary' AND EXISTS ("
            "SELECT 1 FROM tasks d WHERE d.origin_id = t.id AND d.owner_id = ? AND d.kind = 'broadcast')))"
        )
        params += [agent_id, agent_id, agent_id]
    if sender_ref is not None:
        senders = _senders(fleet_id, sender_ref)
        conditions.append(f"t.from_id IN ({', '.join('?' * len(senders))})")
        params += senders
    if since is not None:
        conditions.append("t.created_at >= ?")
        params.append(since)
    ranked = database.execute_sql(
        "SELECT t.id, bm25(tasks_fts) FROM tasks_fts JOIN tasks t ON t.id = tasks_fts.rowid "
        f"WHERE {' AND '.join(conditions)} ORDER BY bm25(tasks_fts), t.id DESC LIMIT ?",
        (*params, limit),
    ).fetchall()
    if not ranked:
        return []
    ids = [row[0] for row in ranked]
    marks = dict(
        database.execute_sql(
            f"SELECT rowid, highlight(tasks_fts, 0, ?, ?) FROM tasks_fts "
            f"WHERE tasks_fts MATCH ? AND rowid IN ({', '.join('?' * len(ids))})",
            (OPEN, CLOSE, expression, *ids),
        ).fetchall()
    )
    records = {r.id: r for r in with_deliveries(list(task_query().where(Task.id.in_(ids))))}
    own = {} if fleet_wide else _own_deliveries(agent_id, [i for i in ids if records[i].from_agent_id != agent_id])
    hits = []
    for task_id, rank in ranked:
        record = records[task_id]
        if record.kind == "broadcast_summary" and task_id in own:
            record = own[task_id]
        hits.append(SearchHit(record, -rank, _spans(marks.get(task_id, ""), record.text)))
    return hits


def _senders(fleet_id: int, ref: str) -> list[int]:
    """Every agent of the fleet, registered or not, that `ref` (an id or a name) names."""
    ref = ref.strip()
    condition = Agent.id == int(ref) if ref.isdigit() else Agent.name.collate("NOCASE") == ref
    ids = [a.id for a in Agent.select(Agent.id).where((Agent.fleet == fleet_id) & condition)]
    if not ids:
        raise NotFound(
            f"--from {ref!r}: no agent of fleet {fleet_id} has that name or id; "
            f"`cafleet fleet show {fleet_id}` lists its agents (deregistered ones too)"
        )
    return ids


def _own_deliveries(agent_id: int, summary_ids: list[int]) -> dict[int, TaskRecord]:
    """The searcher's delivery of each broadcast it received, by summary id."""
    if not summary_ids:
        return {}
    rows = task_query().where(
        Task.origin.in_(summary_ids) & (Task.owner == agent_id) & (Task.kind == "broadcast")
    )
    return {row["origin"]: task_record(row) for row in rows}


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
