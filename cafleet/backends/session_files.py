"""Reading the session files coding agents keep (JSON Lines), for finding a member's session."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path

# A session file's head is enough to know whose it is; reading stops here.
HEAD_LINES = 400
HEAD_BYTES = 8 * 1024 * 1024
# Clocks of one machine: a session stamped a moment before its pane's spawn was recorded
# (the pane's start is taken just before tmux runs the agent) is still this member's.
START_SLACK_SECONDS = 5.0


def home(environment: Mapping[str, str]) -> Path:
    return Path(environment.get("HOME") or os.path.expanduser("~"))


def head(path: Path) -> Iterator[dict]:
    """The first records of a JSON Lines file; unreadable lines and files yield nothing."""
    read = 0
    try:
        with path.open("rb") as lines:
            for count, raw in enumerate(lines):
                read += len(raw)
                if count >= HEAD_LINES or read > HEAD_BYTES:
                    return
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record
    except OSError:
        return


def written_since(paths: Iterator[Path], started_at: float) -> list[Path]:
    """The files written to since `started_at`, oldest name first."""
    fresh = []
    for path in paths:
        try:
            if path.stat().st_mtime >= started_at - START_SLACK_SECONDS:
                fresh.append(path)
        except OSError:
            continue
    return sorted(fresh)


def stamp_seconds(stamp: object) -> float | None:
    """An ISO-8601 stamp (`2026-12-06T22:37:13.774Z`) as epoch seconds."""
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def same_directory(a: object, b: Path) -> bool:
    if not isinstance(a, str):
        return False
    try:
        return Path(a).resolve() == b.resolve()
    except OSError:
        return False


def only(found: list[str]) -> str | None:
    """The one session found; None when none, or when several fit (never a guess between them)."""
    distinct = list(dict.fromkeys(found))
    return distinct[0] if len(distinct) == 1 else None
