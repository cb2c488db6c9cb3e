"""Members' worktrees in the CLI's output: what `member create --worktree` made, where each
stands in `member list`, what `member delete` and `fleet delete` kept, diffs and merges."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cafleet.core.terminal import one_line
from cafleet.core.text import counted

if TYPE_CHECKING:
    from cafleet.broker.worktree_overlaps import OverlapWith
    from cafleet.core.records import WorktreeRecord
    from cafleet.git.review import Commit, FileChange
    from cafleet.panes.worktree_release import Release
    from cafleet.services.worktree_create import MadeWorktree
    from cafleet.services.worktree_review import MemberDiff, Merged, WorktreeStatus

SHOWN_PATHS = 8


def made_json(made: MadeWorktree) -> dict:
    setup = made.setup
    return {
        "path": str(made.path),
        "branch": made.plan.branch,
        "base": made.base_name,
        "base_ref": made.plan.base_ref,
        "base_commit": made.plan.base_commit,
        "start_directory": str(made.start_directory),
        "copied": list(made.copied),
        "not_copied": list(made.not_copied),
        "setup": None
        if setup is None
        else {"command": setup.command.shown, "log": str(setup.log), "exit_status": setup.exit_status},
    }


def made_lines(made: MadeWorktree) -> list[str]:
    lines = [f"  worktree: {made.path} (branch {made.plan.branch} from {made.base_name} at {made.plan.base_commit[:7]})"]
    if made.copied:
        lines.append(f"  copied from .worktreeinclude: {_paths(made.copied)}")
    if made.not_copied:
        lines.append(f"  not copied (git does not ignore them, so the member could commit them): {_paths(made.not_copied)}")
    if made.setup is not None:
        lines.append(f"  setup `{one_line(made.setup.command.shown)}` ran; its output is in {made.setup.log}")
    return lines


def status_json(worktree: WorktreeRecord, status: WorktreeStatus) -> dict:
    return {
        "path": worktree.path,
        "branch": worktree.branch,
        "base": worktree.base_name,
        "base_commit": worktree.base_commit,
        "present": status.present,
        "branch_present": status.branch_present,
        "ahead": status.ahead,
        "merged": status.merged,
        "uncommitted": status.uncommitted,
        "problem": status.problem,
    }


def status_line(worktree: WorktreeRecord, status: WorktreeStatus) -> str:
    if status.problem is not None:
        return f"  worktree {worktree.path}: branch {worktree.branch}, not readable: {status.problem}"
    if not status.branch_present:
        where = "branch gone"
    else:
        where = f"{counted(status.ahead or 0, 'commit')} ahead of {worktree.base_name}"
        if status.ahead and status.merged:
            where += " (all merged)"
    if status.present:
        where += f", {counted(status.uncommitted or 0, 'uncommitted file')}"
    else:
        where += ", directory gone"
    return f"  worktree {worktree.path}: branch {worktree.branch}, {where}"


def overlap_json(overlaps: list[OverlapWith]) -> list[dict]:
    return [{"member_id": o.member_id, "member": o.handle, "paths": list(o.paths)} for o in overlaps]


def overlap_lines(overlaps: list[OverlapWith]) -> list[str]:
    """`  overlaps tester#4: notes.txt, src/app.py` for each member whose branch changes some
    of the same files."""
    return [f"  overlaps {one_line(o.handle)}: {', '.join(one_line(p) for p in o.paths)}" for o in overlaps]


def release_json(release: Release) -> dict:
    return {
        "path": release.worktree.path,
        "branch": release.worktree.branch,
        "base": release.base_name,
        "worktree_removed": release.worktree_removed,
        "branch_deleted": release.branch_deleted,
        "closed": release.closed,
        "busy_panes": list(release.busy_panes),
        "uncommitted": release.uncommitted,
        "unmerged_commits": release.unmerged,
        "elsewhere": release.elsewhere,
        "repository_gone": release.repository_gone,
        "failure": release.failure,
    }


def release_lines(release: Release, again: str) -> list[str]:
    """What became of a worktree and its branch, and the command that removes what was kept
    (`again`, with --discard for work that is not merged)."""
    worktree = release.worktree
    path, branch, base = worktree.path, worktree.branch, release.base_name
    both = f"its worktree {path} and its branch {branch}"
    if release.repository_gone:
        return [f"  Its repository ({worktree.git_dir}) is gone, and with it the worktree's branch."]
    if release.elsewhere:
        return [f"  Kept {both}: they are on host {worktree.host}; run `{again}` there."]
    if release.busy_panes:
        panes = ", ".join(release.busy_panes)
        return [f"  Kept {both}: pane {panes} still works in it; close it, then run `{again}`."]
    if release.failure is not None:
        return [f"  Kept {both}: {release.failure}"]
    if release.closed:
        return [f"  Removed {both}."]
    unmerged = f" with {counted(release.unmerged, 'commit')} not in {base}" if release.unmerged else ""
    if not release.worktree_removed:
        return [
            f"  Kept its worktree {path} ({counted(release.uncommitted, 'uncommitted file')}) and its branch {branch}{unmerged}: "
            f"commit or drop that work, then run `{again}`; `{again} --discard` removes both and loses it."
        ]
    return [
        f"  Removed its worktree {path}. Kept its branch {branch}{unmerged}: `git merge {branch}` takes them; "
        f"`{again} --discard` (or `git branch -D {branch}`) drops them."
    ]


def diff_json(diff: MemberDiff) -> dict:
    return {
        "member_id": diff.member.id,
        "path": diff.worktree.path,
        "branch": diff.worktree.branch,
        "base": diff.worktree.base_name,
        "uncommitted": diff.uncommitted,
        "commits": [commit_json(c) for c in diff.commits],
        "files": [file_json(f) for f in diff.files],
        "diff": diff.text,
    }


def merged_json(merged: Merged) -> dict:
    return {
        "member_id": merged.member.id,
        "branch": merged.worktree.branch,
        "into": merged.into,
        "squash": merged.squash,
        "head": merged.head,
        "commits": [commit_json(c) for c in merged.commits],
        "files": [file_json(f) for f in merged.files],
        "task_id": merged.message.id,
    }


def merged_line(merged: Merged) -> str:
    how = "squashed into commit" if merged.squash else "merge commit"
    return (
        f"Merged {merged.member.handle}'s branch {merged.worktree.branch} into {merged.into}: "
        f"{counted(len(merged.commits), 'commit')}, {counted(len(merged.files), 'file')} ({how} {merged.head[:7]}); "
        f"recorded as message #{merged.message.id}."
    )


def commit_json(commit: Commit) -> dict:
    return {"sha": commit.sha, "subject": commit.subject}


def file_json(change: FileChange) -> dict:
    return {
        "path": change.path,
        "status": change.status,
        "old_path": change.old_path,
        "added": change.added,
        "deleted": change.deleted,
    }


def _paths(paths: tuple[str, ...]) -> str:
    shown = ", ".join(one_line(p) for p in paths[:SHOWN_PATHS])
    return shown + (f" and {len(paths) - SHOWN_PATHS} more" if len(paths) > SHOWN_PATHS else "")
