"""How the TUI shows where a worktree member's work stands: its branch, commits ahead of its
base and uncommitted files, as a mark in the roster and as a summary in the agent detail; read
by git in workers, on a cadence of their own.

git costs ~30 ms per worktree member (a few processes each), far more than a refresh of the
fleet view, which runs on every database change. So the marks are a cache: read every
`RECHECK_SECONDS` (a member's commit changes no row, so nothing else would notice it), when
the fleet view comes back into view (after a merge in the agent detail), and when an agent
joins; never on the UI thread and never one read on top of another.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.message import Message

from cafleet.core.terminal import one_line
from cafleet.core.text import counted

if TYPE_CHECKING:
    from cafleet.services.worktree_review import MemberWorktree

RECHECK_SECONDS = 8.0


class WorktreeLook(StrEnum):
    """What git said of a member's worktree."""

    READ = "read"
    ELSEWHERE = "elsewhere"  # on another host: its branch is known, git cannot look
    BRANCH_GONE = "branch-gone"
    DIRECTORY_GONE = "directory-gone"
    UNREADABLE = "unreadable"  # git failed


class WorktreeMark(NamedTuple):
    """A worktree member's line in the roster."""

    branch: str
    look: WorktreeLook
    ahead: int = 0  # commits its branch has that its base lacks
    merged: bool = False  # those commits are all in its base already (merged or squashed)
    uncommitted: int = 0  # files changed, deleted or untracked in its worktree
    overlaps_with: tuple[str, ...] = ()  # names of members whose branches change some of its files


class WorktreesChecked(Message):
    """The marks of the fleet's worktree members, by agent id."""

    def __init__(self, marks: dict[int, WorktreeMark]):
        super().__init__()
        self.marks = marks


def worktree_marks(worktrees: list[MemberWorktree]) -> dict[int, WorktreeMark]:
    return {item.member.id: worktree_mark(item) for item in worktrees}


def worktree_mark(item: MemberWorktree) -> WorktreeMark:
    return _mark(item)._replace(overlaps_with=tuple(overlap.handle.rpartition("#")[0] for overlap in item.overlaps))


def _mark(item: MemberWorktree) -> WorktreeMark:
    branch, status = item.worktree.branch, item.status
    if status is None:
        return WorktreeMark(branch, WorktreeLook.ELSEWHERE)
    if status.problem is not None:
        return WorktreeMark(branch, WorktreeLook.UNREADABLE)
    if not status.branch_present:
        return WorktreeMark(branch, WorktreeLook.BRANCH_GONE, uncommitted=status.uncommitted or 0)
    look = WorktreeLook.READ if status.present else WorktreeLook.DIRECTORY_GONE
    return WorktreeMark(branch, look, status.ahead or 0, bool(status.merged), status.uncommitted or 0)


class WorktreeRead(Message):
    """One member's worktree, read for its agent detail (None: it has none)."""

    def __init__(self, item: MemberWorktree | None):
        super().__init__()
        self.item = item


def worktree_text(item: MemberWorktree) -> Text:
    """The agent detail's two lines: the branch and where it stands, then the worktree's path
    and the keys that review it."""
    from .render import DOT, SPACE, fields, home_path  # render.py imports this module

    worktree = item.worktree
    branch = fields(
        ("Worktree", "bold"), (one_line(worktree.branch), "bold"), ("from", "dim"), one_line(worktree.base_name), sep=SPACE
    )
    where = fields((home_path(worktree.path), "dim"), *([("d diff", "dim"), ("M merge", "dim")] if item.status else []), sep=DOT)
    overlaps = [
        fields(("⚠ also changed by", "bold red"), one_line(o.handle), (", ".join(one_line(p) for p in o.paths), "dim"), sep=SPACE)
        for o in item.overlaps
    ]
    return Text("\n").join([fields(branch, *_standing(item), sep=DOT), where, *overlaps])


def _standing(item: MemberWorktree) -> list[tuple[str, str]]:
    status = item.status
    if status is None:
        return [(f"on host {one_line(item.worktree.host or '?')}: not readable from here", "yellow")]
    if status.problem is not None:
        return [(f"git cannot read it: {one_line(status.problem)}", "yellow")]
    parts = []
    if not status.branch_present:
        parts.append(("branch gone", "red"))
    else:
        ahead = status.ahead or 0
        merged = " (all merged)" if ahead and status.merged else ""
        parts.append((f"{counted(ahead, 'commit')} ahead{merged}", "green" if merged else "bold cyan" if ahead else ""))
    if not status.present:
        parts.append(("its directory is gone", "red"))
    else:
        uncommitted = status.uncommitted or 0
        parts.append((f"{counted(uncommitted, 'uncommitted file')}", "yellow" if uncommitted else ""))
    return parts
