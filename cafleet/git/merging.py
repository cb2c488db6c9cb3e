"""Merging a branch: the outcome computed without touching any working tree (`git merge-tree
--write-tree`), whether a branch's work is already in its base, and the merge itself."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from cafleet.git.command import GitError, git, require_git


class MergePreview(NamedTuple):
    """What merging `theirs` into `ours` would give: the merged tree, the files that would
    conflict (none: a clean merge) and git's messages about them."""

    tree: str
    conflicts: tuple[str, ...]
    messages: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.conflicts


def preview_merge(git_dir: Path | str, ours: str, theirs: str) -> MergePreview:
    """The merge of `theirs` into `ours`, as git would make it, written to no working tree."""
    require_git()
    ran = git("merge-tree", "--write-tree", "-z", "--name-only", "--messages", ours, theirs, git_dir=git_dir, ok=(0, 1))
    fields = ran.fields()
    tree, rest = (fields[0], fields[1:]) if fields else ("", [])
    conflicts: list[str] = []
    while rest and rest[0] != "":
        conflicts.append(rest.pop(0))
    messages = _messages(rest[1:])
    if ran.code == 1 and not conflicts:
        raise GitError(f"git merge-tree found a conflict it did not name: {'; '.join(messages) or 'no message'}")
    return MergePreview(tree, tuple(dict.fromkeys(conflicts)), messages)


def _messages(fields: list[str]) -> tuple[str, ...]:
    """merge-tree's `-z` messages: a count of paths, the paths, a type, the message."""
    messages = []
    while fields:
        count = fields.pop(0)
        if not count.isdigit() or len(fields) < int(count) + 2:
            break
        del fields[: int(count)]
        _kind, text = fields.pop(0), fields.pop(0)
        messages.append(text.strip())
    return tuple(messages)


def tree_of(git_dir: Path | str, ref: str) -> str:
    return git("rev-parse", "--verify", f"{ref}^{{tree}}", git_dir=git_dir).text.strip()


def is_ancestor(git_dir: Path | str, ancestor: str, descendant: str) -> bool:
    return git("merge-base", "--is-ancestor", ancestor, descendant, git_dir=git_dir, ok=(0, 1)).code == 0


def merged_into(git_dir: Path | str, base: str, branch: str) -> bool:
    """Whether everything `branch` holds is already in `base`: its commits are in base's
    history, or merging it would change nothing (it was squashed or applied another way)."""
    return is_ancestor(git_dir, branch, base) or adds_nothing(git_dir, base, branch)


def adds_nothing(git_dir: Path | str, base: str, branch: str) -> bool:
    """Whether merging `branch` into `base` would leave base's tree as it is."""
    preview = preview_merge(git_dir, base, branch)
    return preview.clean and preview.tree == tree_of(git_dir, base)


def added_paths(git_dir: Path | str, before: str, after: str) -> list[str]:
    """Paths that `after` (a commit or tree) has and `before` lacks."""
    ran = git("diff-tree", "-r", "-z", "--no-renames", "--diff-filter=A", "--name-only", before, after, git_dir=git_dir)
    return ran.fields()


def merge(root: Path | str, branch: str, message: str, squash: bool = False) -> str:
    """Merge `branch` into the branch checked out at `root` with a merge commit (or, with
    `squash`, one ordinary commit holding all of its changes); the new HEAD. A failure
    (a hook, a signing key) leaves the work tree as it was."""
    if squash:
        try:
            git("merge", "--squash", "--quiet", branch, cwd=root)
            git("commit", "--quiet", "-m", message, cwd=root)
        except GitError:
            git("reset", "--merge", "--quiet", cwd=root, ok=(0, 1, 128))
            raise
    else:
        try:
            git("merge", "--no-ff", "--no-edit", "--quiet", "-m", message, branch, cwd=root)
        except GitError:
            git("merge", "--abort", cwd=root, ok=(0, 1, 128))
            raise
    return git("rev-parse", "HEAD", cwd=root).text.strip()
