"""The cafleet agent skills: where each coding agent reads user skills from, and installing them there.

Used by `cafleet setup` (install) and `cafleet doctor` (status). Standard library and
`cafleet.core.domain` only, so both stay fast. No network: the skills are the folders shipped
in `cafleet/skills/`, one per skill (`SKILL.md` plus any files it reads on demand, such as
`references/director.md`). Claude Code, Codex, opencode, Gemini CLI, Qwen Code and pi all read
`<skills dir>/<name>/SKILL.md` and may open the files beside it.

A file cafleet did not write is never overwritten silently. In each skill folder it writes,
cafleet records the SHA-256 of every file it wrote in `.cafleet-installed` (`sha256sum`
format, so `sha256sum -c .cafleet-installed` checks them). When an update finds a file whose
hash is not the recorded one (the user edited it, or cafleet never wrote it), the old file is
first kept as `NAME.bak` (or `.bak.1`, `.bak.2`, … if that name holds something else).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from importlib import resources
from pathlib import Path
from typing import NamedTuple

from cafleet.core.domain import CODING_AGENTS, CodingAgent

CORE_SKILL = "cafleet"
RECORD = ".cafleet-installed"

# status() values (unreadable: a file exists but cannot be read, e.g. it is a directory)
CURRENT, OUTDATED, MISSING, UNREADABLE = "current", "outdated", "missing", "unreadable"
# install() actions
INSTALLED, UPDATED, UNCHANGED, SKIPPED = "installed", "updated", "unchanged", "skipped"
# setup's action and doctor's status for an agent that is not on this machine (and was not named)
NO_AGENT = "no-agent"

Files = dict[str, bytes]  # relative path ("SKILL.md", "references/director.md") -> content


class Target(NamedTuple):
    agent: str
    skill: str
    root: Path  # …/skills/<skill>/

    @property
    def path(self) -> Path:
        return self.root / "SKILL.md"


class Status(NamedTuple):
    agent: str
    skill: str
    path: Path
    status: str  # current / outdated / missing / unreadable
    modified: bool  # a differing file on disk is not one cafleet wrote (an update will back it up)
    stale: tuple[str, ...] = ()  # the files that are not current


class Outcome(NamedTuple):
    agent: str
    skill: str
    path: Path
    action: str  # installed / updated / unchanged / skipped
    backups: tuple[Path, ...] = ()  # where previous files were kept, if they were not cafleet's


def packaged_skills() -> dict[str, Files]:
    """Every skill shipped in the package: name -> its files."""
    skills: dict[str, Files] = {}
    root = resources.files("cafleet").joinpath("skills")
    for folder in sorted(root.iterdir(), key=lambda t: t.name):
        if folder.is_dir() and folder.joinpath("SKILL.md").is_file():
            skills[folder.name] = dict(sorted(_walk(folder, "")))
    return skills


def _walk(folder, prefix: str):
    for item in folder.iterdir():
        if item.name.startswith((".", "__")):
            continue
        if item.is_dir():
            yield from _walk(item, f"{prefix}{item.name}/")
        elif item.name.endswith(".md"):
            yield f"{prefix}{item.name}", item.read_bytes()


def packaged_skill(name: str = CORE_SKILL) -> bytes:
    """One skill's SKILL.md as shipped (the core skill by default)."""
    return packaged_skills()[name]["SKILL.md"]


def _env_dir(env, name: str, default: Path) -> Path:
    value = env.get(name, "")
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else default


def skill_dirs(env=None) -> dict[str, Path]:
    """Where each coding agent looks for user skills (honouring CODEX_HOME, XDG_CONFIG_HOME, GEMINI_CLI_HOME, QWEN_HOME and PI_CODING_AGENT_DIR)."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()).expanduser()
    return {
        CodingAgent.CLAUDE: home / ".claude" / "skills",
        CodingAgent.CODEX: _env_dir(env, "CODEX_HOME", home / ".codex") / "skills",
        CodingAgent.OPENCODE: _env_dir(env, "XDG_CONFIG_HOME", home / ".config") / "opencode" / "skills",
        CodingAgent.GEMINI: _env_dir(env, "GEMINI_CLI_HOME", home) / ".gemini" / "skills",
        CodingAgent.QWEN: _env_dir(env, "QWEN_HOME", home / ".qwen") / "skills",
        CodingAgent.PI: _env_dir(env, "PI_CODING_AGENT_DIR", home / ".pi" / "agent") / "skills",
    }


class Presence(NamedTuple):
    """Whether a coding agent is on this machine: its program on PATH, or its config folder
    (`~/.claude`, `$CODEX_HOME` or `~/.codex`, `$XDG_CONFIG_HOME/opencode`) already there."""

    agent: str
    program: str | None  # where PATH finds it
    home: Path

    @property
    def found(self) -> bool:
        return self.program is not None or self.home.is_dir()

    def describe_absence(self) -> str:
        return f"no `{self.agent}` on PATH and no {self.home}"


def presence(env=None) -> dict[str, Presence]:
    """Each coding agent's `Presence`, in `CodingAgent` order."""
    import shutil

    env = os.environ if env is None else env
    dirs = skill_dirs(env)
    return {agent: Presence(agent, shutil.which(agent, path=env.get("PATH")), dirs[agent].parent) for agent in CODING_AGENTS}


def targets(env=None, skills=None) -> list[Target]:
    """Every (agent, skill) folder, agents in `CodingAgent` order."""
    names = list(packaged_skills() if skills is None else skills)
    dirs = skill_dirs(env)
    return [Target(agent, name, dirs[agent] / name) for agent in CODING_AGENTS for name in names]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _record(root: Path) -> dict[str, str]:
    """relative path -> hash cafleet last wrote. An older cafleet recorded one bare hash: SKILL.md's."""
    try:
        data = _read(root / RECORD)
    except OSError:
        return {}
    recorded = {}
    for line in (data or b"").decode("ascii", "replace").splitlines():
        digest, _, name = line.strip().partition("  ")
        if digest:
            recorded[name or "SKILL.md"] = digest
    return recorded


def status(target: Target, wanted: Files) -> Status:
    recorded = _record(target.root)
    stale, modified, missing, unreadable = [], False, 0, False
    for name, content in wanted.items():
        try:
            data = _read(target.root / name)
        except OSError:
            unreadable = True
            stale.append(name)
            continue
        if data is None:
            missing += 1
            stale.append(name)
        elif data != content:
            stale.append(name)
            modified = modified or recorded.get(name) != _digest(data)
    if unreadable:
        state = UNREADABLE
    elif missing == len(wanted):
        state = MISSING
    else:
        state = OUTDATED if stale else CURRENT
    return Status(target.agent, target.skill, target.path, state, modified or unreadable, tuple(stale))


def _backup_path(path: Path, data: bytes) -> Path:
    """NAME.bak, or the first of .bak.1, .bak.2, … that is free or already holds `data`."""
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


def _record_bytes(wanted: Files) -> bytes:
    return "".join(f"{_digest(content)}  {name}\n" for name, content in wanted.items()).encode()


def install(target: Target, wanted: Files, dry_run: bool = False) -> Outcome:
    """Put the skill's files in `target.root`; first keep a file cafleet did not write as NAME.bak."""
    recorded = _record(target.root)
    found = {name: _read(target.root / name) for name in wanted}
    if all(found[name] == content for name, content in wanted.items()):
        if not dry_run and recorded != {n: _digest(c) for n, c in wanted.items()}:
            _write_atomically(target.root / RECORD, _record_bytes(wanted))
        return Outcome(target.agent, target.skill, target.path, UNCHANGED)
    backups = []
    for name, content in wanted.items():
        data, path = found[name], target.root / name
        if data is None or data == content:
            continue
        if recorded.get(name) != _digest(data):
            backup = _backup_path(path, data)
            backups.append(backup)
            if not dry_run and not os.path.lexists(backup):
                os.replace(path, backup)  # the user's file itself (mode, mtime, even a symlink) is kept
    if not dry_run:
        for name, content in wanted.items():
            if found[name] != content:
                (target.root / name).parent.mkdir(parents=True, exist_ok=True)
                _write_atomically(target.root / name, content)
        _write_atomically(target.root / RECORD, _record_bytes(wanted))
    action = INSTALLED if all(data is None for data in found.values()) else UPDATED
    return Outcome(target.agent, target.skill, target.path, action, tuple(backups))
