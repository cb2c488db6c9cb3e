"""The Director's review of a member's worktree: where it stands (commits ahead of its base,
uncommitted files), its diff, and merging its branch into the Director's current branch with one
record of it in the fleet's timeline."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from cafleet.broker.worktree_overlaps import OverlapWith, overlaps_of
from cafleet.broker.worktrees import member_worktree, open_worktrees, record_merge
from cafleet.core.domain import AgentStatus
from cafleet.core.hosts import is_this_host, this_host
from cafleet.core.records import AgentRecord, TaskRecord, WorktreeRecord
from cafleet.core.terminal import one_line
from cafleet.core.text import counted
from cafleet.git.command import GitError, require_git
from cafleet.git.merging import added_paths, adds_nothing, merge, preview_merge, tree_of
from cafleet.git.repository import NotAWorkTree, branch_exists, changes, commit_identity_problem, look, resolve, short_branch
from cafleet.git.review import (
    Commit,
    FileChange,
    ahead,
    branch_diff,
    changed_files,
    commits,
    tree_changes,
    uncommitted_diff,
    uncommitted_files,
)
from cafleet.services.worktree_create import listed
from cafleet.services.worktree_refusals import Blocker, ReviewRefused

# A merge's timeline message names at most this many commits and files.
RECORDED_COMMITS = 20
RECORDED_FILES = 50
# Worktrees whose status `fleet_worktrees` reads side by side.
STATUS_AT_ONCE = 4


class WorktreeStatus(NamedTuple):
    """Where a member's worktree stands; None where it cannot be told (directory or branch gone)."""

    present: bool  # its directory is there
    branch_present: bool
    ahead: int | None  # commits its branch has that its base lacks
    merged: bool | None  # everything its branch holds is in its base (merged, squashed or applied)
    uncommitted: int | None  # files changed, deleted or untracked in it
    problem: str | None = None  # git failed (its words): the rest could not be told


class MemberDiff(NamedTuple):
    member: AgentRecord
    worktree: WorktreeRecord
    uncommitted: bool  # the working tree against its HEAD, instead of the branch against its base
    commits: list[Commit]
    files: list[FileChange]
    text: str  # the diff (or its --stat)


class Merged(NamedTuple):
    member: AgentRecord
    worktree: WorktreeRecord
    into: str  # the Director's branch
    squash: bool
    head: str  # the Director's branch's new commit
    commits: list[Commit]
    files: list[FileChange]
    message: TaskRecord  # its record in the timeline


def base_of(worktree: WorktreeRecord) -> str:
    """What the branch is compared with: its base ref while that still names a commit, else
    the commit it branched from."""
    if worktree.base_ref is not None and resolve(None, worktree.base_ref, git_dir=worktree.git_dir) is not None:
        return worktree.base_ref
    return worktree.base_commit


def worktree_status(worktree: WorktreeRecord) -> WorktreeStatus:
    """Where the worktree stands; a git failure is told in `problem`, not raised (one broken
    worktree must not hide the others from `member list`)."""
    path = Path(worktree.path)
    present = path.is_dir()
    if not Path(worktree.git_dir).is_dir():
        return WorktreeStatus(present, False, None, None, None)
    try:
        branch_present = branch_exists(worktree.git_dir, worktree.branch)
        count = merged = None
        if branch_present:
            base = base_of(worktree)
            count = ahead(worktree.git_dir, base, worktree.branch)
            merged = count == 0 or adds_nothing(worktree.git_dir, base, worktree.branch)
        uncommitted = len(changes(path)) if present else None
    except GitError as exc:
        return WorktreeStatus(present, False, None, None, None, problem=exc.message)
    return WorktreeStatus(present, branch_present, count, merged, uncommitted)


class MemberWorktree(NamedTuple):
    """An active member's worktree and where it stands."""

    member: AgentRecord
    worktree: WorktreeRecord
    status: WorktreeStatus | None  # None: on another host, where git cannot look
    overlaps: tuple[OverlapWith, ...] = ()  # members whose branches change some of the same files


def fleet_worktrees(fleet_id: int, at_once: int = STATUS_AT_ONCE) -> list[MemberWorktree]:
    """Each active member's open worktree in the fleet, with its status read on this host.
    Each status is a few git processes (~40 ms); `at_once` of them run side by side."""
    active = [(member, worktree) for member, worktree in open_worktrees(fleet_id) if member.status == AgentStatus.ACTIVE]
    here = [worktree for _, worktree in active if is_this_host(worktree.host)]
    statuses: dict[int, WorktreeStatus] = {}
    if here:
        from concurrent.futures import ThreadPoolExecutor  # only the TUI reads a whole fleet's

        with ThreadPoolExecutor(max_workers=max(1, min(at_once, len(here)))) as pool:
            statuses = dict(zip((w.agent_id for w in here), pool.map(worktree_status, here), strict=True))
    overlaps = overlaps_of(fleet_id)
    return [
        MemberWorktree(member, worktree, statuses.get(worktree.agent_id), tuple(overlaps.get(member.id, ())))
        for member, worktree in active
    ]


def member_worktree_status(fleet_id: int, director_id: int, member_id: int) -> MemberWorktree | None:
    """An active member's open worktree and where it stands; None when it has no worktree."""
    member, worktree = member_worktree(fleet_id, director_id, member_id)
    if worktree is None:
        return None
    status = worktree_status(worktree) if is_this_host(worktree.host) else None
    return MemberWorktree(member, worktree, status, tuple(overlaps_of(fleet_id).get(member_id, ())))


def reviewable(fleet_id: int, director_id: int, member_id: int) -> tuple[AgentRecord, WorktreeRecord]:
    """An active member of this Director that works in a worktree on this host."""
    require_git()
    member, worktree = member_worktree(fleet_id, director_id, member_id)
    who = member.handle
    if worktree is None:
        raise ReviewRefused(
            f"member {who} has no worktree (it was created without --worktree); there is nothing to review",
            Blocker.NO_WORKTREE,
            member=member,
        )
    if not is_this_host(worktree.host):
        raise ReviewRefused(
            f"member {who}'s worktree is on host {worktree.host} and this is host {this_host()}; run the command there",
            Blocker.OTHER_HOST,
            member=member,
            branch=worktree.branch,
            where=worktree.host,
        )
    if not Path(worktree.git_dir).is_dir():
        raise ReviewRefused(
            f"member {who}'s repository ({worktree.git_dir}) is gone",
            Blocker.REPOSITORY_GONE,
            member=member,
            branch=worktree.branch,
            where=worktree.git_dir,
        )
    return member, worktree


def member_diff(
    fleet_id: int, director_id: int, member_id: int, stat: bool = False, uncommitted: bool = False, details: bool = True
) -> MemberDiff:
    """The member's committed work against its base (or, with `uncommitted`, what its worktree
    holds that is not committed) as a diff (`stat`: its --stat), with its commits and files
    when `details` asks for them."""
    member, worktree = reviewable(fleet_id, director_id, member_id)
    if uncommitted:
        path = Path(worktree.path)
        if not path.is_dir():
            raise ReviewRefused(
                f"member {member.handle}'s worktree {path} is gone",
                Blocker.WORKTREE_GONE,
                member=member,
                branch=worktree.branch,
                where=str(path),
            )
        files = uncommitted_files(path) if details else []
        return MemberDiff(member, worktree, True, [], files, uncommitted_diff(path, stat))
    if not branch_exists(worktree.git_dir, worktree.branch):
        raise ReviewRefused(
            f"member {member.handle}'s branch {worktree.branch} is gone",
            Blocker.BRANCH_GONE,
            member=member,
            branch=worktree.branch,
        )
    base = base_of(worktree)
    text = branch_diff(worktree.git_dir, base, worktree.branch, stat)
    if not details:
        return MemberDiff(member, worktree, False, [], [], text)
    listed_commits = commits(worktree.git_dir, base, worktree.branch)
    return MemberDiff(member, worktree, False, listed_commits, changed_files(worktree.git_dir, base, worktree.branch), text)


class MergePlan(NamedTuple):
    """A merge checked and ready: what it brings into which branch of which work tree."""

    member: AgentRecord
    worktree: WorktreeRecord
    root: Path  # the work tree merged into
    branch_ref: str  # its branch, refs/heads/…
    into: str  # the same, short
    tip: str  # the member's branch's commit that is merged
    commits: list[Commit]  # what the branch brings, newest first
    files: list[FileChange]  # what the merge changes in `into`


def plan_merge(fleet_id: int, director_id: int, member_id: int, directory: Path | None = None) -> MergePlan:
    """Every check of `merge_member`, and what it would bring, without changing anything.
    `directory` None: the work tree the member's worktree was made from."""
    member, worktree = reviewable(fleet_id, director_id, member_id)
    who, branch, git_dir = member.handle, worktree.branch, worktree.git_dir
    directory = Path(worktree.source) if directory is None else directory

    def refused(message: str, blocker: Blocker, **data) -> ReviewRefused:
        return ReviewRefused(message, blocker, member=member, branch=branch, **data)

    here = look(directory)
    if isinstance(here, NotAWorkTree):
        raise refused(
            f"{directory} is {here.value}; run `member merge` in your work tree of {worktree.source}",
            Blocker.NOT_A_WORK_TREE,
            where=str(directory),
            detail=here.value,
        )
    if here.common_dir.resolve() != Path(git_dir).resolve():
        raise refused(
            f"{here.root} is not in the repository of member {who}'s worktree ({worktree.source}); "
            "run `member merge` in your work tree of that repository",
            Blocker.OTHER_REPOSITORY,
            where=str(here.root),
        )
    if here.root.resolve() == Path(worktree.path).resolve():
        raise refused(
            f"{here.root} is member {who}'s own worktree; run `member merge` in your work tree",
            Blocker.OWN_WORKTREE,
            where=str(here.root),
        )
    if here.branch is None:
        raise refused(
            f"your work tree {here.root} has a detached HEAD; check out the branch to merge into (git switch BRANCH)",
            Blocker.DETACHED_HEAD,
            where=str(here.root),
        )
    into = short_branch(here.branch)
    dirty = [c.path for c in changes(here.root, untracked=False)]
    if dirty:
        raise refused(
            f"your work tree {here.root} has uncommitted changes ({listed(dirty)}); commit or stash them first; nothing was merged",
            Blocker.DIRTY,
            into=into,
            where=str(here.root),
            paths=tuple(dirty),
        )
    tip = resolve(here.root, f"refs/heads/{branch}")
    if tip is None:
        raise refused(f"member {who}'s branch {branch} is gone; nothing was merged", Blocker.BRANCH_GONE, into=into)
    incoming = commits(git_dir, here.branch, tip)
    if not incoming:
        raise refused(f"{into} already has every commit of {branch}; nothing to merge", Blocker.UP_TO_DATE, into=into)
    preview = preview_merge(git_dir, here.branch, tip)
    if not preview.clean:
        raise refused(
            f"merging {branch} into {into} would conflict in {counted(len(preview.conflicts), 'file')}: "
            f"{', '.join(one_line(p) for p in preview.conflicts)}; "
            f"nothing was changed. Have member {who} merge {into} into its branch and resolve them, then merge again",
            Blocker.CONFLICT,
            into=into,
            paths=preview.conflicts,
        )
    if preview.tree == tree_of(git_dir, here.branch):
        raise refused(
            f"{into} already has every change of {branch} (merged or applied before); nothing to merge",
            Blocker.ALREADY_APPLIED,
            into=into,
        )
    in_the_way = [path for path in added_paths(git_dir, here.branch, preview.tree) if _on_disk(here.root / path)]
    if in_the_way:
        raise refused(
            f"merging {branch} would overwrite files your work tree holds but git does not track "
            f"({listed(in_the_way)}); move them away first; nothing was merged",
            Blocker.UNTRACKED_IN_THE_WAY,
            into=into,
            where=str(here.root),
            paths=tuple(in_the_way),
        )
    identity = commit_identity_problem(here.root)
    if identity is not None:
        raise refused(
            f"git cannot make a commit in {here.root}: {identity}; nothing was merged",
            Blocker.NO_COMMIT_IDENTITY,
            into=into,
            where=str(here.root),
            detail=identity,
        )
    files = tree_changes(git_dir, here.branch, preview.tree)
    return MergePlan(member, worktree, here.root, here.branch, into, tip, incoming, files)


def merge_member(
    fleet_id: int,
    director_id: int,
    member_id: int,
    directory: Path | None = None,
    squash: bool = False,
    expected_tip: str | None = None,
) -> Merged:
    """Merge the member's branch into the branch checked out in the Director's `directory` (None:
    the work tree the member's worktree was made from).
    Refused, with nothing changed, when that work tree has uncommitted changes, when the merge
    would conflict (the files named) or would overwrite files git does not track there, and
    (given `expected_tip`, the commit a preview showed) when the branch moved on since."""
    plan = plan_merge(fleet_id, director_id, member_id, directory)
    member, worktree = plan.member, plan.worktree
    if expected_tip is not None and plan.tip != expected_tip:
        raise ReviewRefused(
            f"member {member.handle}'s branch {worktree.branch} moved on since it was previewed (now at {plan.tip[:7]}); "
            "nothing was merged",
            Blocker.BRANCH_MOVED,
            member=member,
            branch=worktree.branch,
            into=plan.into,
        )
    head = merge(plan.root, plan.tip, _commit_message(member, worktree, plan.commits, squash), squash)
    text = _timeline_text(member, worktree, plan.into, squash, head, plan.commits, plan.files)
    record = record_merge(fleet_id, director_id, member_id, text)
    return Merged(member, worktree, plan.into, squash, head, plan.commits, plan.files, record)


def _on_disk(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _commit_message(member: AgentRecord, worktree: WorktreeRecord, incoming: list[Commit], squash: bool) -> str:
    if not squash:
        return f"Merge branch '{worktree.branch}' of member {member.handle}"
    subjects = "\n".join(f"- {c.subject}" for c in reversed(incoming[:RECORDED_COMMITS]))
    more = f"\n- … and {len(incoming) - RECORDED_COMMITS} more" if len(incoming) > RECORDED_COMMITS else ""
    return f"Squashed branch '{worktree.branch}' of member {member.handle}\n\n{subjects}{more}"


def _timeline_text(
    member: AgentRecord,
    worktree: WorktreeRecord,
    into: str,
    squash: bool,
    head: str,
    incoming: list[Commit],
    files: list[FileChange],
) -> str:
    how = "squashed into one commit" if squash else "merge commit"
    shown_commits = "; ".join(f"{c.short} {c.subject}" for c in incoming[:RECORDED_COMMITS])
    if len(incoming) > RECORDED_COMMITS:
        shown_commits += f"; … and {len(incoming) - RECORDED_COMMITS} more"
    shown_files = ", ".join(f.path for f in files[:RECORDED_FILES])
    if len(files) > RECORDED_FILES:
        shown_files += f", … and {len(files) - RECORDED_FILES} more"
    text = (
        f"[merged] {member.handle}'s branch {worktree.branch} into {into} ({how} {head[:7]}): "
        f"{counted(len(incoming), 'commit')} ({shown_commits}); {counted(len(files), 'file')} ({shown_files})"
    )
    # A file name that is not UTF-8 comes from git as lone surrogates (one per byte that is not),
    # which no message may hold: each such byte becomes U+FFFD.
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
