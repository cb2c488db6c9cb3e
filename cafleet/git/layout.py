"""Where members' worktrees live: outside the repository's tree, so that searches, watchers and
test runners in the Director's checkout never see them, and beside it, so they are easy to find:
`<repository's parent>/.cafleet-worktrees/<repository>/<branch, '/' as '-'>`, or under
`CAFLEET_WORKTREES_DIR` when it is set."""

from __future__ import annotations

from pathlib import Path

WORKTREES_DIRECTORY = ".cafleet-worktrees"
SETUP_LOG_SUFFIX = ".setup.log"


def worktree_path(main_root: Path, branch: str, override: Path | None = None) -> Path:
    """Where the worktree for `branch` of the repository whose main work tree is `main_root` goes."""
    parent = override if override is not None else main_root.parent / WORKTREES_DIRECTORY
    return parent / main_root.name / branch.replace("/", "-")


def setup_log_path(worktree: Path) -> Path:
    """The setup command's log, beside the worktree (inside, git would list it as untracked)."""
    return worktree.with_name(worktree.name + SETUP_LOG_SUFFIX)
