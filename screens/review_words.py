"""The TUI's words for a refused review or merge of a member's worktree.

The services word their refusals for the CLI, run by the Director in its own work tree ("your
work tree", "run `member merge` in …"). The TUI merges into the work tree the member's worktree
was made from and is run by the human, so it says which work tree it means and what to do
there, from the refusal's reason and values (`cafleet.services.worktree_refusals`).
"""

from __future__ import annotations

from cafleet.core.terminal import one_line
from cafleet.core.text import counted
from cafleet.services.worktree_refusals import Blocker, ReviewRefused

from .render import home_path

SHOWN_PATHS = 5
NOTHING_MERGED = "nothing was merged"


def review_refusal_text(error: ReviewRefused) -> str:
    who, branch, into = error.member.handle, one_line(error.branch or "?"), one_line(error.into or "?")
    where = home_path(error.where) if error.where else "?"
    paths = _paths(error.paths)
    match error.blocker:
        case Blocker.NO_WORKTREE:
            return f"{who} works in no worktree of its own (it was created without one): it has no branch to review"
        case Blocker.OTHER_HOST:
            return f"{who}'s worktree is on host {one_line(where)}: review and merge it with the cafleet there"
        case Blocker.REPOSITORY_GONE:
            return f"{who}'s repository ({where}) is gone, and its branch {branch} with it"
        case Blocker.WORKTREE_GONE:
            return f"{who}'s worktree {where} is gone; what it committed is on its branch {branch} (u shows it)"
        case Blocker.BRANCH_GONE:
            return f"{who}'s branch {branch} is gone: there is nothing of it to show or merge"
        case Blocker.NOT_A_WORK_TREE:
            return f"{who}'s branch is merged into the work tree it was made from, {where}, which is {error.detail} now; {NOTHING_MERGED}"
        case Blocker.OTHER_REPOSITORY:
            return f"{where}, where {who}'s worktree was made from, is a work tree of another repository now; {NOTHING_MERGED}"
        case Blocker.OWN_WORKTREE:
            return f"{where} is {who}'s own worktree, not a work tree to merge it into; {NOTHING_MERGED}"
        case Blocker.DETACHED_HEAD:
            return f"the work tree to merge into, {where}, has a detached HEAD: check out the branch to merge into there first; {NOTHING_MERGED}"
        case Blocker.DIRTY:
            return (
                f"the work tree to merge into, {where} (on {into}), has uncommitted changes ({paths}): "
                f"commit or stash them there first; {NOTHING_MERGED}"
            )
        case Blocker.UP_TO_DATE:
            return f"{into} already has every commit of {branch}: there is nothing to merge"
        case Blocker.ALREADY_APPLIED:
            return f"{into} already has every change of {branch} (merged or applied before): there is nothing to merge"
        case Blocker.CONFLICT:
            files = counted(len(error.paths), "file")
            return (
                f"merging {branch} into {into} would conflict in {files}: {paths}. Nothing was changed. "
                f"Ask {who} (@{error.member.name} in the fleet's composer) to merge {into} into its branch and resolve them, then merge again"
            )
        case Blocker.UNTRACKED_IN_THE_WAY:
            return (
                f"merging {branch} would overwrite files that {where} holds but git does not track ({paths}): "
                f"move them away first; {NOTHING_MERGED}"
            )
        case Blocker.NO_COMMIT_IDENTITY:
            return f"git cannot make a commit in {where}: {one_line(error.detail or '')}; {NOTHING_MERGED}"
        case Blocker.BRANCH_MOVED:
            return f"{who}'s branch {branch} gained commits since the merge was shown: look again (M); {NOTHING_MERGED}"
    return error.message


def _paths(paths: tuple[str, ...]) -> str:
    shown = ", ".join(one_line(p) for p in paths[:SHOWN_PATHS])
    return shown + (f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else "")
