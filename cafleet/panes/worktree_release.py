"""Letting go of a member's worktree when the member leaves (`member delete`, `fleet delete`)
without losing work: the worktree is removed only when nothing in it is uncommitted and no pane
works in it, and its branch is deleted only when its base already holds everything on it.
`discard` drops both anyway, but never from under a live pane."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from cafleet.broker.worktrees import close_worktree
from cafleet.core.hosts import is_this_host
from cafleet.core.records import WorktreeRecord
from cafleet.git.command import GitError
from cafleet.git.layout import setup_log_path
from cafleet.git.merging import adds_nothing
from cafleet.git.repository import branch_exists, changes
from cafleet.git.review import ahead
from cafleet.git.worktrees import delete_branch, remove_worktree
from cafleet.panes.tmux import Tmux
from cafleet.services.worktree_review import base_of


class Release(NamedTuple):
    """What became of a member's worktree and branch, and why anything was kept."""

    worktree: WorktreeRecord
    worktree_removed: bool
    branch_deleted: bool  # deleted now, or already gone
    busy_panes: tuple[str, ...] = ()  # live panes working in it: nothing was touched
    uncommitted: int = 0  # why the worktree was kept
    unmerged: int = 0  # commits its base lacks: why the branch was kept
    base_name: str = ""
    elsewhere: bool = False  # it is on another host: nothing was touched
    repository_gone: bool = False
    failure: str | None = None  # git refused something (its words); the rest was kept

    @property
    def closed(self) -> bool:
        """Nothing of it is left on disk."""
        return self.worktree_removed and self.branch_deleted


def release_worktree(worktree: WorktreeRecord, discard: bool = False) -> Release:
    """Remove what can go without losing work (with `discard`: everything no pane uses), and
    mark the worktree closed once nothing of it is left."""
    kept = Release(worktree, False, False, base_name=worktree.base_name)
    if not is_this_host(worktree.host):
        return kept._replace(elsewhere=True)
    git_dir, path = worktree.git_dir, Path(worktree.path)
    if not Path(git_dir).is_dir():
        close_worktree(worktree.agent_id)  # the repository itself is gone: nothing of it to keep
        return kept._replace(worktree_removed=True, branch_deleted=True, repository_gone=True)
    busy = panes_working_in(worktree)
    if busy:
        return kept._replace(busy_panes=busy)
    try:
        uncommitted = len(changes(path)) if path.is_dir() else 0
        if uncommitted and not discard:
            return kept._replace(uncommitted=uncommitted, unmerged=_unmerged(worktree))
        remove_worktree(git_dir, path, force=discard)
        _remove_setup_log(path)
        released = kept._replace(worktree_removed=True)
        unmerged = _unmerged(worktree)
        if unmerged and not discard:
            return released._replace(unmerged=unmerged)
        if branch_exists(git_dir, worktree.branch):
            delete_branch(git_dir, worktree.branch)
    except GitError as exc:
        return kept._replace(failure=exc.message)
    close_worktree(worktree.agent_id)
    return released._replace(branch_deleted=True)


def panes_working_in(worktree: WorktreeRecord) -> tuple[str, ...]:
    """Live panes of the member's tmux server whose program works inside the worktree."""
    if worktree.tmux_socket is None:
        return ()
    root = os.path.realpath(worktree.path)
    busy = []
    for pane_id, where in Tmux(worktree.tmux_socket).pane_paths().items():
        resolved = os.path.realpath(where)
        if resolved == root or resolved.startswith(root + os.sep):
            busy.append(pane_id)
    return tuple(busy)


def _unmerged(worktree: WorktreeRecord) -> int:
    """Commits of the branch that its base does not hold (0 when it is gone, or merged in any way)."""
    if not branch_exists(worktree.git_dir, worktree.branch):
        return 0
    base = base_of(worktree)
    count = ahead(worktree.git_dir, base, worktree.branch)
    return 0 if count == 0 or adds_nothing(worktree.git_dir, base, worktree.branch) else count


def _remove_setup_log(path: Path) -> None:
    try:
        setup_log_path(path).unlink()
    except FileNotFoundError:
        pass
