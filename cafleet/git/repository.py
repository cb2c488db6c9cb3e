"""What a directory is to git: a work tree (on which branch, at which commit), and what in it
is not committed."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from cafleet.git.command import GitError, git

BRANCH_PREFIX = "refs/heads/"


class NotAWorkTree(StrEnum):
    """Why a directory has no work tree to branch from."""

    NOT_A_REPOSITORY = "not inside a git repository"
    BARE = "a bare repository (it has no work tree)"
    GIT_DIRECTORY = "inside a repository's .git directory, not its work tree"


class WorkTree(NamedTuple):
    """A git work tree, seen from a directory inside it."""

    root: Path  # its top directory
    git_dir: Path  # its own git directory (`.git/worktrees/<name>` for a linked worktree)
    common_dir: Path  # the repository's, shared by all its worktrees
    prefix: str  # the directory looked from, relative to `root` ("" at the top, else ending in "/")
    branch: str | None  # the full ref checked out (refs/heads/…); None on a detached HEAD
    head: str | None  # the commit checked out; None before the first commit

    @property
    def branch_name(self) -> str | None:
        return None if self.branch is None else short_branch(self.branch)

    @property
    def main_root(self) -> Path:
        """The repository's main work tree (where `.git` lives), else this one."""
        return self.common_dir.parent if self.common_dir.name == ".git" else self.root


class Change(NamedTuple):
    """One entry of `git status`: `code` is its two status letters (`??` untracked)."""

    path: str
    code: str

    @property
    def untracked(self) -> bool:
        return self.code == "??"


def short_branch(ref: str) -> str:
    return ref[len(BRANCH_PREFIX) :] if ref.startswith(BRANCH_PREFIX) else ref


def look(directory: Path | str) -> WorkTree | NotAWorkTree:
    """The work tree `directory` is in, or why there is none."""
    ran = git(
        "rev-parse",
        "--path-format=absolute",
        "--is-bare-repository",
        "--is-inside-work-tree",
        "--git-dir",
        "--git-common-dir",
        cwd=directory,
        ok=(0, 128),
    )
    if ran.code == 128:
        if "not a git repository" in ran.err:
            return NotAWorkTree.NOT_A_REPOSITORY
        raise GitError(f"git cannot read the repository at {directory}: {ran.err.strip()}")
    bare, inside, git_dir, common_dir = ran.lines()[:4]
    if bare == "true":
        return NotAWorkTree.BARE
    if inside != "true":
        return NotAWorkTree.GIT_DIRECTORY
    top = git("rev-parse", "--show-toplevel", "--show-prefix", cwd=directory).text.split("\n")
    branch = git("symbolic-ref", "-q", "HEAD", cwd=directory, ok=(0, 1))
    head = git("rev-parse", "-q", "--verify", "HEAD^{commit}", cwd=directory, ok=(0, 1))
    return WorkTree(
        root=Path(top[0]),
        git_dir=Path(git_dir),
        common_dir=Path(common_dir),
        prefix=top[1] if len(top) > 1 else "",
        branch=branch.text.strip() if branch.code == 0 else None,
        head=head.text.strip() if head.code == 0 else None,
    )


def changes(root: Path | str, untracked: bool = True) -> list[Change]:
    """What `git status` lists in the work tree at `root`: staged, unstaged and unmerged
    changes to tracked files, and (with `untracked`) every untracked file that is not ignored."""
    ran = git(
        "status",
        "--porcelain=v1",
        "-z",
        "--ignore-submodules=none",
        "--untracked-files=all" if untracked else "--untracked-files=no",
        cwd=root,
    )
    entries, fields = [], iter(ran.fields())
    for field in fields:
        code, path = field[:2], field[3:]
        if code[0] in "RC":
            next(fields, None)  # a rename's or copy's source path follows
        entries.append(Change(path, code))
    return entries


def resolve(root: Path | str | None, ref: str, git_dir: Path | str | None = None) -> str | None:
    """The commit `ref` names (seen from the work tree `root`, or in the repository `git_dir`), or None."""
    if ref.startswith("-"):  # an option to git, not a ref (rev-parse has no --end-of-options)
        return None
    ran = git("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", cwd=root, git_dir=git_dir, ok=(0, 1))
    return ran.text.strip() if ran.code == 0 else None


def full_name(root: Path | str, ref: str) -> str | None:
    """The full ref name `ref` abbreviates (refs/heads/main, refs/remotes/origin/main,
    refs/tags/v1), or None when it names a commit some other way (a hash, `HEAD~2`)."""
    if ref.startswith("-"):
        return None
    ran = git("rev-parse", "--symbolic-full-name", ref, cwd=root, ok=(0, 128))
    name = ran.text.strip() if ran.code == 0 else ""
    return name if name.startswith("refs/") else None


def branch_exists(git_dir: Path | str, branch: str) -> bool:
    return git("show-ref", "--verify", "--quiet", BRANCH_PREFIX + branch, git_dir=git_dir, ok=(0, 1)).code == 0


def is_branch_name(root: Path | str, branch: str) -> bool:
    """Whether git accepts `branch` as the name of a new branch."""
    if branch.startswith("-"):
        return False
    return git("check-ref-format", "--branch", branch, cwd=root, ok=(0, 1, 128)).code == 0


def commit_identity_problem(root: Path | str) -> str | None:
    """git's complaint when it could not sign a commit with a name and e-mail here, else None."""
    ran = git("var", "GIT_COMMITTER_IDENT", cwd=root, ok=(0, 128))
    return ran.err.strip().splitlines()[-1] if ran.code else None
