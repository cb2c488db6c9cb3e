"""Making a member's worktree: every check first (so a refusal leaves nothing behind), then the
worktree on its new branch, the `.worktreeinclude` files, and the setup command; a failure on
the way takes the worktree and the branch back."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from cafleet.core.config import worktrees_directory
from cafleet.core.errors import InvalidInput, Refused
from cafleet.core.records import ref_name
from cafleet.core.terminal import one_line
from cafleet.git.command import GitError, require_git
from cafleet.git.include import copy_included, included_files
from cafleet.git.layout import setup_log_path, worktree_path
from cafleet.git.repository import NotAWorkTree, WorkTree, branch_exists, changes, full_name, is_branch_name, look, resolve
from cafleet.git.setup import SetupRun, run_setup, setup_command
from cafleet.git.worktrees import add_worktree, commit_directories, delete_branch, remove_worktree, worktree_git_dir

SHOWN_FILES = 5


class WorktreeRequest(NamedTuple):
    """`member create --worktree` as the Director asked for it (None: the default)."""

    branch: str | None = None
    base: str | None = None
    setup: str | None = None
    skip_setup: bool = False


class WorktreePlan(NamedTuple):
    """A worktree checked and ready to be made."""

    source: WorkTree  # the Director's work tree
    path: Path
    branch: str
    base_ref: str | None
    base_commit: str
    request: WorktreeRequest


class MadeWorktree(NamedTuple):
    plan: WorktreePlan
    git_dir: Path  # the new worktree's own git directory
    copied: tuple[str, ...]  # `.worktreeinclude` files copied in
    not_copied: tuple[str, ...]  # matched, but not ignored by git
    setup: SetupRun | None

    @property
    def path(self) -> Path:
        return self.plan.path

    @property
    def base_name(self) -> str:
        return ref_name(self.plan.base_ref, self.plan.base_commit)

    @property
    def start_directory(self) -> Path:
        """Where the member's pane starts: the same directory of the tree the Director is in."""
        inside = self.plan.path / self.plan.source.prefix
        return inside if self.plan.source.prefix and inside.is_dir() else self.plan.path

    def commit_directories(self) -> tuple[Path, ...]:
        return commit_directories(self.plan.source.common_dir, self.git_dir, self.plan.branch)


class SetupFailed(Refused):
    """The setup command failed: the worktree and its branch were taken back."""


def default_branch(fleet_id: int, member_name: str) -> str:
    return f"cafleet/{fleet_id}/{member_name}"


def plan_worktree(request: WorktreeRequest, fleet_id: int, member_name: str, directory: Path) -> WorktreePlan:
    """Check that a worktree can be made for the member from the Director's `directory`."""
    require_git()
    seen = look(directory)
    if isinstance(seen, NotAWorkTree):
        hint = "; run `member create` from the repository's work tree" if seen is not NotAWorkTree.BARE else ""
        raise Refused(f"--worktree: {directory} is {seen.value}{hint}")
    if seen.head is None:
        raise Refused(f"--worktree: the repository at {seen.root} has no commit yet; commit something first")
    if seen.branch is None:
        raise Refused(
            f"--worktree: your work tree {seen.root} has a detached HEAD (at {seen.head[:7]}); check out a branch "
            "first (git switch BRANCH): a member's work is merged into your current branch"
        )
    dirty = changes(seen.root, untracked=False)
    if dirty:
        raise Refused(
            f"--worktree: your work tree {seen.root} has uncommitted changes ({listed([c.path for c in dirty])}); "
            "commit or stash them first: the member's worktree would not have them"
        )
    branch = request.branch if request.branch is not None else default_branch(fleet_id, member_name)
    if not is_branch_name(seen.root, branch):
        flag = f"--branch {one_line(branch)!r} is" if request.branch is not None else f"the branch name {branch!r} is"
        raise InvalidInput(f"{flag} not a valid git branch name; choose another with --branch")
    if branch_exists(seen.common_dir, branch):
        raise Refused(
            f"branch {branch} already exists in {seen.main_root}; choose another name with --branch "
            f"(or delete it: git branch -D {branch})"
        )
    base = request.base if request.base is not None else "HEAD"
    commit = resolve(seen.root, base)
    if commit is None:
        raise InvalidInput(f"--base {one_line(base)!r} names no commit in {seen.root}; give a branch, tag or commit")
    base_ref = seen.branch if request.base is None else full_name(seen.root, base)
    path = worktree_path(seen.main_root, branch, worktrees_directory())
    if path.exists() or path.is_symlink():
        raise Refused(f"{path} already exists; move it away, or choose another --branch (the directory is named after it)")
    return WorktreePlan(seen, path, branch, base_ref, commit, request)


def make_worktree(plan: WorktreePlan) -> MadeWorktree:
    """The worktree on its new branch, its `.worktreeinclude` files, its setup run; on any
    failure (`SetupFailed` for the setup command) the worktree and the branch are removed."""
    try:
        add_worktree(plan.source.root, plan.path, plan.branch, plan.base_commit)
        included = included_files(plan.source.root)
        copy_included(plan.source.root, plan.path, included.copy)
        command = None if plan.request.skip_setup else setup_command(plan.path, plan.request.setup)
        setup = run_setup(command, plan.path, plan.source.root, setup_log_path(plan.path)) if command else None
        if setup is not None and not setup.ok:
            ended = f"exit status {setup.exit_status}" if setup.exit_status is not None else "it ran out of time and was stopped"
            tail = "\n".join(setup.tail)
            raise SetupFailed(
                f"the setup command `{one_line(setup.command.shown)}` failed ({ended}); the worktree and branch "
                f"{plan.branch} were removed and no member was made. Its output is in {setup.log}; the last lines:\n{tail}"
            )
        return MadeWorktree(plan, worktree_git_dir(plan.path), included.copy, included.not_ignored, setup)
    except BaseException:
        undo_worktree(plan)
        raise


def undo_worktree(plan: WorktreePlan) -> None:
    """Take back a worktree (and its branch) made for a member that was not spawned after all."""
    try:
        remove_worktree(plan.source.common_dir, plan.path, force=True)
    except GitError:
        pass  # it was never made
    if branch_exists(plan.source.common_dir, plan.branch):
        try:
            delete_branch(plan.source.common_dir, plan.branch)
        except GitError:
            pass


def listed(paths: list[str] | tuple[str, ...]) -> str:
    """A few paths, for a message: `a, b, c and 4 more`."""
    shown = ", ".join(one_line(path) for path in paths[:SHOWN_FILES])
    return shown + (f" and {len(paths) - SHOWN_FILES} more" if len(paths) > SHOWN_FILES else "")
