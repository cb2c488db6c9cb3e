"""The overlap warning: when two live members' branches change the same file, their Director
gets one message naming the members and the files, before anyone tries to merge.

The courier of the Director's host calls `OverlapWatch.look` every few seconds. A branch's
changed files are worked out again only when its head or its base moved (git costs tens of ms a
branch; a look at branches that did not move costs one `rev-parse` each).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import NamedTuple

from cafleet.broker.worktree_overlaps import MemberPair, NewOverlap, SeenOverlap, record_overlaps, watched_worktrees
from cafleet.core.records import AgentRecord, WorktreeRecord
from cafleet.core.terminal import one_line
from cafleet.git.command import GitError
from cafleet.git.repository import resolve
from cafleet.git.review import changed_paths, overlaps

OVERLAP_TAG = "[overlap]"
# A message names at most this many files; the rest are counted.
NAMED_FILES = 10


class _BranchState(NamedTuple):
    git_dir: str
    base: str  # the commit its base ref points at now
    head: str


class OverlapWatch:
    """What one courier remembers between looks: each branch's changed files by its state."""

    def __init__(self) -> None:
        self._changed: dict[_BranchState, frozenset[str]] = {}

    def look(self, host: str) -> list[int]:
        """Compare the branches of every fleet with worktree members on `host`; tell each
        Director of new overlaps. Returns the ids of the messages sent."""
        sent: list[int] = []
        seen_states: set[_BranchState] = set()
        for fleet_id, members in watched_worktrees(host).items():
            changed: dict[int, frozenset[str]] = {}
            for member, worktree in members:
                state = _state_of(worktree)
                if state is None:  # its branch or repository is gone: nothing to compare
                    continue
                seen_states.add(state)
                if state not in self._changed:
                    self._changed[state] = changed_paths(state.git_dir, state.base, state.head)
                changed[member.id] = self._changed[state]
            seen = _pairs(changed)
            names = {member.id: member for member, _ in members}
            branches = {member.id: worktree.branch for member, worktree in members}
            directors = {member.id: worktree.director_id for member, worktree in members}
            sent += record_overlaps(fleet_id, seen, directors, partial(overlap_text, fleet_id, names, branches, directors))
        for state in set(self._changed) - seen_states:  # forget branches nobody works on any more
            del self._changed[state]
        return sent


def _state_of(worktree: WorktreeRecord) -> _BranchState | None:
    """The branch's head and its base's current commit (so work merged into the base no longer
    counts as the branch's change)."""
    if not Path(worktree.git_dir).is_dir():
        return None
    try:
        head = resolve(None, f"refs/heads/{worktree.branch}", git_dir=worktree.git_dir)
        base = (resolve(None, worktree.base_ref, git_dir=worktree.git_dir) if worktree.base_ref else None) or worktree.base_commit
    except GitError:
        return None
    return None if head is None else _BranchState(worktree.git_dir, base, head)


def _pairs(changed: dict[int, frozenset[str]]) -> list[SeenOverlap]:
    found = overlaps({str(member): paths for member, paths in changed.items()})
    return [SeenOverlap(MemberPair(*sorted((int(o.first), int(o.second)))), frozenset(o.paths)) for o in found]


def overlap_text(
    fleet_id: int,
    members: dict[int, AgentRecord],
    branches: dict[int, str],
    directors: dict[int, int | None],
    new: NewOverlap,
) -> str:
    """The Director's message: who, on which branches, which files, and how to look."""
    first, second = members[new.pair.first_id], members[new.pair.second_id]
    named = ", ".join(one_line(path) for path in new.new_paths[:NAMED_FILES])
    more = len(new.new_paths) - NAMED_FILES
    files = named + (f" and {more} more" if more > 0 else "")
    director = directors.get(second.id) or directors.get(first.id)
    see = f"cafleet --fleet-id {fleet_id} member diff --agent-id {director} --member-id {{}} --stat"
    return (
        f"{OVERLAP_TAG} {first.handle} ({branches[first.id]}) and {second.handle} "
        f"({branches[second.id]}) both change {files}. Merge one before the other changes "
        f"more, or tell them who owns these files. See: {see.format(first.id)}; {see.format(second.id)}"
    )
