"""Which version of a coding agent is installed, and whether cafleet's screen reader was
verified with it. A newer version is reported as unverified, never refused: it usually works,
and when its screen changed its members show `unreadable` instead of waiting silently.

The version is read from the agent's own files, without running it (a node agent takes about
a second to print `--version`): the `package.json` of the npm package its executable belongs
to, or, for claude's native installer, the version directory its executable lives in.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import NamedTuple

# How far above the executable its package's root may be (bin/claude.exe is one level down).
_MAX_DEPTH = 5
_MAX_MANIFEST_BYTES = 256 * 1024
_VERSION = re.compile(r"\d+(?:\.\d+)+(?:[-+][\w.]+)?")


class AgentVersion(NamedTuple):
    agent: str
    installed: str | None  # None: not found from its files
    verified: tuple[str, ...]  # the versions the screen reader was built and proven with

    @property
    def unverified(self) -> bool:
        return self.installed is not None and bool(self.verified) and self.installed not in self.verified

    def describe(self) -> str:
        """`claude 2.1.330 (verified)`, `claude 2.1.340 (unverified: verified with 2.1.330, 2.1.332)`."""
        if self.installed is None:
            return f"{self.agent} (version unknown)"
        if not self.verified:
            return f"{self.agent} {self.installed}"
        if self.unverified:
            return f"{self.agent} {self.installed} (unverified: cafleet's screen reader was verified with {', '.join(self.verified)})"
        return f"{self.agent} {self.installed} (verified)"


def installed_version(executable: str, package: str) -> str | None:
    """The version of npm package `package` that `executable` runs, read from its files."""
    try:
        real = Path(os.path.realpath(executable))
    except OSError:
        return None
    for directory in list(real.parents)[:_MAX_DEPTH]:
        version = _manifest_version(directory / "package.json", package)
        if version is not None:
            return version
        if directory.parent.name == "versions" and _VERSION.fullmatch(directory.name):
            return directory.name  # claude's native installer: …/claude/versions/2.1.330
    if real.parent.name == "versions" and _VERSION.fullmatch(real.name):
        return real.name
    return None


def _manifest_version(path: Path, package: str) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_MANIFEST_BYTES:
            return None
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("name") != package:
        return None
    version = manifest.get("version")
    return version if isinstance(version, str) else None
