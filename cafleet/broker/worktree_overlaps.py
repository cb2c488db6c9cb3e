"""Files that two members' branches both change: which ones the fleet's Director has been told
of, and the one message it gets when a new one appears.

The courier works out the overlaps (with `cafleet.git`); these functions keep the rows in step
with what it saw, so each overlap is told once, and a file that stops overlapping (merged,
reverted) and overlaps again later is told again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cafleet.broker.convert import agent_record
from cafleet.broker.messages import store_unicast
from cafleet.broker.worktrees import worktree_record
from cafleet.core.domain import AgentKind, AgentStatus
from cafleet.core.records import AgentRecord, WorktreeRecord
from cafleet.core.timestamps import utc_now
from cafleet.store.models import Agent, Worktree, WorktreeOverlap, database


class MemberPair(NamedTuple):
    """Two members, the lower id first."""

    first_id: int
    second_id: int


class SeenOverlap(NamedTuple):
    """The files both members' branches change, as one look at the branches found them."""

    pair: MemberPair
    paths: frozenset[str]


class NewOverlap(NamedTuple):
    """Files of a pair that were not overlapping at the previous look."""

    pair: MemberPair
    new_paths: tuple[str, ...]
    all_paths: tuple[str, ...]


def watched_worktrees(host: str) -> dict[int, list[tuple[AgentRecord, WorktreeRecord]]]:
    """The open worktrees of active members on `host`, by fleet: the ones a courier there
    compares (worktrees live on the Director's host, beside its panes)."""
    rows = (
        Worktree.select(Worktree, Agent)
        .join(Agent, on=(Worktree.agent == Agent.id))
        .where(
            Worktree.closed_at.is_null()
            & (Agent.status == AgentStatus.ACTIVE)
            & (Agent.kind == AgentKind.MEMBER)
            & ((Worktree.host == host) | Worktree.host.is_null())
        )
        .order_by(Worktree.fleet, Worktree.agent)
    )
    fleets: dict[int, list[tuple[AgentRecord, WorktreeRecord]]] = {}
    for row in rows:
        fleets.setdefault(row.fleet_id, []).append((agent_record(row.agent), worktree_record(row)))
    return fleets


def record_overlaps(
    fleet_id: int, seen: list[SeenOverlap], director_of: dict[int, int | None], text_of: Callable[[NewOverlap], str]
) -> list[int]:
    """Bring the fleet's overlap rows in step with `seen` and, in the same transaction, send the
    Director one message per pair with new files (from the pair's later member, the one whose
    work now meets the other's). `director_of` maps each member to its Director. Returns the ids
    of the messages sent."""
    sent: list[int] = []
    with database.atomic():
        known: dict[MemberPair, set[str]] = {}
        for row in WorktreeOverlap.select().where(WorktreeOverlap.fleet == fleet_id):
            known.setdefault(MemberPair(row.first_id, row.second_id), set()).add(row.path)
        now = utc_now()
        current = {overlap.pair: overlap.paths for overlap in seen}
        for pair, paths in known.items():
            gone = paths - current.get(pair, frozenset())
            if gone:
                WorktreeOverlap.delete().where(
                    (WorktreeOverlap.first == pair.first_id)
                    & (WorktreeOverlap.second == pair.second_id)
                    & WorktreeOverlap.path.in_(sorted(gone))
                ).execute()
        for pair, overlapping in current.items():
            new = sorted(overlapping - known.get(pair, set()))
            if not new:
                continue
            WorktreeOverlap.insert_many(
                [{"fleet": fleet_id, "first": pair.first_id, "second": pair.second_id, "path": p, "seen_at": now} for p in new]
            ).execute()
            director_id = director_of.get(pair.second_id) or director_of.get(pair.first_id)
            if director_id is not None:
                overlap = NewOverlap(pair, tuple(new), tuple(sorted(overlapping)))
                sent.append(store_unicast(fleet_id, pair.second_id, director_id, text_of(overlap), now).id)
    return sent


class OverlapWith(NamedTuple):
    """Another member whose branch changes some of the same files."""

    member_id: int
    handle: str  # name#id
    paths: tuple[str, ...]


def overlaps_of(fleet_id: int) -> dict[int, list[OverlapWith]]:
    """For each active member of the fleet whose branch overlaps another active member's: those
    members and the files both change."""
    active = {
        agent.id: f"{agent.name}#{agent.id}"
        for agent in Agent.select(Agent.id, Agent.name).where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE))
    }
    paths: dict[tuple[int, int], list[str]] = {}
    for row in WorktreeOverlap.select().where(WorktreeOverlap.fleet == fleet_id).order_by(WorktreeOverlap.path):
        if row.first_id in active and row.second_id in active:
            paths.setdefault((row.first_id, row.second_id), []).append(row.path)
    found: dict[int, list[OverlapWith]] = {}
    for (first, second), shared in sorted(paths.items()):
        found.setdefault(first, []).append(OverlapWith(second, active[second], tuple(shared)))
        found.setdefault(second, []).append(OverlapWith(first, active[first], tuple(shared)))
    return found
