"""opencode's usage (1.18.33): the `tokens` of each assistant message in its SQLite storage
(`$XDG_DATA_HOME/opencode/opencode.db`, table `message`, JSON in `data`).

`input` excludes the cache, whose reads and writes (`cache.read`, `cache.write`, billed as
input) are counted beside it; `reasoning` is billed as output. Sessions a member's session
started (its sub-agents, `parent_id`) count too. The database is opencode's: it is opened
read-only, for one short query, and only when its files changed since the last look; a busy
or missing database reads as nothing this time.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.session_files import home
from cafleet.core.usage import Answer, MemberUsage, Tokens, whole

BUSY_MS = 200  # how long a look waits on opencode's own writes before giving up for this time
_QUERY = (
    "SELECT m.id, m.session_id, m.time_created, m.data FROM message AS m "
    "WHERE m.session_id = ? OR m.session_id IN (SELECT id FROM session WHERE parent_id = ?) "
    "ORDER BY m.time_created, m.id"
)
_cache: dict[tuple[Path, str], tuple[tuple, MemberUsage]] = {}


def database(environment: Mapping[str, str]) -> Path:
    data_home = environment.get("XDG_DATA_HOME") or str(home(environment) / ".local" / "share")
    return Path(data_home) / "opencode" / "opencode.db"


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = database(environment)
    version = _version(path)
    if version is None:
        return None
    known = _cache.get((path, session_id))
    if known is not None and known[0] == version:
        return known[1]
    try:
        rows = _rows(path, session_id)
    except sqlite3.Error:
        return known[1] if known else None
    usage = MemberUsage(tuple(answer for row in rows if (answer := _answer(row, session_id)) is not None))
    _cache[(path, session_id)] = (version, usage)
    return usage if rows else None


def _version(path: Path) -> tuple | None:
    """What changes when opencode writes: the database's and its write-ahead log's size and time."""
    try:
        main = os.stat(path)
    except OSError:
        return None
    try:
        wal = os.stat(f"{path}-wal")
        log: tuple = (wal.st_size, wal.st_mtime_ns, wal.st_ino)
    except OSError:
        log = ()
    return (main.st_ino, main.st_size, main.st_mtime_ns, log)


def _rows(path: Path, session_id: str) -> list[tuple]:
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_MS / 1000)
    try:
        connection.execute("PRAGMA query_only = 1")
        return connection.execute(_QUERY, (session_id, session_id)).fetchall()
    finally:
        connection.close()


def _answer(row: tuple, session_id: str) -> Answer | None:
    _, owner, created, data = row
    try:
        message = json.loads(data)
    except (TypeError, ValueError):
        return None
    if not isinstance(message, dict) or message.get("role") != "assistant" or not isinstance(message.get("tokens"), dict):
        return None
    counts = message["tokens"]
    if not counts:
        return None
    cache = counts.get("cache") if isinstance(counts.get("cache"), dict) else {}
    tokens = Tokens(
        fresh=whole(counts.get("input")) + whole(cache.get("write")),
        cached=whole(cache.get("read")),
        output=whole(counts.get("output")) + whole(counts.get("reasoning")),
    )
    if tokens.total == 0:
        return None
    model = message.get("modelID") if isinstance(message.get("modelID"), str) else None
    at = created / 1000 if isinstance(created, int | float) else None
    return Answer(at, model, tokens, main=owner == session_id)


def forget() -> None:
    _cache.clear()
