"""The fleet's change sequence on tasks: what the TUI's change cursor follows.

A task takes the next revision when it is written and again whenever its state changes. The
number comes from the database inside the write transaction, where writers queue one behind
another (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock), so revisions grow in the
order changes commit. A timestamp cannot promise that: a sender whose clock runs ahead
stamps the future, and a cursor kept on the newest stamp then misses every later change.
"""

from __future__ import annotations

from cafleet.store.models import Task, database
from cafleet.store.orm import fn


def next_revision(fleet_id: int) -> int:
    """One more than the fleet's newest revision: for every task the current write
    transaction inserts or moves (they commit together, so they may share it)."""
    if not database.in_transaction():
        raise RuntimeError("next_revision() outside a write transaction would not follow commit order")
    return (Task.select(fn.MAX(Task.revision)).where(Task.fleet == fleet_id).scalar() or 0) + 1


def latest_revision(fleet_id: int) -> int:
    """The fleet's newest revision (0 before its first task): a cursor to ask for changes after."""
    return Task.select(fn.MAX(Task.revision)).where(Task.fleet == fleet_id).scalar() or 0
