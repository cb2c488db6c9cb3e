"""Real git repositories in temp directories for the worktree tests."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git in `repo` as a user would; its stdout."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {repo}: {done.stderr}")
    return done.stdout


def make_repo(path: Path, files: dict[str, str] | None = None, ignore: str = "") -> Path:
    """A repository on branch main with one commit holding `files` (and `.gitignore`)."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Director")
    git(path, "config", "user.email", "director@example.com")
    contents = {"README.md": "# demo\n", **(files or {})}
    if ignore:
        contents[".gitignore"] = ignore
    commit(path, contents, "start")
    return path


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    """Write `files` (relative path -> text) and commit them; the new commit."""
    for name, text in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(repo, "add", "--", *files)
    git(repo, "commit", "-q", "-m", message)
    return head(repo)


def head(repo: Path, ref: str = "HEAD") -> str:
    return git(repo, "rev-parse", ref).strip()


def branches(repo: Path) -> list[str]:
    return git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()


def worktree_paths(repo: Path) -> list[str]:
    return [
        line.split(" ", 1)[1]
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]


def status(repo: Path) -> str:
    return git(repo, "status", "--porcelain")
