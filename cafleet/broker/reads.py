"""Read models for the TUI: a fleet's timeline, its roster, an agent's inbox and sent box.

All reads; the TUI calls these from worker threads and renders the returned records.

The TUI holds what it shows for as long as it runs, so these reads keep it bounded: a message's
text comes cut to `ENTRY_TEXT_CHARS` (the cut is made by the database, so a huge text never
travels; `message_text` brings the whole of one), and a roster agent is only what its entry
shows. Changes are asked for by the fleet's task revision (`cafleet.broker.revisions`), never
by timestamp: a sender whose clock runs ahead must not hide later changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import NamedTuple, cast

from cafleet.broker.agent_states import SeenState, seen_state
from cafleet.broker.convert import task_query, task_record, value_rows
from cafleet.broker.dialect import count_where
from cafleet.broker.guards import any_fleet
from cafleet.broker.revisions import latest_revision
from cafleet.core.domain import AgentKind, AgentStatus, TaskKind, TaskState
from cafleet.core.records import DeliveryCounts, PlacementRecord, RosterAgent, TaskRecord
from cafleet.store.models import Agent, AgentStateRow, Fleet, MonitorConfig, Placement, Task, database
from cafleet.store.orm import JOIN, SQL, Case, fn

TIMELINE_KINDS = (TaskKind.UNICAST, TaskKind.BROADCAST_SUMMARY)
# Characters of a message's text a list entry carries: the timeline shows up to 600 and counts
# the lines of the rest, so a few KB keep every ordinary message whole and a 1 MiB one small.
ENTRY_TEXT_CHARS = 4096
# Deliveries a broadcast's entry carries (a mark each): every one in any fleet a person reads
# through; past that, the first ones and the counts of all (`TaskRecord.delivery_counts`).
ENTRY_DELIVERIES = 100
# Ids per `IN (…)` list: far below every SQLite build's limit on bound variables.
IDS_PER_QUERY = 500


class RosterEntry(NamedTuple):
    agent: RosterAgent
    unread: int
    monitor_interval: int | None
    monitor_enabled: bool


class TimelineChanges(NamedTuple):
    """What happened since the last look: new timeline entries, and entries whose state moved."""

    added: tuple[TaskRecord, ...]
    changed: tuple[TaskRecord, ...]
    max_id: int
    revision: int


class RosterCursor(NamedTuple):
    """What a roster view last saw, to ask `fleet_changes` for what moved since: the highest
    agent id, the deregistered agents, and each placed or scheduled agent's placement and
    schedule (a few: about one per pane, however many agents the fleet has). Read-only."""

    max_agent_id: int
    deregistered: frozenset[int]
    placements: Mapping[int, PlacementRecord]
    schedules: Mapping[int, tuple[int, bool]]

    @classmethod
    def of(cls, entries: Iterable[RosterEntry]) -> RosterCursor:
        """The cursor of a view that shows `entries` (a whole roster)."""
        entries = list(entries)
        return cls(
            max((e.agent.id for e in entries), default=0),
            frozenset(e.agent.id for e in entries if e.agent.status != AgentStatus.ACTIVE),
            {e.agent.id: e.agent.placement for e in entries if e.agent.placement is not None},
            {e.agent.id: (e.monitor_interval, e.monitor_enabled) for e in entries if e.monitor_interval is not None},
        )


class RosterChanges(NamedTuple):
    """Fresh entries of the agents whose roster entry moved since a cursor (registered,
    deregistered, unread count, placement or schedule), ids that are gone, and the new cursor."""

    entries: tuple[RosterEntry, ...]
    removed: frozenset[int]  # agents that no longer exist (a spawn that failed and was reaped)
    cursor: RosterCursor


class FleetChanges(NamedTuple):
    timeline: TimelineChanges
    roster: RosterChanges
    inbox_moved: bool  # the Administrator's inbox gained or lost a message or a state


def _snapshot():
    """A read transaction: every query in it sees the same committed state (WAL), so a change
    committed between two of them cannot fall between the page read and its stamp."""
    return database.atomic(lock_type="DEFERRED")


def latest_change(fleet_id: int) -> int:
    """The fleet's newest task revision: what to ask `timeline_changes` from."""
    return latest_revision(fleet_id)


# -- messages -----------------------------------------------------------------------------------


def _entry_query():
    """`task_query`'s columns with the text cut to one character more than `ENTRY_TEXT_CHARS`
    (which tells whether it was cut)."""
    return task_query(fn.SUBSTR(Task.text, 1, ENTRY_TEXT_CHARS + 1).alias("text"))


def _delivery_query():
    """A broadcast's deliveries as its entry shows them: who and in which state, no text (the
    summary carries it)."""
    return task_query(SQL("''").alias("text"))


def _entry_record(row: dict, deliveries: tuple[TaskRecord, ...] = ()) -> TaskRecord:
    record = task_record(row, deliveries)
    if len(record.text) > ENTRY_TEXT_CHARS:
        return record._replace(text=record.text[:ENTRY_TEXT_CHARS], text_truncated=True)
    return record


def _entries(rows: list[dict]) -> list[TaskRecord]:
    """List entries of `rows`: text cut, each broadcast summary with its deliveries (the first
    `ENTRY_DELIVERIES` of a bigger one, and the counts of all)."""
    summary_ids = [r["id"] for r in rows if r["kind"] == TaskKind.BROADCAST_SUMMARY]
    counts = _delivery_counts(summary_ids)
    big = [sid for sid in summary_ids if counts.get(sid, DeliveryCounts(0, 0, 0)).total > ENTRY_DELIVERIES]
    small = [sid for sid in summary_ids if sid not in set(big)]
    deliveries: dict[int, list[TaskRecord]] = {sid: [] for sid in summary_ids}
    queries = [_deliveries_of(chunk) for chunk in _chunks(small)]
    queries += [_deliveries_of([sid]).limit(ENTRY_DELIVERIES) for sid in big]
    for query in queries:
        for row in query:
            deliveries[row["origin"]].append(task_record(row)._replace(text_truncated=True))
    return [
        _entry_record(r, tuple(deliveries.get(r["id"], ())))._replace(delivery_counts=counts[r["id"]] if r["id"] in big else None)
        for r in rows
    ]


def _deliveries_of(summary_ids: list[int]):
    return _delivery_query().where(Task.origin.in_(summary_ids) & (Task.kind == TaskKind.BROADCAST)).order_by(Task.id)


def _delivery_counts(summary_ids: list[int]) -> dict[int, DeliveryCounts]:
    counts = {}
    for chunk in _chunks(summary_ids):
        query = (
            Task.select(
                Task.origin,
                fn.COUNT(Task.id),
                count_where(Task.state == TaskState.ACKED),
                count_where(Task.state == TaskState.UNREAD),
            )
            .where(Task.origin.in_(chunk) & (Task.kind == TaskKind.BROADCAST))
            .group_by(Task.origin)
        )
        counts.update(
            {origin: DeliveryCounts(total, int(acked), int(unread)) for origin, total, acked, unread in value_rows(query)}
        )
    return counts


def timeline(fleet_id: int, before_id: int | None = None, limit: int = 1000) -> list[TaskRecord]:
    """The newest `limit` entries (older than `before_id`), oldest first; broadcasts appear
    once, as their summary with its deliveries."""
    condition = (Task.fleet == fleet_id) & Task.kind.in_(TIMELINE_KINDS)
    if before_id is not None:
        condition &= Task.id < before_id
    rows = list(_entry_query().where(condition).order_by(Task.id.desc()).limit(limit))
    rows.reverse()
    return _entries(rows)


def timeline_page(fleet_id: int, limit: int) -> tuple[list[TaskRecord], int]:
    """The newest `limit` entries and the revision to ask `timeline_changes` from, read together."""
    with _snapshot():
        return timeline(fleet_id, limit=limit), latest_change(fleet_id)


def timeline_changes(fleet_id: int, max_id: int, revision: int) -> TimelineChanges:
    """Entries newer than `max_id`, and older entries (or their deliveries) whose state
    changed after `revision`."""
    with _snapshot():
        return _changes(fleet_id, max_id, revision)


def _changes(fleet_id: int, max_id: int, revision: int) -> TimelineChanges:
    added_rows = list(
        _entry_query().where((Task.fleet == fleet_id) & Task.kind.in_(TIMELINE_KINDS) & (Task.id > max_id)).order_by(Task.id)
    )
    # A delivery's ack changes its broadcast's entry; entries just added are already fresh.
    entry = Case(None, [(Task.kind == TaskKind.BROADCAST, Task.origin)], Task.id)
    moved = Task.select(entry).distinct().where((Task.fleet == fleet_id) & (Task.revision > revision))
    changed_ids = {entry_id for (entry_id,) in value_rows(moved)} - {r["id"] for r in added_rows}
    changed_rows = [row for chunk in _chunks(sorted(changed_ids)) for row in _entry_query().where(Task.id.in_(chunk))]
    changed_rows.sort(key=lambda r: r["id"])
    added = _entries(added_rows)
    changed = _entries(changed_rows)
    newest = max([max_id] + [t.id for t in added])
    return TimelineChanges(tuple(added), tuple(changed), newest, latest_change(fleet_id))


def message_text(fleet_id: int, task_id: int) -> str:
    """The whole text of one message of the fleet (list entries carry a cut one)."""
    return Task.select(Task.text).where((Task.id == task_id) & (Task.fleet == fleet_id)).scalar() or ""


def agent_inbox(agent_id: int, limit: int = 500) -> list[TaskRecord]:
    """Messages the agent received, newest first."""
    rows = (
        _entry_query()
        .where((Task.owner == agent_id) & (Task.kind != TaskKind.BROADCAST_SUMMARY))
        .order_by(Task.id.desc())
        .limit(limit)
    )
    return [_entry_record(r) for r in rows]


def sent(agent_id: int, limit: int = 500) -> list[TaskRecord]:
    """Messages the agent sent (a broadcast once, as its summary), newest first."""
    rows = list(
        _entry_query().where((Task.sender == agent_id) & Task.kind.in_(TIMELINE_KINDS)).order_by(Task.id.desc()).limit(limit)
    )
    return _entries(rows)


def with_deliveries(rows: list[dict]) -> list[TaskRecord]:
    """Records of `rows`, each broadcast summary with its delivery tasks (whole texts: for
    search and export, which use each record once)."""
    summary_ids = [r["id"] for r in rows if r["kind"] == TaskKind.BROADCAST_SUMMARY]
    deliveries: dict[int, list[TaskRecord]] = {sid: [] for sid in summary_ids}
    if summary_ids:
        for row in task_query().where(Task.origin.in_(summary_ids) & (Task.kind == TaskKind.BROADCAST)).order_by(Task.id):
            deliveries[row["origin"]].append(task_record(row))
    return [task_record(r, tuple(deliveries.get(r["id"], ()))) for r in rows]


# -- the roster ---------------------------------------------------------------------------------


def roster(fleet_id: int) -> list[RosterEntry]:
    """Every agent of the fleet (active first, then by id) with unread count and schedule."""
    any_fleet(fleet_id)
    unread = dict(
        value_rows(
            Task.select(Task.owner, fn.COUNT(Task.id))
            .where((Task.fleet == fleet_id) & (Task.state == TaskState.UNREAD))
            .group_by(Task.owner)
        )
    )
    return _roster_entries(_roster_query().where(Agent.fleet == fleet_id), unread)


def roster_page(fleet_id: int, limit: int) -> tuple[list[TaskRecord], list[RosterEntry], int]:
    """The newest `limit` timeline entries, the whole roster and the revision to ask for
    changes from, in one snapshot."""
    with _snapshot():
        return timeline(fleet_id, limit=limit), roster(fleet_id), latest_change(fleet_id)


def fleet_changes(fleet_id: int, max_id: int, revision: int, roster: RosterCursor, administrator_id: int | None) -> FleetChanges:
    """Timeline and roster changes since one look, in one snapshot. The cost follows what
    changed and the fleet's panes, not how many agents the fleet has."""
    with _snapshot():
        moved_owners = {
            owner
            for (owner,) in value_rows(
                Task.select(Task.owner).distinct().where((Task.fleet == fleet_id) & (Task.revision > revision))
            )
        }
        timeline_part = _changes(fleet_id, max_id, revision)
        roster_part = _roster_changes(fleet_id, roster, moved_owners)
    return FleetChanges(timeline_part, roster_part, administrator_id in moved_owners)


def _roster_changes(fleet_id: int, seen: RosterCursor, moved_owners: set[int]) -> RosterChanges:
    new_ids = {a for (a,) in value_rows(Agent.select(Agent.id).where((Agent.id > seen.max_agent_id) & _in_fleet(fleet_id)))}
    leaving = Agent.select(fn.COUNT(Agent.id)).where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.DEREGISTERED))
    deregistered = seen.deregistered
    if leaving.scalar() != len(deregistered):  # deregistration is final: the same count is the same set
        deregistered = frozenset(
            a
            for (a,) in value_rows(
                Agent.select(Agent.id).where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.DEREGISTERED))
            )
        )
    placements, schedules = _placements(fleet_id), _schedules(fleet_id)
    moved_panes = {
        agent_id
        for old, new in ((seen.placements, placements), (seen.schedules, schedules))
        for agent_id in old.keys() | new.keys()
        if old.get(agent_id) != new.get(agent_id)
    }
    wanted = new_ids | (deregistered - seen.deregistered) | moved_owners | moved_panes
    entries = _roster_entries(_roster_query().where(_in_fleet(fleet_id)), _unread_of(wanted), ids=wanted)
    return RosterChanges(
        entries=tuple(entries),
        removed=frozenset(wanted - {e.agent.id for e in entries}),
        cursor=RosterCursor(max([seen.max_agent_id, *new_ids]), deregistered, placements, schedules),
    )


def seen_states(fleet_id: int) -> dict[int, SeenState]:
    """What the courier last saw in each pane of the fleet (it watches placed agents only)."""
    query = AgentStateRow.select().where(_agent_in_fleet(AgentStateRow, fleet_id))
    return {r.agent_id: seen_state(r) for r in query}


def _placements(fleet_id: int) -> dict[int, PlacementRecord]:
    query = Placement.select(*_PLACEMENT_COLUMNS).where(_agent_in_fleet(Placement, fleet_id))
    return {row[0]: PlacementRecord(*row) for row in value_rows(query)}


def _schedules(fleet_id: int) -> dict[int, tuple[int, bool]]:
    query = MonitorConfig.select(MonitorConfig.agent, MonitorConfig.interval_seconds, MonitorConfig.enabled)
    return {
        a: (interval, bool(enabled)) for a, interval, enabled in value_rows(query.where(_agent_in_fleet(MonitorConfig, fleet_id)))
    }


def _in_fleet(fleet_id: int):
    """`Agent.fleet == fleet_id` for a query that picks a few agents by id: `+ 0` keeps SQLite
    on those ids rather than walking the fleet's index over every one of its agents.
    PostgreSQL, which keeps statistics, plans it well either way."""
    return Agent.fleet + 0 == fleet_id


def _agent_in_fleet(model, fleet_id: int):
    """Rows of `model` (one per agent: placements, schedules, states) whose agent is in the
    fleet, found by reading those rows (about one per pane) rather than the fleet's agents,
    which SQLite would otherwise walk whole."""
    return fn.COALESCE(Agent.select(Agent.fleet).where(Agent.id == model.agent), 0) == fleet_id


def _unread_of(agent_ids: Iterable[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for chunk in _chunks(sorted(agent_ids)):
        counts.update(
            value_rows(
                Task.select(Task.owner, fn.COUNT(Task.id))
                .where(Task.owner.in_(chunk) & (Task.state == TaskState.UNREAD))
                .group_by(Task.owner)
            )
        )
    return counts


_PLACEMENT_COLUMNS = (
    Placement.agent,
    Placement.director,
    Placement.tmux_socket,
    Placement.tmux_server_pid,
    Placement.tmux_session,
    Placement.tmux_window_id,
    Placement.tmux_pane_id,
    Placement.coding_agent,
    Placement.created_at,
    Placement.host,
)  # in `PlacementRecord`'s order


def _roster_query():
    return (
        Agent.select(
            Agent.id,
            Agent.name,
            Agent.kind,
            Agent.status,
            *_PLACEMENT_COLUMNS,
            MonitorConfig.interval_seconds,
            MonitorConfig.enabled,
        )
        .join_from(Agent, Placement, JOIN.LEFT_OUTER, on=(Placement.agent == Agent.id))
        .join_from(Agent, MonitorConfig, JOIN.LEFT_OUTER, on=(MonitorConfig.agent == Agent.id))
        .order_by(Agent.status, Agent.id)
        .tuples()
    )


def _roster_entries(query, unread: dict[int, int], ids: set[int] | None = None) -> list[RosterEntry]:
    """Entries of the agents `query` selects (only `ids` of them, when given), active first."""
    if ids is None:
        rows: Iterable[tuple] = query
    else:
        rows = sorted(
            (row for chunk in _chunks(sorted(ids)) for row in query.where(Agent.id.in_(chunk))),
            key=lambda row: (row[3], row[0]),
        )
    entries = []
    for agent_id, name, kind, status, placed_id, *where, interval, enabled in rows:
        placement = PlacementRecord(placed_id, *where) if placed_id is not None else None
        entries.append(
            RosterEntry(
                agent=RosterAgent(agent_id, name, kind, status, placement),
                unread=unread.get(agent_id, 0),
                monitor_interval=interval,
                monitor_enabled=bool(enabled),
            )
        )
    return entries


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), IDS_PER_QUERY):
        yield ids[start : start + IDS_PER_QUERY]


# -- the fleet --------------------------------------------------------------------------------


def fleet_label(fleet_id: int) -> str:
    fleet = Fleet.get_or_none(Fleet.id == fleet_id)
    return fleet.label if fleet else ""


def administrator_id(fleet_id: int) -> int:
    return Agent.select(Agent.id).where((Agent.fleet == fleet_id) & (Agent.kind == AgentKind.ADMINISTRATOR)).scalar()


def unread_for_the_human() -> dict[int, int]:
    """Per live fleet, the messages to its Administrator (the human's inbox) still unread:
    what the TUI's badge shows on every screen. Fleets with none are left out."""
    administrators = (
        Agent.select(Agent.id)
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where((Agent.kind == AgentKind.ADMINISTRATOR) & Fleet.deleted_at.is_null())
    )
    query = (
        Task.select(Task.fleet, fn.COUNT(Task.id).alias("waiting"))
        .where(Task.owner.in_(administrators) & (Task.state == TaskState.UNREAD) & (Task.recipient == Task.owner))
        .group_by(Task.fleet)
    )
    return dict(cast("list[tuple[int, int]]", list(query.tuples())))
