"""A synthetic message history for the search and export benchmarks.

Words follow a Zipf-like distribution over a fixed vocabulary (a few words are in most
messages, most words are rare), as in real chat. Rows go in through the real schema (the
migrations, so the FTS5 triggers index them as `message send` would), in a few large
transactions. 1 % of messages are broadcasts to every agent; 95 % of unicasts are acked.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

VOCABULARY = 20_000
AGENTS = 40


def words(seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    made = set()
    while len(made) < VOCABULARY:
        made.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(made)


def build(path: Path, messages: int, seed: int = 7) -> dict:
    """Create `path` with one fleet and `messages` messages; returns ids and a few words by rank."""
    from cafleet.store.migrations import migrate

    rng = random.Random(seed)
    vocabulary = words(seed)
    rng.shuffle(vocabulary)
    cumulative, total = [], 0.0
    for rank in range(len(vocabulary)):
        total += 1 / (rank + 1)
        cumulative.append(total)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = wal")
    migrate(conn, str(path))
    stamp = "2026-01-01T00:00:00.000000Z"
    conn.execute("BEGIN")
    conn.execute("INSERT INTO fleets (id, label, created_at, director_id) VALUES (1, 'bench', ?, 1)", (stamp,))
    agents = [(1, "director", "director"), (2, "Administrator", "administrator")]
    agents += [(i, f"agent{i}", "agent") for i in range(3, AGENTS + 1)]
    conn.executemany(
        "INSERT INTO agents (id, fleet_id, name, kind, registered_at) VALUES (?, 1, ?, ?, ?)",
        [(i, n, k, stamp) for i, n, k in agents],
    )
    conn.execute("COMMIT")
    started = time.monotonic()
    ids = [a[0] for a in agents if a[2] != "administrator"]
    task_id = 0
    batch: list[tuple] = []
    made = 0
    while made < messages:
        text = " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=rng.randint(6, 30)))
        sender = rng.choice(ids)
        created = f"2026-{1 + made * 12 // max(messages, 1):02d}-01T00:00:00.{made % 1_000_000:06d}Z"
        if rng.random() < 0.01:
            task_id += 1
            summary = task_id
            batch.append((summary, sender, sender, None, "broadcast_summary", "completed", created, None, summary, text))
            for to in ids:
                if to != sender:
                    task_id += 1
                    batch.append((task_id, to, sender, to, "broadcast", "completed", created, created, summary, text))
        else:
            to = rng.choice([i for i in ids if i != sender])
            task_id += 1
            acked = rng.random() < 0.95
            batch.append(
                (
                    task_id,
                    to,
                    sender,
                    to,
                    "unicast",
                    "completed" if acked else "input_required",
                    created,
                    created if acked else None,
                    None,
                    text,
                )
            )
        made += 1
        if len(batch) >= 20_000:
            _insert(conn, batch)
            batch = []
    _insert(conn, batch)
    conn.close()
    return {
        "tasks": task_id,
        "seconds": time.monotonic() - started,
        # Words by how often they occur: rank 0 is in most messages, rank 5000 in few.
        "common": vocabulary[0],
        "frequent": vocabulary[20],
        "medium": vocabulary[300],
        "rare": vocabulary[5000],
        "agent": 7,
    }


def _insert(conn: sqlite3.Connection, batch: list[tuple]) -> None:
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO tasks (id, fleet_id, owner_id, from_id, to_id, kind, state, created_at, state_changed_at, "
        "acked_at, origin_id, text) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, o, f, t, k, s, c, c, a, g, x) for i, o, f, t, k, s, c, a, g, x in batch],
    )
    conn.execute("COMMIT")


def copy_to_postgres(path: Path, url: str) -> None:
    """Load the corpus at `path` into the PostgreSQL database at `url`, migrated as `cafleet`
    migrates it (unless it already holds the corpus): the same rows, written with COPY."""
    import psycopg

    from cafleet.core.config import PostgresServer
    from cafleet.store.postgres import open_postgres

    open_postgres(PostgresServer(url)).close()
    source = sqlite3.connect(path)
    with psycopg.connect(url) as target:
        if target.execute("SELECT EXISTS (SELECT 1 FROM tasks)").fetchone()[0]:
            return
        for table, columns in (
            ("fleets", "id, label, created_at"),
            ("agents", "id, fleet_id, name, kind, registered_at"),
            (
                "tasks",
                "id, fleet_id, owner_id, from_id, to_id, kind, state, created_at, state_changed_at, acked_at, origin_id, text",
            ),
        ):
            with target.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM {table}"):
                    copy.write_row(row)
        target.execute("UPDATE fleets SET director_id = 1")
    source.close()
    with psycopg.connect(url, autocommit=True) as target:
        target.execute("VACUUM ANALYZE")
