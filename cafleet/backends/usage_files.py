"""Reading usage from an agent's JSON Lines file fast and safely, however big or unfinished.

A file is read once: what was read is kept per path with its size, change time and the offset
of the last whole line, so the next look reads only what the agent appended (nothing at all
when size and time are unchanged). A half-written last line is left for the next look; a file
that shrank or was replaced is read again from the start; one that vanished reads as None.
Only lines holding one of the reader's marks are parsed, so long tool outputs cost a scan.
"""

from __future__ import annotations

import json
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, Protocol

from cafleet.core.usage import Answer, MemberUsage

# Files remembered at once: a fleet's members, with room for the TUI's other fleets.
CACHED_FILES = 512


class Fold(Protocol):
    """What a reader keeps while it reads one file, record by record."""

    @property
    def marks(self) -> tuple[bytes, ...]:
        """A line with none of these carries no usage."""

    def feed(self, record: dict) -> None: ...

    def usage(self) -> MemberUsage: ...


class _Read(NamedTuple):
    identity: tuple[int, int]  # device and inode: a replaced file starts over
    size: int
    mtime_ns: int
    offset: int  # after the last whole line read
    fold: Fold


_cache: OrderedDict[tuple[Path, Callable[[], Fold]], _Read] = OrderedDict()


def read_usage(path: Path, new_fold: Callable[[], Fold]) -> MemberUsage | None:
    """The usage recorded in the JSON Lines file at `path`, read by a fold `new_fold` makes."""
    key = (path, new_fold)
    try:
        stat = path.stat()
    except OSError:
        _cache.pop(key, None)
        return None
    identity = (stat.st_dev, stat.st_ino)
    known = _cache.get(key)
    if known is not None and known.identity == identity and known.size == stat.st_size and known.mtime_ns == stat.st_mtime_ns:
        _cache.move_to_end(key)
        return known.fold.usage()
    if known is None or known.identity != identity or stat.st_size < known.offset:
        known = _Read(identity, 0, 0, 0, new_fold())
    try:
        offset = _feed(path, known.offset, known.fold)
    except OSError:
        _cache.pop(key, None)
        return None
    _cache[key] = _Read(identity, stat.st_size, stat.st_mtime_ns, offset, known.fold)
    _cache.move_to_end(key)
    while len(_cache) > CACHED_FILES:
        _cache.popitem(last=False)
    return known.fold.usage()


def _feed(path: Path, offset: int, fold: Fold) -> int:
    """Feed `fold` the whole lines after `offset`; the offset after the last whole one."""
    with path.open("rb") as lines:
        lines.seek(offset)
        for line in lines:
            if not line.endswith(b"\n"):
                break  # still being written
            offset += len(line)
            if not any(mark in line for mark in fold.marks):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                fold.feed(record)
    return offset


def forget() -> None:
    """Drop every file read (tests, and the bench's cold reads)."""
    _cache.clear()
    _located.clear()


_located: dict[tuple[str, str], Path] = {}


def located(kind: str, session_id: str, find: Callable[[], Path | None]) -> Path | None:
    """The file of `session_id`, found once by `find` and remembered while it exists."""
    key = (kind, session_id)
    known = _located.get(key)
    if known is not None and os.path.exists(known):
        return known
    found = find()
    if found is None:
        _located.pop(key, None)
    else:
        _located[key] = found
    return found


class Answers:
    """Answers by the key the agent gives each (a record written again replaces the earlier)."""

    def __init__(self) -> None:
        self._by_key: dict[str, Answer] = {}

    def put(self, key: str, answer: Answer) -> None:
        if answer.tokens.total > 0:  # an error or placeholder answer the agent wrote itself
            self._by_key[key] = answer

    def usage(self, context_window: int | None = None) -> MemberUsage:
        return MemberUsage(tuple(self._by_key.values()), context_window)
