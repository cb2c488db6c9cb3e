"""Adding a worktree on a new branch, and removing worktrees and branches without losing work."""

from __future__ import annotations

from pathlib import Path

from cafleet.git.command import git


def add_worktree(root: Path | str, path: Path, branch: str, start: str) -> None:
    """A new worktree at `path` with the new branch `branch` checked out at commit `start`."""
    git("worktree", "add", "--quiet", "-b", branch, "--", str(path), start, cwd=root)


def worktree_git_dir(path: Path | str) -> Path:
    """A linked worktree's own git directory: `<repository>/.git/worktrees/<name>`."""
    return Path(git("rev-parse", "--path-format=absolute", "--git-dir", cwd=path).text.strip())


def registered_worktrees(git_dir: Path | str) -> list[Path]:
    """Every work tree of the repository, the main one first."""
    ran = git("worktree", "list", "--porcelain", "-z", git_dir=git_dir)
    return [Path(field[len("worktree ") :]) for field in ran.fields() if field.startswith("worktree ")]


def remove_worktree(git_dir: Path | str, path: Path, force: bool = False) -> None:
    """Remove the worktree at `path`. Without `force` git itself refuses when anything in it
    is modified or untracked (ignored files go with it). A directory already gone is pruned."""
    if not path.exists():
        git("worktree", "prune", git_dir=git_dir)
        return
    git("worktree", "remove", *(["--force"] if force else []), "--", str(path), git_dir=git_dir)


def delete_branch(git_dir: Path | str, branch: str) -> None:
    """Delete `branch` whatever it holds (callers decide first that nothing is lost); git
    refuses while a worktree has it checked out."""
    git("branch", "-D", branch, git_dir=git_dir)


def commit_directories(common_dir: Path, worktree_git_dir: Path, branch: str) -> tuple[Path, ...]:
    """The directories outside a linked worktree that a commit made in it writes: the
    worktree's own git directory (index, HEAD), the object store, and the directories that
    hold its branch's ref and reflog (existing ones only; no reflog when reflogs are off)."""
    candidates = (
        worktree_git_dir,
        common_dir / "objects",
        (common_dir / "refs" / "heads" / branch).parent,
        (common_dir / "logs" / "refs" / "heads" / branch).parent,
    )
    return tuple(directory for directory in candidates if directory.is_dir())
