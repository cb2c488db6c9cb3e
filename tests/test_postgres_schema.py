"""PostgreSQL's dialect of the migrations builds the tables the models read: the same columns,
NOT NULL where a field may not be null, the same primary keys (the SQLite file's schema is
checked in tests/test_migrations.py)."""

from __future__ import annotations

from cafleet.store.models import ALL_MODELS
from cafleet.store.postgres import VERSION_TABLE

# Columns PostgreSQL adds for itself: the full-text index of message text (SQLite keeps it in
# FTS5 tables of its own).
ENGINE_COLUMNS = {"tasks": {"search_vector"}}


def _columns(database, table: str) -> dict[str, bool]:
    """Column name -> NOT NULL."""
    rows = database.execute_sql(
        "SELECT column_name, is_nullable FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (table,),
    ).fetchall()
    return {name: nullable == "NO" for name, nullable in rows}


def _primary_key(database, table: str) -> list[str]:
    rows = database.execute_sql(
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary",
        (table,),
    ).fetchall()
    return [row[0] for row in rows]


def test_every_model_has_exactly_the_columns_of_its_table(pg_db):
    from cafleet.store.postgres import user_tables

    assert user_tables(pg_db) == {m._meta.table_name for m in ALL_MODELS} | {VERSION_TABLE}
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = _columns(pg_db, table)
        assert set(columns) - ENGINE_COLUMNS.get(table, set()) == {f.column_name for f in model._meta.sorted_fields}, table
        key = model._meta.primary_key
        named = [model._meta.fields[f].column_name for f in key.field_names] if hasattr(key, "field_names") else [key.column_name]
        assert sorted(_primary_key(pg_db, table)) == sorted(named), table
        for field in model._meta.sorted_fields:
            if not field.primary_key:
                assert columns[field.column_name] == (not field.null), f"{table}.{field.column_name}: null={field.null}"
