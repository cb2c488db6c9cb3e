"""The schema the migrations build, upgrading old files, refusing newer or broken ones, and where
the database file lives (CAFLEET_DATABASE_URL / XDG_DATA_HOME) with which permissions."""

from __future__ import annotations

import os
import sqlite3
import string
import subprocess
from pathlib import Path

import pytest
from conftest import cafleet_command

from cafleet.store.migrations import LATEST_VERSION, MIGRATIONS, migrate
from cafleet.store.models import ALL_MODELS

# SQLite files at every schema version; tests/test_engine_schemas.py holds PostgreSQL to the same schema.
pytestmark = pytest.mark.sqlite_only

# (name, declared type, NOT NULL, default, primary key) in table order, from PRAGMA table_info.
EXPECTED_COLUMNS = {
    "fleets": [
        ("id", "INTEGER", 0, None, 1),
        ("label", "TEXT", 1, "''", 0),
        ("created_at", "TEXT", 1, None, 0),
        ("deleted_at", "TEXT", 0, None, 0),
        ("director_id", "INTEGER", 0, None, 0),
    ],
    "agents": [
        ("id", "INTEGER", 0, None, 1),
        ("fleet_id", "INTEGER", 1, None, 0),
        ("name", "TEXT", 1, None, 0),
        ("description", "TEXT", 1, "''", 0),
        ("kind", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, "'active'", 0),
        ("registered_at", "TEXT", 1, None, 0),
        ("deregistered_at", "TEXT", 0, None, 0),
        ("skills", "TEXT", 0, None, 0),
    ],
    "placements": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("director_id", "INTEGER", 0, None, 0),
        ("tmux_socket", "TEXT", 1, None, 0),
        ("tmux_server_pid", "INTEGER", 0, None, 0),
        ("tmux_session", "TEXT", 1, None, 0),
        ("tmux_window_id", "TEXT", 1, None, 0),
        ("tmux_pane_id", "TEXT", 0, None, 0),
        ("coding_agent", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 1, None, 0),
        ("spawn_token", "TEXT", 0, None, 0),
        ("spawner_pid", "INTEGER", 0, None, 0),
        ("spawner_identity", "TEXT", 0, None, 0),
        ("host", "TEXT", 0, None, 0),
    ],
    "tasks": [
        ("id", "INTEGER", 0, None, 1),
        ("fleet_id", "INTEGER", 1, None, 0),
        ("owner_id", "INTEGER", 1, None, 0),
        ("from_id", "INTEGER", 1, None, 0),
        ("to_id", "INTEGER", 0, None, 0),
        ("kind", "TEXT", 1, None, 0),
        ("state", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 1, None, 0),
        ("state_changed_at", "TEXT", 1, None, 0),
        ("acked_at", "TEXT", 0, None, 0),
        ("origin_id", "INTEGER", 0, None, 0),
        ("reply_to_id", "INTEGER", 0, None, 0),
        ("text", "TEXT", 1, None, 0),
        ("notified_at", "TEXT", 0, None, 0),
        ("notify_status", "TEXT", 0, None, 0),
        ("notice_claim", "TEXT", 0, None, 0),
        ("notice_step", "TEXT", 0, None, 0),
        ("notice_lease_until", "TEXT", 0, None, 0),
        ("revision", "INTEGER", 1, "0", 0),
    ],
    "monitor_config": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("interval_seconds", "INTEGER", 1, None, 0),
        ("enabled", "INTEGER", 1, "1", 0),
        ("last_ping_at", "TEXT", 0, None, 0),
    ],
    "monitor_runtime": [
        ("fleet_id", "INTEGER", 0, None, 1),
        ("pid", "INTEGER", 1, None, 0),
        ("started_at", "TEXT", 1, None, 0),
        ("last_tick_at", "TEXT", 1, None, 0),
        ("tick_seconds", "REAL", 1, None, 0),
    ],
    "agent_states": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("state", "TEXT", 1, None, 0),
        ("reason", "TEXT", 1, "''", 0),
        ("question", "TEXT", 0, None, 0),
        ("changed_at", "TEXT", 1, None, 0),
        ("resets", "TEXT", 1, "''", 0),
        ("resets_at", "TEXT", 0, None, 0),
        ("told_at", "TEXT", 0, None, 0),
        ("woken_at", "TEXT", 0, None, 0),
        ("wakes", "INTEGER", 1, "0", 0),
    ],
    "couriers": [
        ("host", "TEXT", 0, None, 1),
        ("pid", "INTEGER", 1, None, 0),
        ("started_at", "TEXT", 1, None, 0),
        ("seen_at", "TEXT", 1, None, 0),
    ],
    "worktrees": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("fleet_id", "INTEGER", 1, None, 0),
        ("director_id", "INTEGER", 0, None, 0),
        ("path", "TEXT", 1, None, 0),
        ("branch", "TEXT", 1, None, 0),
        ("base_ref", "TEXT", 0, None, 0),
        ("base_commit", "TEXT", 1, None, 0),
        ("git_dir", "TEXT", 1, None, 0),
        ("source", "TEXT", 1, None, 0),
        ("host", "TEXT", 0, None, 0),
        ("tmux_socket", "TEXT", 0, None, 0),
        ("created_at", "TEXT", 1, None, 0),
        ("closed_at", "TEXT", 0, None, 0),
    ],
    "worktree_overlaps": [
        ("fleet_id", "INTEGER", 1, None, 0),
        ("first_id", "INTEGER", 1, None, 1),
        ("second_id", "INTEGER", 1, None, 2),
        ("path", "TEXT", 1, None, 3),
        ("seen_at", "TEXT", 1, None, 0),
    ],
    "member_sessions": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("session_id", "TEXT", 0, None, 0),
        ("marker", "TEXT", 1, None, 0),
        ("cwd", "TEXT", 1, None, 0),
        ("started_at", "TEXT", 1, None, 0),
        ("executable", "TEXT", 1, None, 0),
        ("state_environment", "TEXT", 1, "'{}'", 0),
        ("prompt", "TEXT", 1, None, 0),
        ("model", "TEXT", 0, None, 0),
        ("autonomy", "TEXT", 1, "'{}'", 0),
        ("restored_at", "TEXT", 0, None, 0),
        ("restores", "INTEGER", 1, "0", 0),
    ],
    "notify_events": [
        ("id", "INTEGER", 0, None, 1),
        ("fleet_id", "INTEGER", 0, None, 0),
        ("agent_id", "INTEGER", 0, None, 0),
        ("kind", "TEXT", 1, None, 0),
        ("dedupe_key", "TEXT", 1, None, 0),
        ("title", "TEXT", 1, None, 0),
        ("body", "TEXT", 1, None, 0),
        ("created_at", "TEXT", 1, None, 0),
        ("fanned_out_at", "TEXT", 0, None, 0),
    ],
    "notify_deliveries": [
        ("id", "INTEGER", 0, None, 1),
        ("event_id", "INTEGER", 1, None, 0),
        ("notifier", "TEXT", 1, None, 0),
        ("status", "TEXT", 1, None, 0),
        ("attempts", "INTEGER", 1, "0", 0),
        ("next_at", "TEXT", 1, None, 0),
        ("claim", "TEXT", 0, None, 0),
        ("step", "TEXT", 0, None, 0),
        ("attempted_at", "TEXT", 0, None, 0),
        ("sent_at", "TEXT", 0, None, 0),
        ("outcome", "TEXT", 0, None, 0),
    ],
    "member_budgets": [
        ("agent_id", "INTEGER", 0, None, 1),
        ("tokens", "INTEGER", 1, None, 0),
        ("warned_at", "TEXT", 0, None, 0),
        ("exhausted_at", "TEXT", 0, None, 0),
    ],
}

# index name -> (unique, partial, [(column, collation), ...]) per table.
EXPECTED_INDEXES = {
    "fleets": {},
    "agents": {
        "agents_active_name": (1, 1, [("fleet_id", "BINARY"), ("name", "NOCASE")]),
        "agents_one_administrator": (1, 1, [("fleet_id", "BINARY")]),
        "agents_fleet_status": (0, 0, [("fleet_id", "BINARY"), ("status", "BINARY")]),
    },
    "placements": {
        "placements_director": (0, 0, [("director_id", "BINARY")]),
        "placements_host": (0, 0, [("host", "BINARY")]),
    },
    "tasks": {
        "tasks_inbox": (0, 0, [("owner_id", "BINARY"), ("state", "BINARY"), ("created_at", "BINARY")]),
        "tasks_owner": (0, 0, [("owner_id", "BINARY"), ("created_at", "BINARY")]),
        "tasks_fleet": (0, 0, [("fleet_id", "BINARY"), ("id", "BINARY")]),
        "tasks_sender": (0, 0, [("from_id", "BINARY"), ("id", "BINARY")]),
        "tasks_origin": (0, 1, [("origin_id", "BINARY")]),
        "tasks_fleet_unread": (0, 1, [("fleet_id", "BINARY")]),
        "tasks_notice_due": (0, 1, [("to_id", "BINARY"), ("id", "BINARY")]),
        "tasks_fleet_revision": (0, 0, [("fleet_id", "BINARY"), ("revision", "BINARY")]),
    },
    "monitor_config": {},
    "monitor_runtime": {},
    "agent_states": {},
    "couriers": {"sqlite_autoindex_couriers_1": (1, 0, [("host", "BINARY")])},
    "worktrees": {"worktrees_open": (0, 1, [("fleet_id", "BINARY")])},
    "worktree_overlaps": {
        "sqlite_autoindex_worktree_overlaps_1": (1, 0, [("first_id", "BINARY"), ("second_id", "BINARY"), ("path", "BINARY")]),
        "worktree_overlaps_fleet": (0, 0, [("fleet_id", "BINARY")]),
    },
    "member_sessions": {},
    "notify_events": {
        "notify_events_dedupe": (1, 0, [("dedupe_key", "BINARY")]),
        "notify_events_unfanned": (0, 1, [("id", "BINARY")]),
    },
    "notify_deliveries": {
        "notify_deliveries_once": (1, 0, [("event_id", "BINARY"), ("notifier", "BINARY")]),
        "notify_deliveries_open": (0, 1, [("notifier", "BINARY"), ("id", "BINARY")]),
        "notify_deliveries_latest": (0, 0, [("notifier", "BINARY"), ("attempted_at", "BINARY")]),
    },
    "member_budgets": {},
}

# (from column, to table, to column) per table.
EXPECTED_FOREIGN_KEYS = {
    "fleets": {("director_id", "agents", "id")},
    "agents": {("fleet_id", "fleets", "id")},
    "placements": {("agent_id", "agents", "id"), ("director_id", "agents", "id")},
    "tasks": {
        ("fleet_id", "fleets", "id"),
        ("owner_id", "agents", "id"),
        ("from_id", "agents", "id"),
        ("to_id", "agents", "id"),
        ("origin_id", "tasks", "id"),
        ("reply_to_id", "tasks", "id"),
    },
    "monitor_config": {("agent_id", "agents", "id")},
    "monitor_runtime": {("fleet_id", "fleets", "id")},
    "agent_states": {("agent_id", "agents", "id")},
    "couriers": set(),
    "worktrees": {("agent_id", "agents", "id"), ("fleet_id", "fleets", "id"), ("director_id", "agents", "id")},
    "worktree_overlaps": {("fleet_id", "fleets", "id"), ("first_id", "agents", "id"), ("second_id", "agents", "id")},
    "member_sessions": {("agent_id", "agents", "id")},
    "notify_events": set(),
    "notify_deliveries": {("event_id", "notify_events", "id")},
    "member_budgets": {("agent_id", "agents", "id")},
}

# Full-text search (migration 6): the FTS5 table over tasks.text, its shadow tables, and the
# triggers that keep it in step with tasks.
SEARCH_TABLES = ["tasks_fts", "tasks_fts_config", "tasks_fts_data", "tasks_fts_docsize", "tasks_fts_idx"]
EXPECTED_SEARCH_TABLE = (
    "CREATE VIRTUAL TABLE tasks_fts USING fts5("
    "text, who, content='tasks_search', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
)
EXPECTED_TRIGGERS = [
    ("trigger", "tasks_fts_delete", "tasks"),
    ("trigger", "tasks_fts_insert", "tasks"),
    ("trigger", "tasks_fts_update", "tasks"),
    ("view", "tasks_search", "tasks_search"),
]

# Schema version 1 as shipped. Files created at that version only ever see the migrations
# appended after it, so this literal must never change: a schema change is a new migration
# (and an update of EXPECTED_COLUMNS / EXPECTED_INDEXES above), never an edit of migration 1.
RELEASED_V1_COLUMNS = {
    "fleets": ["id", "label", "created_at", "deleted_at", "director_id"],
    "agents": [
        "id",
        "fleet_id",
        "name",
        "description",
        "kind",
        "status",
        "registered_at",
        "deregistered_at",
        "skills",
    ],
    "placements": [
        "agent_id",
        "director_id",
        "tmux_socket",
        "tmux_server_pid",
        "tmux_session",
        "tmux_window_id",
        "tmux_pane_id",
        "coding_agent",
        "created_at",
    ],
    "tasks": [
        "id",
        "fleet_id",
        "owner_id",
        "from_id",
        "to_id",
        "kind",
        "state",
        "created_at",
        "state_changed_at",
        "acked_at",
        "origin_id",
        "reply_to_id",
        "text",
        "notified_at",
        "notify_status",
    ],
}
RELEASED_V1_INDEXES = {
    "fleets": {},
    "agents": {
        "agents_active_name": (1, 1, [("fleet_id", "BINARY"), ("name", "NOCASE")]),
        "agents_one_administrator": (1, 1, [("fleet_id", "BINARY")]),
        "agents_fleet_status": (0, 0, [("fleet_id", "BINARY"), ("status", "BINARY")]),
    },
    "placements": {"placements_director": (0, 0, [("director_id", "BINARY")])},
    "tasks": {
        "tasks_inbox": (0, 0, [("owner_id", "BINARY"), ("state", "BINARY"), ("created_at", "BINARY")]),
        "tasks_owner": (0, 0, [("owner_id", "BINARY"), ("created_at", "BINARY")]),
        "tasks_fleet": (0, 0, [("fleet_id", "BINARY"), ("id", "BINARY")]),
        "tasks_sender": (0, 0, [("from_id", "BINARY"), ("id", "BINARY")]),
        "tasks_origin": (0, 1, [("origin_id", "BINARY")]),
        "tasks_fleet_unread": (0, 1, [("fleet_id", "BINARY")]),
    },
}

NOW = "2026-01-02T03:04:05.000000Z"
LATER = "2026-01-02T04:05:06.000000Z"


# --------------------------------------------------------------------------- helpers


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _user_version(path: Path) -> int:
    conn = _connect(path)
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def _set_user_version(path: Path, version: int) -> None:
    conn = _connect(path)
    try:
        conn.execute(f"PRAGMA user_version = {version}")
    finally:
        conn.close()


def _tables(conn) -> list[str]:
    return sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"))


def _columns(conn, table: str) -> list[tuple]:
    return [(r[1], r[2], r[3], r[4], r[5]) for r in conn.execute(f"PRAGMA table_info({table})")]


def _indexes(conn, table: str) -> dict:
    found = {}
    for _seq, name, unique, _origin, partial in conn.execute(f"PRAGMA index_list({table})"):
        keys = [(r[2], r[4]) for r in conn.execute(f"PRAGMA index_xinfo({name})") if r[5]]
        found[name] = (unique, partial, keys)
    return found


def _column_names(path: Path, table: str) -> list[str]:
    conn = _connect(path)
    try:
        return [c[0] for c in _columns(conn, table)]
    finally:
        conn.close()


def _foreign_keys(conn, table: str) -> set[tuple]:
    return {(r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")}


def _schema_sql(path: Path) -> list[tuple]:
    conn = _connect(path)
    try:
        return sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master"))
    finally:
        conn.close()


def _dump(path: Path, table: str) -> list[tuple]:
    conn = _connect(path)
    try:
        return list(conn.execute(f"SELECT * FROM {table} ORDER BY 1"))
    finally:
        conn.close()


def _build_version_1(path: Path) -> None:
    """A file as cafleet at schema version 1 left it, with a fleet, agents and messages."""
    path.touch(mode=0o600)
    conn = _connect(path)
    try:
        applied = migrate(conn, str(path), up_to=1)
        assert [m.version for m in applied] == [1]
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert "monitor_config" not in _tables(conn)
        conn.execute("INSERT INTO fleets (id, label, created_at, director_id) VALUES (1, 'legacy', ?, 1)", (NOW,))
        conn.executemany(
            "INSERT INTO agents (id, fleet_id, name, description, kind, status, registered_at, deregistered_at) "
            "VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            [
                (1, "director", "Root Director of the fleet", "director", "active", NOW, None),
                (2, "Administrator", "The human operator", "administrator", "active", NOW, None),
                (3, "worker", "a member in a pane", "member", "active", NOW, None),
                (4, "helper", "a pane-less agent", "agent", "active", NOW, None),
                (5, "gone", "a member that left", "member", "deregistered", NOW, LATER),
            ],
        )
        conn.execute(
            "INSERT INTO placements (agent_id, director_id, tmux_socket, tmux_server_pid, tmux_session, "
            "tmux_window_id, tmux_pane_id, coding_agent, created_at) "
            "VALUES (3, 1, '/tmp/tmux-0/default', 42, 'main', '@2', '%3', 'claude', ?)",
            (NOW,),
        )
        conn.executemany(
            "INSERT INTO tasks (id, fleet_id, owner_id, from_id, to_id, kind, state, created_at, "
            "state_changed_at, acked_at, origin_id, reply_to_id, text) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (1, 3, 1, 3, "unicast", "input_required", NOW, NOW, None, None, None, "please review the parser"),
                (2, 1, 3, 1, "unicast", "completed", LATER, LATER, LATER, None, 1, "done, see the branch"),
                (3, 1, 1, None, "broadcast_summary", "completed", LATER, LATER, None, 3, None, "standup in 5"),
                (4, 3, 1, 3, "broadcast", "input_required", LATER, LATER, None, 3, None, "standup in 5"),
                (5, 4, 1, 4, "broadcast", "input_required", LATER, LATER, None, 3, None, "standup in 5"),
            ],
        )
    finally:
        conn.close()


def _assert_clean_error(result, exit_code: int = 1) -> None:
    assert result.code == exit_code, result
    assert result.err.startswith("Error: "), result.err
    assert "Traceback" not in result.err and "Traceback" not in result.out
    assert result.out == ""


def _database_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ".db" in p.name)


# --------------------------------------------------------------------------- the schema


@pytest.mark.sqlite_only
def test_fresh_database_has_exactly_the_expected_schema(db, db_path):
    conn = _connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION == MIGRATIONS[-1].version
        assert _tables(conn) == sorted(list(EXPECTED_COLUMNS) + SEARCH_TABLES)
        for table in EXPECTED_COLUMNS:
            assert _columns(conn, table) == EXPECTED_COLUMNS[table], table
            assert _indexes(conn, table) == EXPECTED_INDEXES[table], table
            assert _foreign_keys(conn, table) == EXPECTED_FOREIGN_KEYS[table], table
        search = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'tasks_fts'").fetchone()[0]
        assert search == EXPECTED_SEARCH_TABLE
        others = sorted(conn.execute("SELECT type, name, tbl_name FROM sqlite_master WHERE type NOT IN ('table', 'index')"))
        assert others == EXPECTED_TRIGGERS
    finally:
        conn.close()


def test_migration_versions_are_consecutive_from_one():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == len(MIGRATIONS)


@pytest.mark.sqlite_only
def test_every_model_has_exactly_the_columns_of_its_table(db, db_path):
    conn = _connect(db_path)
    try:
        assert sorted(m._meta.table_name for m in ALL_MODELS) == sorted(set(_tables(conn)) - set(SEARCH_TABLES))
        for model in ALL_MODELS:
            table = model._meta.table_name
            info = {r[1]: r for r in conn.execute(f"PRAGMA table_info({table})")}
            fields = model._meta.sorted_fields
            assert sorted(model._meta.columns) == sorted(info), table
            assert sorted(f.column_name for f in fields) == sorted(info), table
            pk_columns = [name for name, row in sorted(info.items(), key=lambda item: item[1][5]) if row[5]]
            key = model._meta.primary_key
            named = (
                [model._meta.fields[f].column_name for f in key.field_names] if hasattr(key, "field_names") else [key.column_name]
            )
            assert named == pk_columns, table
            for field in fields:
                if field.primary_key:
                    continue
                not_null = bool(info[field.column_name][3])
                assert not_null == (not field.null), f"{table}.{field.column_name}: NOT NULL={not_null}, null={field.null}"
            model_fks = {(f.column_name, f.rel_model._meta.table_name, f.rel_field.column_name) for f in model._meta.refs}
            assert model_fks <= _foreign_keys(conn, table), table
    finally:
        conn.close()


def test_released_migration_1_is_unchanged(tmp_path):
    """Editing migration 1 in place would leave every existing file on the old schema."""
    path = tmp_path / "v1.db"
    conn = _connect(path)
    try:
        migrate(conn, str(path), up_to=1)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert _tables(conn) == sorted(RELEASED_V1_COLUMNS)
        for table in RELEASED_V1_COLUMNS:
            assert [c[0] for c in _columns(conn, table)] == RELEASED_V1_COLUMNS[table], (
                f"migration 1 changed the columns of {table}; append a new migration instead"
            )
            assert _indexes(conn, table) == RELEASED_V1_INDEXES[table], (
                f"migration 1 changed the indexes of {table}; append a new migration instead"
            )
    finally:
        conn.close()


def test_released_postgres_search_blanks_what_queries_blank():
    """Migration 10 indexes PostgreSQL's text with ASCII punctuation blanked, and searches blank
    the same characters (`SEARCH_SEPARATORS`): changing them would search databases indexed the
    old way with the new rule; append a migration instead."""
    from cafleet.store.migrations import SEARCH_SEPARATORS

    [column] = [s for s in MIGRATIONS[9].postgres_statements() if "GENERATED" in s]
    assert column == (
        "ALTER TABLE tasks ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('cafleet_search', "
        "translate(text, '!\"#$%&''()*+,-./:;<=>?@[\\]^_`{|}~', '" + " " * 32 + "'))) STORED"
    )
    assert SEARCH_SEPARATORS == string.punctuation


def test_migrating_step_by_step_gives_the_same_schema_as_a_fresh_file(tmp_path):
    stepwise, fresh = tmp_path / "stepwise.db", tmp_path / "fresh.db"
    conn = _connect(stepwise)
    try:
        for migration in MIGRATIONS:
            applied = migrate(conn, str(stepwise), up_to=migration.version)
            assert applied == [migration]
            assert conn.execute("PRAGMA user_version").fetchone()[0] == migration.version
        assert migrate(conn, str(stepwise)) == []
    finally:
        conn.close()
    conn = _connect(fresh)
    try:
        assert migrate(conn, str(fresh)) == list(MIGRATIONS)
    finally:
        conn.close()
    assert _schema_sql(stepwise) == _schema_sql(fresh)


# --------------------------------------------------------------------------- upgrading an old file


@pytest.mark.sqlite_only
def test_a_cli_command_upgrades_a_version_1_file_and_keeps_its_rows(cli, db_path):
    _build_version_1(db_path)
    before = {t: _dump(db_path, t) for t in ("fleets", "agents", "placements", "tasks")}
    schema_v1 = _schema_sql(db_path)

    result = cli("fleet", "list")
    assert result.code == 0, result
    assert result.err == ""
    assert result.out.startswith('1 "legacy" agents=4 unread=3 created=2026-01-02T03:04:05Z')

    assert _user_version(db_path) == LATEST_VERSION
    for table, rows in before.items():
        after = _dump(db_path, table)  # later migrations may add columns (NULL for old rows)
        assert [row[: len(rows[0])] for row in after] == rows, table
        added = _column_names(db_path, table)[len(rows[0]) :]
        for row in after:
            values = dict(zip(added, row[len(rows[0]) :], strict=True))
            # Migration 12 numbered the tasks' revisions (the TUI's change cursor) in id order.
            assert values.pop("revision", row[0]) == row[0], table
            assert all(value is None for value in values.values()), table
    upgraded = {(kind, name): sql for kind, name, _table, sql in _schema_sql(db_path)}
    assert len(upgraded) > len(schema_v1)
    for kind, name, _table, sql in schema_v1:  # later migrations only add (ADD COLUMN appends to a table)
        assert upgraded[(kind, name)] == sql or upgraded[(kind, name)].startswith(sql.rstrip()[:-1] + ", "), name
    # Migration 2 scheduled the active Director (120 s) and members (300 s), nobody else.
    assert _dump(db_path, "monitor_config") == [(1, 120, 1, None), (3, 300, 1, None)]
    assert _dump(db_path, "monitor_runtime") == []

    # The upgraded rows are usable through the models.
    poll = cli("--json", "--fleet-id", 1, "message", "poll", "--agent-id", 3, "--full")
    assert poll.code == 0, poll
    assert [(t["task_id"], t["kind"], t["text"]) for t in poll.json()] == [
        (1, "unicast", "please review the parser"),
        (4, "broadcast", "standup in 5"),
    ]
    summary = cli("--json", "--fleet-id", 1, "message", "show", "--agent-id", 1, "--task-id", 3).json()
    assert [d["task_id"] for d in summary["deliveries"]] == [4, 5]
    assert _dump(db_path, "monitor_config") == [(1, 120, 1, None), (3, 300, 1, None)]


def test_migration_12_numbers_existing_tasks_in_id_order_and_new_ones_after(tmp_path):
    """The TUI's change cursor: rows that exist when the column is added are numbered in id order."""
    path = tmp_path / "v11.db"
    _build_version_1(path)
    conn = _connect(path)
    try:
        migrate(conn, str(path), up_to=11)
        assert "revision" not in [c[0] for c in _columns(conn, "tasks")]
        assert [m.version for m in migrate(conn, str(path), up_to=12)] == [12]
        assert list(conn.execute("SELECT id, revision FROM tasks ORDER BY id")) == [(i, i) for i in range(1, 6)]
    finally:
        conn.close()


# --------------------------------------------------------------------------- cafleet db init


@pytest.mark.sqlite_only
def test_db_init_creates_then_reports_up_to_date(cli, db_path):
    assert not db_path.exists()
    first = cli("db", "init")
    assert first.code == 0, first
    assert first.out == f"Created database {db_path} at schema version {LATEST_VERSION}.\n"
    assert _user_version(db_path) == LATEST_VERSION

    again = cli("db", "init")
    assert again.code == 0, again
    assert again.out == f"Database {db_path} is up to date (schema version {LATEST_VERSION}).\n"
    assert "up to date" in again.out


@pytest.mark.sqlite_only
def test_db_init_migrates_a_version_1_file(cli, db_path):
    _build_version_1(db_path)
    result = cli("db", "init")
    assert result.code == 0, result
    assert result.out == f"Migrated database {db_path} from schema version 1 to {LATEST_VERSION}.\n"
    assert _user_version(db_path) == LATEST_VERSION
    assert _dump(db_path, "monitor_config") == [(1, 120, 1, None), (3, 300, 1, None)]


@pytest.mark.sqlite_only
def test_db_init_refuses_an_empty_existing_file_and_leaves_it(cli, db_path):
    """cafleet never leaves an empty file at the path (tests/test_database_faults.py), so one there is not its own."""
    db_path.write_bytes(b"")
    result = cli("db", "init")
    _assert_clean_error(result, 1)
    assert f"database {db_path} is an empty file (0 bytes), not a cafleet database" in result.err
    assert db_path.read_bytes() == b""


@pytest.mark.sqlite_only
def test_db_init_json_documents(cli, db_path, tmp_path):
    keys = {"database", "schema_version_before", "schema_version"}
    fresh = cli("--json", "db", "init")
    assert fresh.code == 0 and fresh.err == ""
    assert fresh.json() == {"database": str(db_path), "schema_version_before": 0, "schema_version": LATEST_VERSION}

    current = cli("db", "init", "--json")  # global options are accepted after the command too
    assert current.code == 0
    assert set(current.json()) == keys
    assert current.json()["schema_version_before"] == LATEST_VERSION

    old = tmp_path / "old.db"
    _build_version_1(old)
    migrated = cli("--pretty", "db", "init", env={"CAFLEET_DATABASE_URL": f"sqlite:///{old}"})
    assert migrated.code == 0
    assert migrated.out.startswith("{\n  ")
    assert migrated.json() == {"database": str(old), "schema_version_before": 1, "schema_version": LATEST_VERSION}


# --------------------------------------------------------------------------- files cafleet must refuse

REFUSING_COMMANDS = [
    ("fleet", "list"),
    ("--json", "fleet", "list"),
    ("--fleet-id", "1", "message", "poll", "--agent-id", "1"),
    ("--fleet-id", "1", "message", "send", "--agent-id", "1", "--to", "2", "--text", "hi"),
    ("--fleet-id", "1", "agent", "register", "--name", "x1", "--description", "d"),
    ("db", "init"),
]


@pytest.mark.parametrize("args", REFUSING_COMMANDS, ids=lambda a: " ".join(a))
@pytest.mark.sqlite_only
def test_a_newer_database_is_refused_and_left_alone(cli, db_path, args):
    assert cli("db", "init").code == 0
    newer = LATEST_VERSION + 1
    _set_user_version(db_path, newer)
    schema = _schema_sql(db_path)

    result = cli(*args)
    _assert_clean_error(result, 1)
    assert f"schema version {newer}" in result.err
    assert "upgrade" in result.err
    assert str(db_path) in result.err
    assert _user_version(db_path) == newer
    assert _schema_sql(db_path) == schema
    assert _dump(db_path, "fleets") == [] and _dump(db_path, "agents") == []


def test_open_database_raises_schema_too_new(db_path):
    from cafleet.core.errors import SchemaTooNew
    from cafleet.store.db import open_database

    conn = _connect(db_path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaTooNew, match=f"schema version {LATEST_VERSION + 5}"):
        open_database(db_path)
    assert _user_version(db_path) == LATEST_VERSION + 5
    conn = _connect(db_path)
    try:
        assert _tables(conn) == []
    finally:
        conn.close()


GARBAGE = {
    "text": b"this is not a sqlite database, just some notes\n" * 100,
    "binary": bytes((i * 37 + 11) % 256 for i in range(8192)),
    "tiny": b"hello",
}


@pytest.mark.parametrize("content", sorted(GARBAGE))
@pytest.mark.parametrize(
    "args",
    [("fleet", "list"), ("--fleet-id", "1", "message", "poll", "--agent-id", "1"), ("db", "init")],
    ids=lambda a: " ".join(a),
)
@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_gives_a_clean_error(cli, db_path, content, args):
    data = GARBAGE[content]
    db_path.write_bytes(data)
    result = cli(*args)
    _assert_clean_error(result, 1)
    assert len(result.err.strip().splitlines()) == 1
    assert db_path.read_bytes() == data


@pytest.mark.parametrize("args", [("fleet", "list"), ("db", "init")], ids=lambda a: " ".join(a))
@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_gets_the_intended_advice(cli, db_path, args):
    db_path.write_bytes(GARBAGE["text"])
    result = cli(*args)
    _assert_clean_error(result, 1)
    assert "unexpected" not in result.err and "cafleet bug" not in result.err
    assert str(db_path) in result.err
    assert "CAFLEET_DATABASE_URL" in result.err


# --------------------------------------------------------------------------- where the file lives


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_default_path_is_under_xdg_data_home_with_private_permissions(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    xdg = tmp_path / "xdg-data"
    assert os.environ["XDG_DATA_HOME"] == str(xdg) and not xdg.exists()

    result = cli("fleet", "list")
    assert result.code == 0, result
    expected = xdg / "cafleet" / "cafleet.store.db"
    assert expected.is_file()
    assert _mode(expected.parent) == 0o700
    assert _mode(expected) == 0o600
    assert _user_version(expected) == LATEST_VERSION
    assert _database_files(tmp_path) == [expected]

    init = cli("db", "init")
    assert init.out == f"Database {expected} is up to date (schema version {LATEST_VERSION}).\n"


def test_blank_database_url_means_the_default_path(cli, tmp_path):
    result = cli("db", "init", env={"CAFLEET_DATABASE_URL": "   "})
    expected = tmp_path / "xdg-data" / "cafleet" / "cafleet.store.db"
    assert result.code == 0, result
    assert result.out == f"Created database {expected} at schema version {LATEST_VERSION}.\n"


def test_without_xdg_data_home_the_default_is_under_home(cli, monkeypatch, tmp_path):
    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    monkeypatch.delenv("XDG_DATA_HOME")
    result = cli("db", "init")
    expected = tmp_path / "home" / ".local" / "share" / "cafleet" / "cafleet.store.db"
    assert result.code == 0, result
    assert result.out == f"Created database {expected} at schema version {LATEST_VERSION}.\n"
    assert _mode(expected.parent) == 0o700 and _mode(expected) == 0o600


def test_wal_files_are_private_too(monkeypatch, tmp_path):
    from cafleet.store.db import open_database
    from cafleet.store.models import Fleet

    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    open_database()
    Fleet.create(label="x", created_at=NOW)  # the connection stays open: -wal and -shm exist
    directory = tmp_path / "xdg-data" / "cafleet"
    names = sorted(p.name for p in directory.iterdir())
    assert names == ["cafleet.store.db", "cafleet.store.db-shm", "cafleet.store.db-wal"]
    assert {p.name: _mode(p) for p in directory.iterdir()} == {n: 0o600 for n in names}


@pytest.mark.parametrize("form", ["sqlite-url", "plain"])
def test_database_url_forms(cli, tmp_path, form):
    target = tmp_path / "elsewhere" / "deeper" / "mine.db"
    url = f"sqlite:///{target}" if form == "sqlite-url" else str(target)
    assert url.startswith("sqlite:////") or url.startswith("/")
    result = cli("db", "init", env={"CAFLEET_DATABASE_URL": url})
    assert result.code == 0, result
    assert result.out == f"Created database {target} at schema version {LATEST_VERSION}.\n"
    assert _mode(target) == 0o600 and _mode(target.parent) == 0o700
    assert _user_version(target) == LATEST_VERSION
    listed = cli("fleet", "list", env={"CAFLEET_DATABASE_URL": url})
    assert listed.code == 0 and listed.out.startswith("No fleets yet")
    assert _database_files(tmp_path) == [target]


def test_a_home_relative_path_is_expanded(tmp_path):
    env = dict(os.environ, CAFLEET_DATABASE_URL="~/dbs/c.db")
    proc = subprocess.run(cafleet_command() + ["db", "init"], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    expected = tmp_path / "home" / "dbs" / "c.db"
    assert proc.stdout == f"Created database {expected} at schema version {LATEST_VERSION}.\n"
    assert _mode(expected) == 0o600 and _mode(expected.parent) == 0o700


@pytest.mark.parametrize(
    "url, fix",
    [("rel/dir/a.db", "{cwd}/rel/dir/a.db"), ("sqlite:///rel/b.db", "sqlite:///{cwd}/rel/b.db")],
)
@pytest.mark.parametrize("args", [("fleet", "list"), ("db", "init")], ids=lambda a: " ".join(a))
def test_a_relative_path_is_a_usage_error_that_gives_the_absolute_form(tmp_path, url, fix, args):
    """Each process would resolve it against its own working directory: a member that cd'ed
    elsewhere would silently get an empty database."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = dict(os.environ, CAFLEET_DATABASE_URL=url)
    proc = subprocess.run(cafleet_command() + list(args), cwd=workdir, env=env, capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr == (
        f"Error: CAFLEET_DATABASE_URL={url!r} is a relative path, which every process would resolve against its "
        f"own working directory; use an absolute one, e.g. CAFLEET_DATABASE_URL={fix.format(cwd=workdir)}\n"
    )
    assert _database_files(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://x/db", "mysql://user@host/db", "sqlite://relative.db", "sqlite:///", "sqlite:///:memory:", ":memory:"],
)
@pytest.mark.parametrize("args", [("fleet", "list"), ("db", "init")], ids=lambda a: " ".join(a))
def test_unsupported_database_urls_are_usage_errors(cli, tmp_path, url, args):
    result = cli(*args, env={"CAFLEET_DATABASE_URL": url})
    _assert_clean_error(result, 2)
    assert "CAFLEET_DATABASE_URL" in result.err and repr(url) in result.err
    assert _database_files(tmp_path) == []
