"""A branch against its base: the commits it adds, the files it changes, its diff; what a
worktree holds uncommitted; and which branches change the same files.

Committed work is compared with `base...branch`, from the commit where the branch left its
base: what the base gained since does not show as the branch's work.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from itertools import combinations
from pathlib import Path
from typing import NamedTuple

from cafleet.git.command import Ran, git

# Wide enough that `--stat` keeps paths whole; the JSON output has them exact anyway.
STAT_WIDTH = "--stat=160"
_DIFF = ("diff", "--no-color", "--no-ext-diff")


class Commit(NamedTuple):
    sha: str
    subject: str

    @property
    def short(self) -> str:
        return self.sha[:7]


class FileChange(NamedTuple):
    """One file a diff touches: `status` is git's letter (A added, M modified, D deleted,
    R renamed, C copied, T type changed); `added`/`deleted` are None for a binary file."""

    path: str
    status: str
    old_path: str | None = None
    added: int | None = None
    deleted: int | None = None


class Overlap(NamedTuple):
    """Two branches (by the names the caller gave them) that change the same files."""

    first: str
    second: str
    paths: tuple[str, ...]


def ahead(git_dir: Path | str, base: str, branch: str) -> int:
    """How many commits `branch` has that `base` lacks."""
    return int(git("rev-list", "--count", f"{base}..{branch}", git_dir=git_dir).text.strip() or 0)


def commits(git_dir: Path | str, base: str, branch: str) -> list[Commit]:
    """The commits `branch` has that `base` lacks, newest first."""
    ran = git("log", "--no-color", "--format=%H%x00%s%x00", f"{base}..{branch}", "--", git_dir=git_dir)
    fields = [field.strip("\n") for field in ran.fields()]
    return [Commit(sha, subject) for sha, subject in zip(fields[::2], fields[1::2], strict=False)]


def changed_paths(git_dir: Path | str, base: str, branch: str) -> frozenset[str]:
    """Every path `branch` changes since it left `base` (both sides of a rename): the overlap
    check compares these sets between branches."""
    return frozenset(git(*_DIFF, "--name-only", "-z", "--no-renames", f"{base}...{branch}", git_dir=git_dir).fields())


def overlaps(changed: Mapping[str, frozenset[str]]) -> list[Overlap]:
    """Each pair of branches (named as in `changed`) whose changed paths meet."""
    found = []
    for first, second in combinations(sorted(changed), 2):
        common = changed[first] & changed[second]
        if common:
            found.append(Overlap(first, second, tuple(sorted(common))))
    return found


def changed_files(git_dir: Path | str, base: str, branch: str) -> list[FileChange]:
    """The files `branch` changes since it left `base`, with their line counts."""
    span = f"{base}...{branch}"
    return _file_changes(
        git(*_DIFF, "--name-status", "-z", span, git_dir=git_dir),
        git(*_DIFF, "--numstat", "-z", span, git_dir=git_dir),
    )


def branch_diff(git_dir: Path | str, base: str, branch: str, stat: bool = False) -> str:
    """`git diff` of the branch's work since it left `base` (`--stat` with `stat`)."""
    return git(*_DIFF, *([STAT_WIDTH] if stat else []), f"{base}...{branch}", git_dir=git_dir).text


def uncommitted_files(worktree: Path | str) -> list[FileChange]:
    """What the worktree holds that its HEAD does not: changed, deleted and untracked files."""
    with _index_with_untracked(worktree) as env:
        return _file_changes(
            git(*_DIFF, "--name-status", "-z", "HEAD", cwd=worktree, env=env),
            git(*_DIFF, "--numstat", "-z", "HEAD", cwd=worktree, env=env),
        )


def uncommitted_diff(worktree: Path | str, stat: bool = False) -> str:
    """`git diff HEAD` of the worktree, untracked files shown as new ones."""
    with _index_with_untracked(worktree) as env:
        return git(*_DIFF, *([STAT_WIDTH] if stat else []), "HEAD", cwd=worktree, env=env).text


@contextmanager
def _index_with_untracked(worktree: Path | str) -> Iterator[dict[str, str]]:
    """An environment whose index is a copy of the worktree's with every untracked file marked
    intent-to-add, so `git diff HEAD` shows new files too. The worktree's own index (the
    member's staging area) is never written."""
    index = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index", cwd=worktree).text.strip())
    with tempfile.TemporaryDirectory(prefix="cafleet-index-") as scratch:
        copy = Path(scratch) / "index"
        if index.exists():
            shutil.copyfile(index, copy)
        env = {"GIT_INDEX_FILE": str(copy)}
        git("add", "--intent-to-add", "--all", "--", ":/", cwd=worktree, env=env)
        yield env


def _file_changes(name_status: Ran, numstat: Ran) -> list[FileChange]:
    counts: dict[str, tuple[int | None, int | None]] = {}
    fields = iter(numstat.fields())
    for field in fields:
        added, deleted, path = field.split("\t", 2)
        if path == "":  # a rename or copy: its source and destination follow
            next(fields, None)
            path = next(fields, "")
        counts[path] = (_count(added), _count(deleted))
    changes = []
    fields = iter(name_status.fields())
    for status in fields:
        old = next(fields, "") if status[:1] in ("R", "C") else None
        path = next(fields, "")
        lines = counts.get(path, (None, None))
        changes.append(FileChange(path, status[:1], old, *lines))
    return changes


def _count(text: str) -> int | None:
    return int(text) if text.isdigit() else None  # "-" for a binary file


def tree_changes(git_dir: Path | str, before: str, after: str) -> list[FileChange]:
    """The files that differ between two commits or trees, with their line counts."""
    return _file_changes(
        git(*_DIFF, "--name-status", "-z", before, after, git_dir=git_dir),
        git(*_DIFF, "--numstat", "-z", before, after, git_dir=git_dir),
    )
