"""The schema as an ordered, append-only list of migrations, tracked by `PRAGMA user_version`.

Migrations are explicit DDL, never derived from the live model classes, so an old database
is always brought forward through exactly the steps it missed. Never edit a released
migration: append a new one.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from cafleet.errors import Refused, SchemaTooNew


class Migration(NamedTuple):
    """`sql` holds statements separated by ";". A statement that itself contains ";" (a
    trigger's BEGIN … END body) goes in `statements`, one string each, run after `sql`."""

    version: int
    name: str
    sql: str
    statements: tuple[str, ...] = ()

    def apply(self, conn) -> None:
        # sqlite3's executescript() would COMMIT the surrounding transaction first and
        # break the all-or-nothing upgrade, so run the statements one by one.
        for statement in self.sql.split(";"):
            if statement.strip():
                conn.execute(statement)
        for statement in self.statements:
            conn.execute(statement)


_REGISTRY_AND_MESSAGES = """
        CREATE TABLE fleets (
            id INTEGER PRIMARY KEY,
            label TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            deleted_at TEXT,
            director_id INTEGER REFERENCES agents (id)
        );
        CREATE TABLE agents (
            id INTEGER PRIMARY KEY,
            fleet_id INTEGER NOT NULL REFERENCES fleets (id),
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL CHECK (kind IN ('director', 'member', 'agent', 'administrator')),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deregistered')),
            registered_at TEXT NOT NULL,
            deregistered_at TEXT,
            skills TEXT
        );
        CREATE UNIQUE INDEX agents_active_name ON agents (fleet_id, name COLLATE NOCASE)
            WHERE status = 'active';
        CREATE UNIQUE INDEX agents_one_administrator ON agents (fleet_id)
            WHERE kind = 'administrator';
        CREATE INDEX agents_fleet_status ON agents (fleet_id, status);
        CREATE TABLE placements (
            agent_id INTEGER PRIMARY KEY REFERENCES agents (id),
            director_id INTEGER REFERENCES agents (id),
            tmux_socket TEXT NOT NULL,
            tmux_server_pid INTEGER,
            tmux_session TEXT NOT NULL,
            tmux_window_id TEXT NOT NULL,
            tmux_pane_id TEXT,
            coding_agent TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX placements_director ON placements (director_id);
        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY,
            fleet_id INTEGER NOT NULL REFERENCES fleets (id),
            owner_id INTEGER NOT NULL REFERENCES agents (id),
            from_id INTEGER NOT NULL REFERENCES agents (id),
            to_id INTEGER REFERENCES agents (id),
            kind TEXT NOT NULL CHECK (kind IN ('unicast', 'broadcast', 'broadcast_summary')),
            state TEXT NOT NULL CHECK (state IN ('input_required', 'completed', 'canceled')),
            created_at TEXT NOT NULL,
            state_changed_at TEXT NOT NULL,
            acked_at TEXT,
            origin_id INTEGER REFERENCES tasks (id),
            reply_to_id INTEGER REFERENCES tasks (id),
            text TEXT NOT NULL,
            notified_at TEXT,
            notify_status TEXT
        );
        CREATE INDEX tasks_inbox ON tasks (owner_id, state, created_at);
        CREATE INDEX tasks_owner ON tasks (owner_id, created_at);
        CREATE INDEX tasks_fleet ON tasks (fleet_id, id);
        CREATE INDEX tasks_sender ON tasks (from_id, id);
        CREATE INDEX tasks_origin ON tasks (origin_id) WHERE origin_id IS NOT NULL;
        CREATE INDEX tasks_fleet_unread ON tasks (fleet_id) WHERE state = 'input_required';
"""

_MONITOR_SCHEDULE = """
        CREATE TABLE monitor_config (
            agent_id INTEGER PRIMARY KEY REFERENCES agents (id),
            interval_seconds INTEGER NOT NULL CHECK (interval_seconds >= 1),
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            last_ping_at TEXT
        );
        CREATE TABLE monitor_runtime (
            fleet_id INTEGER PRIMARY KEY REFERENCES fleets (id),
            pid INTEGER NOT NULL,
            started_at TEXT NOT NULL,
            last_tick_at TEXT NOT NULL,
            tick_seconds REAL NOT NULL CHECK (tick_seconds > 0)
        );
        INSERT INTO monitor_config (agent_id, interval_seconds, enabled)
            SELECT id, CASE kind WHEN 'director' THEN 120 ELSE 300 END, 1
            FROM agents
            WHERE status = 'active' AND kind IN ('director', 'member');
"""


_TIMELINE_CHANGES = """
        CREATE INDEX tasks_fleet_changed ON tasks (fleet_id, state_changed_at);
"""

# The courier looks for undelivered notices several times a second: keep that lookup to the
# few rows that are still due, however long the history grows.
_NOTICES_DUE = """
        CREATE INDEX tasks_notice_due ON tasks (id)
            WHERE notify_status = 'pending' OR notify_status LIKE 'deferred:%';
"""

# What each placed agent's pane shows, as the courier last saw it: the TUI, `agent show` and
# `monitor status` read it instead of each asking tmux; a change wakes them (data_version).
_AGENT_STATES = """
        CREATE TABLE agent_states (
            agent_id INTEGER PRIMARY KEY REFERENCES agents (id),
            state TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            question TEXT,
            changed_at TEXT NOT NULL
        );
"""

# `member create` commits the member (pane pending), splits its pane, then records the pane id.
# Killed in between, it would leave a pending member and an untracked pane: the spawner's
# process identity tells the next command that the spawn died, and the token, also written
# into the pane's start command, finds the pane to close.
_SPAWN_TRACKING = """
        ALTER TABLE placements ADD COLUMN spawn_token TEXT;
        ALTER TABLE placements ADD COLUMN spawner_pid INTEGER;
        ALTER TABLE placements ADD COLUMN spawner_identity TEXT;
"""

# Full-text search over message text. Every task is indexed with a second column, `who`,
# naming the agents whose own task it is: sender and recipient of a unicast, the sender of a
# broadcast's summary, the recipient of each delivery (not its sender, who finds the summary).
# A search by agent 7 asks the index for `who : a7`, so FTS5 intersects inside the index and
# scores only that agent's tasks; `f<fleet>` marks what the fleet-wide timeline shows.
# External content through a view: the text is stored once, in tasks. Text never changes
# after a send, so acks and cancels (state columns only) never reach the index.
_WHO = (
    "CASE {t}.kind WHEN 'unicast' THEN 'a' || {t}.from_id || ' a' || {t}.to_id || ' f' || {t}.fleet_id "
    "WHEN 'broadcast_summary' THEN 'a' || {t}.from_id || ' f' || {t}.fleet_id ELSE 'a' || {t}.to_id END"
)
_MESSAGE_SEARCH = (
    f"CREATE VIEW tasks_search AS SELECT id, text, {_WHO.format(t='tasks')} AS who FROM tasks",
    "CREATE VIRTUAL TABLE tasks_fts USING fts5("
    "text, who, content='tasks_search', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild')",
    f"""CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
            INSERT INTO tasks_fts (rowid, text, who) VALUES (new.id, new.text, {_WHO.format(t='new')});
        END""",
    f"""CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
            INSERT INTO tasks_fts (tasks_fts, rowid, text, who) VALUES ('delete', old.id, old.text, {_WHO.format(t='old')});
        END""",
    f"""CREATE TRIGGER tasks_fts_update AFTER UPDATE OF text, kind, from_id, to_id, fleet_id ON tasks
        WHEN old.text IS NOT new.text OR old.kind IS NOT new.kind OR old.from_id IS NOT new.from_id
            OR old.to_id IS NOT new.to_id OR old.fleet_id IS NOT new.fleet_id BEGIN
            INSERT INTO tasks_fts (tasks_fts, rowid, text, who) VALUES ('delete', old.id, old.text, {_WHO.format(t='old')});
            INSERT INTO tasks_fts (rowid, text, who) VALUES (new.id, new.text, {_WHO.format(t='new')});
        END""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "registry and messages", _REGISTRY_AND_MESSAGES),
    Migration(2, "monitor schedule and runtime", _MONITOR_SCHEDULE),
    Migration(3, "index for the TUI's live timeline", _TIMELINE_CHANGES),
    Migration(4, "index for notices the courier still has to deliver", _NOTICES_DUE),
    Migration(5, "agent states seen by the courier", _AGENT_STATES),
    Migration(6, "who is spawning a pending member, to reap a spawn that died", _SPAWN_TRACKING),
    Migration(7, "full-text search over message text", "", _MESSAGE_SEARCH),
)
LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(conn) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


_CREATED_TABLE = re.compile(r"CREATE TABLE (\w+)")


def tables_at(version: int) -> set[str]:
    """The tables a cafleet database at schema `version` has, read from the migrations' DDL."""
    return {name for m in MIGRATIONS if m.version <= version for name in _CREATED_TABLE.findall(m.sql)}


def version_and_tables(conn) -> tuple[int, set[str]]:
    """The schema version and the user tables, read in one statement: one snapshot, so a
    first migration committed by another process is seen either whole or not at all."""
    rows = conn.execute(
        "SELECT v.user_version, m.name FROM pragma_user_version AS v "
        "LEFT JOIN sqlite_master AS m ON m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
    ).fetchall()
    return rows[0][0], {name for _, name in rows if name is not None}


def check_is_cafleet(conn, where: str) -> None:
    """Refuse, before anything is written, a file that is not (or no longer) a cafleet database.

    Version 0 with tables is another application's database (cafleet's first migration sets the
    version in the same transaction that creates its tables); a version whose tables are
    missing is a damaged file, or another application that uses `user_version` too."""
    version, tables = version_and_tables(conn)
    if version == 0:
        if tables:
            shown = ", ".join(sorted(tables)[:6]) + (", …" if len(tables) > 6 else "")
            raise Refused(
                f"{where} is an SQLite database of another application (tables: {shown}); cafleet left it "
                "untouched: point CAFLEET_DATABASE_URL at a new file"
            )
        return
    check_not_newer(version, where)
    missing = sorted(tables_at(version) - tables)
    if missing:
        raise Refused(
            f"database {where} has cafleet schema version {version} but lacks the tables {', '.join(missing)}: "
            f"it is damaged or belongs to another application; move it aside (mv {shlex.quote(where)} {shlex.quote(where + '.broken')}) and "
            "cafleet creates a new one on the next command, or point CAFLEET_DATABASE_URL at another file"
        )


def check_not_newer(version: int, where: str) -> None:
    if version > LATEST_VERSION:
        from cafleet import __version__

        raise SchemaTooNew(
            f"database {where} has schema version {version}, newer than this cafleet {__version__} "
            f"understands (up to {LATEST_VERSION}); upgrade cafleet (pip install -U cafleet) "
            "or point CAFLEET_DATABASE_URL at another file"
        )


def migrate(conn, where: str, up_to: int = LATEST_VERSION) -> list[Migration]:
    """Bring the database to `up_to`; return the migrations applied (empty when current).

    Runs under BEGIN IMMEDIATE and re-reads the version inside it, so when several
    processes start on a fresh file exactly one of them migrates.
    """
    version = schema_version(conn)
    check_not_newer(version, where)
    if version >= up_to:
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        check_not_newer(version, where)
        pending = [m for m in MIGRATIONS if version < m.version <= up_to]
        for migration in pending:
            migration.apply(conn)
        if pending:
            conn.execute(f"PRAGMA user_version = {pending[-1].version}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return pending
