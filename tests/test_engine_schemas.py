"""Both engines end at the same logical schema: one ordered list of migrations, two dialects.

Compared: tables, their columns in order (name, kind of value, NOT NULL, primary key), foreign
keys and index names with their uniqueness. Left out on purpose: how each engine indexes text
for search (an FTS5 table on SQLite, a tsvector column on PostgreSQL), SQLite's automatic
indexes for primary keys, and PostgreSQL's version table.
"""

from __future__ import annotations

import sqlite3

import pytest

from cafleet.store.migrations import LATEST_VERSION

# Declared types by the kind of value they hold.
KINDS = {
    "INTEGER": "integer",
    "integer": "integer",
    "bigint": "integer",
    "TEXT": "text",
    "text": "text",
    "REAL": "real",
    "double precision": "real",
    # SQLite has no booleans: the 0/1 flag is INTEGER with a CHECK there, BOOLEAN here.
    "boolean": "flag",
}
SEARCH_COLUMNS = {("tasks", "search_vector")}
SQLITE_ONLY_FLAGS = {("monitor_config", "enabled")}


def _sqlite_schema(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'tasks_fts%'"
            )
        ]
        schema = {}
        for table in tables:
            columns = [
                (name, "flag" if (table, name) in SQLITE_ONLY_FLAGS else KINDS[kind], bool(notnull or pk), bool(pk))
                for _, name, kind, notnull, _default, pk in conn.execute(f"PRAGMA table_info({table})")
            ]
            foreign = sorted((r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({table})"))
            indexes = sorted(
                (r[1], bool(r[2])) for r in conn.execute(f"PRAGMA index_list({table})") if not r[1].startswith("sqlite_")
            )
            schema[table] = (columns, foreign, indexes)
        return schema
    finally:
        conn.close()


def _postgres_schema(url: str) -> dict:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'cafleet_schema'"
            )
        ]
        schema = {}
        for table in tables:
            keys = {
                r[0]
                for r in conn.execute(
                    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                    "WHERE i.indrelid = %s::regclass AND i.indisprimary",
                    (table,),
                )
            }
            columns = [
                (name, KINDS[kind], nullable == "NO", name in keys)
                for name, kind, nullable in conn.execute(
                    "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                    (table,),
                )
                if (table, name) not in SEARCH_COLUMNS
            ]
            foreign = sorted(
                conn.execute(
                    "SELECT a.attname, f.relname, fa.attname FROM pg_constraint c "
                    "JOIN pg_class f ON f.oid = c.confrelid "
                    "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
                    "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
                    "WHERE c.contype = 'f' AND c.conrelid = %s::regclass",
                    (table,),
                ).fetchall()
            )
            indexes = sorted(
                (name, unique)
                for name, unique in conn.execute(
                    "SELECT c.relname, i.indisunique FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary",
                    (table,),
                )
                if name != "tasks_search"
            )
            schema[table] = (columns, [tuple(f) for f in foreign], indexes)
        return schema


def test_both_engines_end_at_the_same_logical_schema(tmp_path, postgres_url, monkeypatch):
    from cafleet.store.db import close_database, open_database
    from cafleet.store.postgres import schema_version

    sqlite_file = tmp_path / "schema.db"
    monkeypatch.setenv("CAFLEET_DATABASE_URL", str(sqlite_file))
    open_database()
    close_database()
    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    postgres = open_database()
    assert schema_version(postgres.obj) == LATEST_VERSION
    close_database()

    sqlite_schema, postgres_schema = _sqlite_schema(sqlite_file), _postgres_schema(postgres_url)
    assert sorted(postgres_schema) == sorted(sqlite_schema)
    for table in sqlite_schema:
        assert postgres_schema[table] == sqlite_schema[table], table


@pytest.mark.parametrize("statement", ["CREATE TABLE bookmarks (id integer)", "CREATE TABLE cafleet_schema (version integer)"])
def test_a_postgres_database_that_is_not_cafleets_is_left_untouched(cli, postgres_url, statement):
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(statement)
        if "cafleet_schema" in statement:
            conn.execute(f"INSERT INTO cafleet_schema VALUES ({LATEST_VERSION + 1})")
    result = cli("fleet", "list", env={"CAFLEET_DATABASE_URL": postgres_url})
    assert result.code == 1 and result.out == "" and result.err.startswith("Error: "), result
    assert "Traceback" not in result.err
    with psycopg.connect(postgres_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
    assert tables == {statement.split()[2]}
