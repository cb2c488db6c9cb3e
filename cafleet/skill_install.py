"""The cafleet agent skill: where each coding agent reads user skills from, and installing it there.

Used by `cafleet setup` (install) and `cafleet doctor` (status). Standard library only, so
both stay fast. No network: the skill is the SKILL.md shipped inside this package.

A file cafleet did not write is never overwritten silently. Next to each SKILL.md it writes,
cafleet records the file's SHA-256 in `.cafleet-installed`; when an update finds a SKILL.md
whose hash is not the recorded one (the user edited it, or cafleet never wrote it), the old
file is first kept as SKILL.md.bak (or .bak.1, .bak.2, … if that name holds something else).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import NamedTuple

SKILL_NAME = "cafleet"
AGENTS = ("claude", "codex", "opencode")
RECORD = ".cafleet-installed"  # the SHA-256 of the SKILL.md cafleet last wrote in that directory

# status() values (unreadable: SKILL.md exists but cannot be read, e.g. it is a directory)
CURRENT, OUTDATED, MISSING, UNREADABLE = "current", "outdated", "missing", "unreadable"
# install() actions
INSTALLED, UPDATED, UNCHANGED, SKIPPED = "installed", "updated", "unchanged", "skipped"


class Target(NamedTuple):
    agent: str
    path: Path  # …/skills/cafleet/SKILL.md


class Status(NamedTuple):
    agent: str
    path: Path
    status: str  # current / outdated / missing / unreadable
    modified: bool  # the file on disk is not one cafleet wrote (an update will back it up)


class Outcome(NamedTuple):
    agent: str
    path: Path
    action: str  # installed / updated / unchanged / skipped
    backup: Path | None  # where the previous file was kept, if it was not cafleet's


def packaged_skill() -> bytes:
    """The SKILL.md shipped in the package."""
    return resources.files("cafleet").joinpath("skill", "SKILL.md").read_bytes()


def _env_dir(env, name: str, default: Path) -> Path:
    value = env.get(name, "")
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else default


def targets(env=None) -> list[Target]:
    """Where Claude Code, Codex and opencode look for user skills (honouring CODEX_HOME and XDG_CONFIG_HOME)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()).expanduser()
    roots = {
        "claude": home / ".claude",
        "codex": _env_dir(env, "CODEX_HOME", home / ".codex"),
        "opencode": _env_dir(env, "XDG_CONFIG_HOME", home / ".config") / "opencode",
    }
    return [Target(agent, roots[agent] / "skills" / SKILL_NAME / "SKILL.md") for agent in AGENTS]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _ours(path: Path, data: bytes) -> bool:
    """Whether `data` (the SKILL.md at `path`) is exactly what cafleet last wrote there."""
    try:
        record = _read(path.parent / RECORD)
    except OSError:
        return False
    return record is not None and record.decode("ascii", "replace").strip() == _digest(data)


def status(target: Target, wanted: bytes | None = None) -> Status:
    wanted = packaged_skill() if wanted is None else wanted
    try:
        data = _read(target.path)
    except OSError:
        return Status(target.agent, target.path, UNREADABLE, True)
    if data is None:
        return Status(target.agent, target.path, MISSING, False)
    state = CURRENT if data == wanted else OUTDATED
    return Status(target.agent, target.path, state, state == OUTDATED and not _ours(target.path, data))


def _backup_path(path: Path, data: bytes) -> Path:
    """SKILL.md.bak, or the first of .bak.1, .bak.2, … that is free or already holds `data`."""
    for n in range(1000):
        candidate = path.with_name(path.name + (".bak" if n == 0 else f".bak.{n}"))
        if not os.path.lexists(candidate):
            return candidate
        if not candidate.is_symlink() and candidate.is_file() and candidate.read_bytes() == data:
            return candidate
    raise FileExistsError(f"{path}.bak … {path}.bak.999 are all taken; remove some")


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` (a symlink is replaced, never written through) with `data`."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def install(target: Target, dry_run: bool = False, wanted: bytes | None = None) -> Outcome:
    """Put the packaged SKILL.md at `target`; first keep a file cafleet did not write as SKILL.md.bak."""
    wanted = packaged_skill() if wanted is None else wanted
    data = _read(target.path)
    record = target.path.parent / RECORD
    if data == wanted:
        if not dry_run and not _ours(target.path, data):
            _write_atomically(record, (_digest(wanted) + "\n").encode())
        return Outcome(target.agent, target.path, UNCHANGED, None)
    backup = None if data is None or _ours(target.path, data) else _backup_path(target.path, data)
    if not dry_run:
        target.path.parent.mkdir(parents=True, exist_ok=True)
        if backup is not None and not os.path.lexists(backup):
            os.replace(target.path, backup)  # the user's file itself (mode, mtime, even a symlink) is kept
        _write_atomically(target.path, wanted)
        _write_atomically(record, (_digest(wanted) + "\n").encode())
    return Outcome(target.agent, target.path, INSTALLED if data is None else UPDATED, backup)
