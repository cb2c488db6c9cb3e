"""`.worktreeinclude`: files a new worktree needs that git does not carry (`.env`, local
config). Patterns are gitignore's; a file is copied when it matches one, is not tracked, and
git ignores it. An untracked file git does not ignore is left behind: in the worktree a member
could commit it (and a merge bring it into the Director's branch)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

from cafleet.git.command import git

INCLUDE_FILE = ".worktreeinclude"


class Included(NamedTuple):
    copy: tuple[str, ...]  # paths relative to the work tree's top
    not_ignored: tuple[str, ...]  # matched, but git does not ignore them: not copied


def included_files(root: Path) -> Included:
    """The untracked files under `root` that its `.worktreeinclude` names."""
    patterns = root / INCLUDE_FILE
    if not patterns.is_file():
        return Included((), ())
    matched = git("ls-files", "-z", "--others", "--ignored", f"--exclude-from={patterns}", cwd=root).fields()
    if not matched:
        return Included((), ())
    data = b"".join(os.fsencode(path) + b"\0" for path in matched)
    ignored = set(git("check-ignore", "-z", "--stdin", cwd=root, input=data, ok=(0, 1)).fields())
    return Included(
        tuple(path for path in matched if path in ignored),
        tuple(path for path in matched if path not in ignored),
    )


def copy_included(source: Path, destination: Path, paths: tuple[str, ...]) -> None:
    """Copy each of `paths` from the work tree `source` to the same place in `destination`
    (symbolic links as links, modes and times kept); a path already there is left alone."""
    for path in paths:
        origin, target = source / path, destination / path
        if target.exists() or target.is_symlink():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if origin.is_symlink():
            target.symlink_to(os.readlink(origin))
        else:
            shutil.copy2(origin, target)
