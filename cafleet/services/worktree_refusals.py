"""Why a review or a merge of a member's worktree was refused, as data a face words itself.

The services' sentences (`message`) are the CLI's: they name `member merge`, `--worktree` and
"your work tree", since the Director runs the CLI from its own work tree. A face that is not
the CLI (the TUI, which merges into the work tree the member's worktree was made from) reads
`blocker` and the values beside it instead, and says the same thing in its own terms.
"""

from __future__ import annotations

from enum import StrEnum

from cafleet.core.errors import Refused
from cafleet.core.records import AgentRecord


class Blocker(StrEnum):
    """What stands in the way of reviewing or merging a member's worktree."""

    NO_WORKTREE = "no-worktree"  # the member was created without one
    OTHER_HOST = "other-host"  # its worktree is on another machine (`where`: that host)
    REPOSITORY_GONE = "repository-gone"  # `where`: the repository's git directory
    WORKTREE_GONE = "worktree-gone"  # `where`: the worktree's directory
    BRANCH_GONE = "branch-gone"
    NOT_A_WORK_TREE = "not-a-work-tree"  # `where`: the directory merged into; `detail`: what it is
    OTHER_REPOSITORY = "other-repository"  # `where`: a work tree of another repository
    OWN_WORKTREE = "own-worktree"  # `where`: the member's own worktree
    DETACHED_HEAD = "detached-head"  # `where`: the work tree merged into
    DIRTY = "dirty"  # `where`: the work tree; `paths`: its uncommitted changes
    UP_TO_DATE = "up-to-date"  # `into` has every commit of the branch
    ALREADY_APPLIED = "already-applied"  # `into` has every change of the branch (squashed before)
    CONFLICT = "conflict"  # `paths`: the files that would conflict
    UNTRACKED_IN_THE_WAY = "untracked-in-the-way"  # `paths`: untracked files the merge would overwrite
    NO_COMMIT_IDENTITY = "no-commit-identity"  # `detail`: what git said
    BRANCH_MOVED = "branch-moved"  # the branch gained commits since its merge was previewed


class ReviewRefused(Refused):
    """A review or merge of `member` refused, nothing changed."""

    def __init__(
        self,
        message: str,
        blocker: Blocker,
        *,
        member: AgentRecord,
        branch: str | None = None,
        into: str | None = None,
        where: str | None = None,
        paths: tuple[str, ...] = (),
        detail: str | None = None,
    ):
        super().__init__(message)
        self.blocker = blocker
        self.member = member
        self.branch = branch
        self.into = into
        self.where = where
        self.paths = paths
        self.detail = detail
