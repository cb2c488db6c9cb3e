"""Query pieces whose SQL differs between SQLite and PostgreSQL, so broker functions read the
same on both engines."""

from __future__ import annotations

from cafleet.store.db import is_postgres
from cafleet.store.orm import Case, Field, Model, fn


def same_name(field: Field, name: str):
    """`field` equals `name` ignoring case, as the unique index on active names compares them
    (NOCASE on SQLite, lower() on PostgreSQL), so the lookup uses that index."""
    if is_postgres():
        return fn.LOWER(field) == fn.LOWER(name)
    return field.collate("NOCASE") == name


def count_where(condition):
    """An aggregate counting the rows of a group where `condition` holds (PostgreSQL cannot SUM
    a boolean)."""
    return fn.SUM(Case(None, [(condition, 1)], 0))


def upsert(table: type[Model], /, **values) -> None:
    """Insert the row, or overwrite every given column of the row with the same primary key."""
    key = table._meta.primary_key
    columns = [getattr(table, name) for name in values if getattr(table, name) is not key]
    table.insert(**values).on_conflict(conflict_target=[key], preserve=columns).execute()
