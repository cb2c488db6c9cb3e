"""Running git: one subprocess per call, typed failures, nothing inherited that would point git
at another repository than the one the call names."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import NamedTuple

from cafleet.core.errors import Refused

# `git merge-tree --write-tree` (a merge computed without touching any working tree) is 2.38's.
MINIMUM_VERSION = (2, 38)
TIMEOUT_SECONDS = 300.0

# Set inside a git hook, or by a user: each would make git act on another repository, index or
# work tree than the directory a call names.
_REPOSITORY_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)


class GitError(Refused):
    """git failed; the message carries git's own words."""


class Ran(NamedTuple):
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8", "replace")

    def lines(self) -> list[str]:
        return self.text.splitlines()

    def fields(self) -> list[str]:
        """NUL-separated output (`-z`) as file-system strings, the empty last one dropped."""
        parts = self.out.split(b"\0")
        if parts and parts[-1] == b"":
            parts.pop()
        return [os.fsdecode(part) for part in parts]


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in _REPOSITORY_VARIABLES}
    # No prompt for credentials, and no index refresh by reads such as `status`: a member may be
    # committing in the same worktree at that moment, and a refresh takes the index lock.
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    env.update(extra or {})
    return env


def git(
    *args: str,
    cwd: Path | str | None = None,
    git_dir: Path | str | None = None,
    ok: tuple[int, ...] = (0,),
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Ran:
    """Run `git ARGS` in `cwd` (or on the repository `git_dir`); `GitError` unless its exit
    status is one of `ok`."""
    argv = ["git", *(["--git-dir", str(git_dir)] if git_dir is not None else []), *args]
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            input=input,
            capture_output=True,
            env=git_environment(env),
            timeout=timeout,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        if cwd is not None and not Path(cwd).is_dir():
            raise GitError(f"directory {cwd} does not exist") from None
        raise Refused("git is not on PATH; install git (2.38 or later)") from exc
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {timeout:g} s") from None
    err = done.stderr.decode("utf-8", "replace")
    if done.returncode not in ok:
        raise GitError(f"git {args[0]} failed: {_last_words(err) or f'exit status {done.returncode}'}")
    return Ran(done.returncode, done.stdout, err)


def _last_words(err: str) -> str:
    """git's reason, without the hint lines it adds around it."""
    lines = [line for line in err.strip().splitlines() if line.strip() and not line.startswith("hint:")]
    return " ".join(lines[-3:])


@cache
def git_version() -> tuple[int, ...]:
    words = git("version").text.split()  # "git version 2.39.5" (Apple adds " (Apple Git-…)")
    numbers = words[2].split(".") if len(words) > 2 else []
    return tuple(int(n) for n in numbers[:3] if n.isdigit())


def require_git() -> None:
    """Refuse on a git too old for what members' worktrees need."""
    version = git_version()
    if version < MINIMUM_VERSION:
        shown = ".".join(map(str, version)) or "of unknown version"
        raise Refused(f"git {shown} is too old for member worktrees; install git 2.38 or later")
