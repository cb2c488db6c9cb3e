"""Many OS processes writing one database at once: nothing is lost, duplicated or locked out.

The workers run in "spawn" processes (a fresh interpreter each, as separate `cafleet`
invocations would be) or as real `cafleet` console-script subprocesses. Each spawn worker
opens the database itself (the test's CAFLEET_DATABASE_URL: a SQLite file, or a PostgreSQL
database in the PostgreSQL pass), then waits on a barrier so that all of them write together.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from conftest import cafleet_command

# The workers open the SQLite file by path and the checks read it with sqlite3; the engines'
# writers side by side: bench/engines_bench.py.
pytestmark = pytest.mark.sqlite_only

SENDERS = 8
SENDS_PER_SENDER = 40
BROADCASTS = 12
JOIN_TIMEOUT = 90


# --------------------------------------------------------------------------- worker processes
# Module-level functions so that "spawn" children can import them by name.


def _write_result(out_file: str, result: dict) -> None:
    Path(out_file).write_text(json.dumps(result))


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _send_worker(fleet_id, sender_id, worker, targets, count, barrier, out_file):
    """Send `count` unicasts, each text a unique tag, round-robin over `targets` (by name or id)."""
    result = {"sent": [], "errors": [], "start": None, "end": None}
    try:
        from cafleet.broker.messages import send_message
        from cafleet.store.db import open_database

        open_database()
        barrier.wait(timeout=60)
        result["start"] = time.time()
        for seq in range(count):
            target_id, target_name = targets[(worker + seq) % len(targets)]
            to = str(target_id) if seq % 2 else target_name
            tag = f"worker-{worker}-seq-{seq}"
            try:
                task = send_message(fleet_id, sender_id, to, tag)
                result["sent"].append([tag, task.id, task.owner_id, task.from_agent_id])
            except Exception as exc:  # collected, asserted empty by the test
                result["errors"].append(f"{tag}: {_describe(exc)}")
        result["end"] = time.time()
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


def _broadcast_worker(fleet_id, sender_id, count, barrier, out_file):
    result = {"broadcasts": [], "errors": []}
    try:
        from cafleet.broker.messages import broadcast_message
        from cafleet.store.db import open_database

        open_database()
        barrier.wait(timeout=60)
        for k in range(count):
            tag = f"broadcast-{k}"
            try:
                sent = broadcast_message(fleet_id, sender_id, tag)
                result["broadcasts"].append(
                    {
                        "tag": tag,
                        "summary_id": sent.summary.id,
                        "delivery_ids": [d.id for d in sent.deliveries],
                        "delivery_owners": [d.owner_id for d in sent.deliveries],
                    }
                )
            except Exception as exc:
                result["errors"].append(f"{tag}: {_describe(exc)}")
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


def _ack_worker(fleet_id, agent_id, barrier, senders_done, out_file):
    """Drain `agent_id`'s inbox by acking, while the others keep sending; stop once they are done."""
    result = {"acked": [], "acked_before_done": 0, "errors": []}
    try:
        from cafleet.broker.inbox import poll_inbox
        from cafleet.broker.messages import ack_message
        from cafleet.store.db import open_database

        open_database()
        barrier.wait(timeout=60)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            finished = senders_done.is_set()  # read before polling, so the last poll sees everything
            try:
                inbox = poll_inbox(fleet_id, agent_id, page_size=100)
            except Exception as exc:
                result["errors"].append(f"poll: {_describe(exc)}")
                time.sleep(0.01)
                continue
            for task in inbox.tasks:
                try:
                    ack_message(fleet_id, agent_id, task.id)
                    result["acked"].append(task.id)
                    if not finished:
                        result["acked_before_done"] += 1
                except Exception as exc:
                    result["errors"].append(f"ack {task.id}: {_describe(exc)}")
            if finished and not inbox.tasks:
                break
            if not inbox.tasks:
                time.sleep(0.005)
        else:
            result["errors"].append("acker did not finish within 60 s")
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


def _open_fresh_worker(db_file, worker, barrier, out_file):
    """Open a database file that does not exist yet, then write one row through peewee."""
    result = {"errors": []}
    try:
        barrier.wait(timeout=60)
        from cafleet.core.timestamps import utc_now
        from cafleet.store.db import open_database
        from cafleet.store.models import Fleet, database

        open_database(Path(db_file))
        with database.atomic():
            Fleet.create(label=f"opener-{worker}", created_at=utc_now())
        result["user_version"] = database.execute_sql("PRAGMA user_version").fetchone()[0]
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


def _raw_migrate_worker(db_file, barrier, out_file):
    """`migrate()` on a plain sqlite3 connection; reports which migrations this process applied."""
    result = {"errors": []}
    try:
        from cafleet.store.migrations import migrate

        conn = sqlite3.connect(db_file, timeout=30, isolation_level=None)
        try:
            barrier.wait(timeout=60)
            result["applied"] = [m.version for m in migrate(conn, db_file)]
            result["user_version"] = conn.execute("PRAGMA user_version").fetchone()[0]
        finally:
            conn.close()
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


# --------------------------------------------------------------------------- helpers


def _run_processes(specs, tmp_path: Path, name: str, after_start=None) -> list[dict]:
    """Start spawn processes for `specs` [(target, args_without_out_file)], join, return results."""
    ctx = multiprocessing.get_context("spawn")
    out_dir = tmp_path / f"results-{name}"
    out_dir.mkdir()
    processes = []
    out_files = []
    for index, (target, args) in enumerate(specs):
        out_file = str(out_dir / f"{index}.json")
        out_files.append(out_file)
        proc = ctx.Process(target=target, args=(*args, out_file), daemon=True)
        proc.start()
        processes.append(proc)
    try:
        if after_start is not None:
            after_start(processes)
        for proc in processes:
            proc.join(JOIN_TIMEOUT)
    finally:
        for proc in processes:
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    for index, proc in enumerate(processes):
        assert proc.exitcode == 0, f"process {index} ({specs[index][0].__name__}) exited with {proc.exitcode}"
    return [json.loads(Path(f).read_text()) for f in out_files]


def _task_rows() -> list[dict]:
    """Every stored task as its raw columns, read through the test's own connection."""
    from cafleet.store.db import open_database

    cursor = open_database().execute_sql("SELECT * FROM tasks ORDER BY id")
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _raw(db_file: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db_file, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _register(fleet_id: int, names: list[str]) -> dict[str, int]:
    from cafleet.broker.agents import register_agent

    return {name: register_agent(fleet_id, name, f"{name} for the concurrency test").id for name in names}


def _assert_broadcasts(rows, director_id: int, broadcast_recipients: set[int], expected_tags: list[str]):
    """Every broadcast: one summary for the sender plus one delivery per recipient, sharing origin_id."""
    summaries = [r for r in rows if r["kind"] == "broadcast_summary"]
    deliveries = [r for r in rows if r["kind"] == "broadcast"]
    assert sorted(r["text"] for r in summaries) == sorted(expected_tags)
    by_origin = defaultdict(list)
    for row in deliveries:
        by_origin[row["origin_id"]].append(row)
    assert set(by_origin) == {s["id"] for s in summaries}, "a delivery points at no summary, or a summary has none"
    for summary in summaries:
        assert summary["origin_id"] == summary["id"]
        assert summary["owner_id"] == director_id and summary["from_id"] == director_id
        assert summary["to_id"] is None and summary["state"] == "completed"
        group = by_origin[summary["id"]]
        owners = [d["owner_id"] for d in group]
        assert len(owners) == len(broadcast_recipients), f"broadcast {summary['text']}: {len(owners)} deliveries"
        assert set(owners) == broadcast_recipients
        for delivery in group:
            assert delivery["text"] == summary["text"]
            assert delivery["from_id"] == director_id
            assert delivery["to_id"] == delivery["owner_id"]
            assert delivery["created_at"] == summary["created_at"]
    return summaries, deliveries


def _sender_switches(unicast_rows) -> int:
    senders = [r["from_id"] for r in sorted(unicast_rows, key=lambda r: r["id"])]
    return sum(1 for a, b in zip(senders, senders[1:], strict=False) if a != b)


# --------------------------------------------------------------------------- tests


def test_concurrent_sends_broadcasts_and_acks_through_the_broker(fleet, tmp_path):
    sender_names = [f"sender-{i}" for i in range(SENDERS)]
    senders = _register(fleet.fleet_id, sender_names)
    carol = _register(fleet.fleet_id, ["carol"])["carol"]
    # alice's inbox is drained by the acker while everything else is going on.
    targets = [(fleet.alice_id, "alice"), (fleet.bob_id, "BOB"), (carol, "carol")]

    ctx = multiprocessing.get_context("spawn")
    parties = SENDERS + 2
    barrier = ctx.Barrier(parties)
    senders_done = ctx.Event()
    specs = [
        (_send_worker, (fleet.fleet_id, senders[name], i, targets, SENDS_PER_SENDER, barrier))
        for i, name in enumerate(sender_names)
    ]
    specs.append((_broadcast_worker, (fleet.fleet_id, fleet.director_id, BROADCASTS, barrier)))
    specs.append((_ack_worker, (fleet.fleet_id, fleet.alice_id, barrier, senders_done)))

    def wait_for_writers(processes):
        for proc in processes[:-1]:
            proc.join(JOIN_TIMEOUT)
        senders_done.set()

    results = _run_processes(specs, tmp_path, "broker", after_start=wait_for_writers)
    send_results, broadcast_result, ack_result = results[:SENDERS], results[SENDERS], results[SENDERS + 1]

    errors = [e for r in results for e in r["errors"]]
    assert not any("locked" in e for e in errors), errors
    assert errors == []

    rows = _task_rows()

    everyone_but_director = set(senders.values()) | {fleet.alice_id, fleet.bob_id, carol}
    assert len(rows) == SENDERS * SENDS_PER_SENDER + BROADCASTS * (1 + len(everyone_but_director))
    assert len({r["id"] for r in rows}) == len(rows)

    # Unicasts: every tag stored exactly once, for the recipient and from the sender it was meant for.
    unicasts = [r for r in rows if r["kind"] == "unicast"]
    counts = Counter(r["text"] for r in unicasts)
    duplicated = {tag: n for tag, n in counts.items() if n != 1}
    assert duplicated == {}
    expected = {}
    for i, name in enumerate(sender_names):
        for seq in range(SENDS_PER_SENDER):
            expected[f"worker-{i}-seq-{seq}"] = (senders[name], targets[(i + seq) % len(targets)][0])
    assert set(counts) == set(expected), f"lost: {sorted(set(expected) - set(counts))[:5]}"
    for row in unicasts:
        assert (row["from_id"], row["owner_id"]) == expected[row["text"]], row
        assert row["to_id"] == row["owner_id"] and row["fleet_id"] == fleet.fleet_id
        assert row["origin_id"] is None

    # What each worker was told matches what is stored.
    by_id = {r["id"]: r for r in rows}
    for result in send_results:
        assert len(result["sent"]) == SENDS_PER_SENDER
        for tag, task_id, owner_id, from_id in result["sent"]:
            assert by_id[task_id]["text"] == tag
            assert (from_id, owner_id) == expected[tag]

    summaries, deliveries = _assert_broadcasts(
        rows, fleet.director_id, everyone_but_director, [f"broadcast-{k}" for k in range(BROADCASTS)]
    )
    for reported in broadcast_result["broadcasts"]:
        summary = by_id[reported["summary_id"]]
        assert summary["kind"] == "broadcast_summary" and summary["text"] == reported["tag"]
        assert sorted(reported["delivery_ids"]) == sorted(d["id"] for d in deliveries if d["origin_id"] == summary["id"])

    # The acker acked each of alice's messages exactly once; nobody else's were touched.
    acked = ack_result["acked"]
    assert len(acked) == len(set(acked))
    alice_rows = [r for r in rows if r["owner_id"] == fleet.alice_id]
    assert sorted(acked) == sorted(r["id"] for r in alice_rows)
    assert all(r["state"] == "completed" and r["acked_at"] is not None for r in alice_rows)
    others = [r for r in rows if r["owner_id"] != fleet.alice_id and r["kind"] != "broadcast_summary"]
    assert all(r["state"] == "input_required" and r["acked_at"] is None for r in others)
    assert ack_result["acked_before_done"] > 0, "the acker never ran while the senders were sending"

    # They really ran at the same time: all sending windows overlap, and the stored order interleaves.
    assert max(r["start"] for r in send_results) < min(r["end"] for r in send_results)
    assert _sender_switches(unicasts) > SENDERS * 2


def _launch(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(cafleet_command() + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_concurrent_cli_sends_and_broadcasts(fleet):
    rounds = 3
    sender_names = [f"cli-sender-{i}" for i in range(SENDERS)]
    senders = _register(fleet.fleet_id, sender_names)
    targets = [(fleet.alice_id, "alice"), (fleet.bob_id, "bob")]
    base = ["--fleet-id", fleet.fleet_id]

    expected = {}
    broadcast_tags = []
    failures = []
    reported_ids = {}
    for rnd in range(rounds):
        procs = []
        for i, name in enumerate(sender_names):
            target_id, target_name = targets[(i + rnd) % len(targets)]
            to = target_name if (i + rnd) % 2 else target_id
            tag = f"cli-worker-{i}-round-{rnd}"
            expected[tag] = (senders[name], target_id)
            procs.append(
                (tag, _launch(base + ["message", "send", "--agent-id", senders[name], "--to", to, "--text", tag, "--quiet"]))
            )
        tag = f"cli-broadcast-{rnd}"
        broadcast_tags.append(tag)
        procs.append((tag, _launch(base + ["message", "broadcast", "--agent-id", fleet.director_id, "--text", tag, "--quiet"])))
        for tag, proc in procs:
            out, err = proc.communicate(timeout=60)
            if proc.returncode != 0 or err:
                failures.append((tag, proc.returncode, err.decode()))
            else:
                reported_ids[tag] = int(out.decode().strip())
    assert failures == []

    rows = _task_rows()
    recipients = set(senders.values()) | {fleet.alice_id, fleet.bob_id}
    assert len(rows) == rounds * SENDERS + rounds * (1 + len(recipients))

    unicasts = [r for r in rows if r["kind"] == "unicast"]
    assert Counter(r["text"] for r in unicasts) == Counter(set(expected))  # each tag exactly once
    by_id = {r["id"]: r for r in rows}
    for row in unicasts:
        assert (row["from_id"], row["owner_id"]) == expected[row["text"]]
        assert by_id[reported_ids[row["text"]]] == row
    summaries, _ = _assert_broadcasts(rows, fleet.director_id, recipients, broadcast_tags)
    for summary in summaries:
        assert reported_ids[summary["text"]] == summary["id"]


@pytest.mark.sqlite_only
def test_many_processes_open_a_brand_new_database_at_once(tmp_path):
    from cafleet.store.migrations import LATEST_VERSION

    db_file = tmp_path / "fresh" / "nested" / "cafleet.store.db"
    workers = 8
    barrier = multiprocessing.get_context("spawn").Barrier(workers)
    results = _run_processes([(_open_fresh_worker, (str(db_file), i, barrier)) for i in range(workers)], tmp_path, "fresh")
    assert [r["errors"] for r in results] == [[]] * workers
    assert [r["user_version"] for r in results] == [LATEST_VERSION] * workers

    with _raw(db_file) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = Counter(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"))
        search = ["tasks_fts", "tasks_fts_config", "tasks_fts_data", "tasks_fts_docsize", "tasks_fts_idx"]
        assert names == Counter(
            [
                "fleets",
                "agents",
                "placements",
                "tasks",
                "monitor_config",
                "monitor_runtime",
                "agent_states",
                "couriers",
                "worktrees",
                "worktree_overlaps",
                "member_sessions",
                "notify_events",
                "notify_deliveries",
                "member_budgets",
            ]
            + search
        )
        labels = sorted(r[0] for r in conn.execute("SELECT label FROM fleets"))
        assert labels == sorted(f"opener-{i}" for i in range(workers))
    assert db_file.stat().st_mode & 0o777 == 0o600
    assert db_file.parent.stat().st_mode & 0o777 == 0o700


def _database_at_version_1_with_agents(db_file: Path) -> None:
    from cafleet.store.migrations import migrate

    conn = sqlite3.connect(db_file, isolation_level=None)
    migrate(conn, str(db_file), up_to=1)
    now = "2026-01-02T03:04:05.000000Z"
    conn.execute("INSERT INTO fleets (id, label, created_at) VALUES (1, 'old', ?)", (now,))
    conn.executemany(
        "INSERT INTO agents (id, fleet_id, name, kind, registered_at) VALUES (?, 1, ?, ?, ?)",
        [(1, "director", "director", now), (2, "worker", "member", now)],
    )
    conn.close()


@pytest.mark.sqlite_only
def test_exactly_one_process_migrates_when_many_start_together(tmp_path):
    """Run `migrate()` from 8 processes at once, on a new file and on a version-1 file."""
    from cafleet.store.migrations import LATEST_VERSION, MIGRATIONS

    workers = 8
    ctx = multiprocessing.get_context("spawn")
    for start_version in (0, 1):
        db_file = tmp_path / f"from-{start_version}.db"
        if start_version == 1:
            _database_at_version_1_with_agents(db_file)
        barrier = ctx.Barrier(workers)
        results = _run_processes(
            [(_raw_migrate_worker, (str(db_file), barrier)) for _ in range(workers)], tmp_path, f"raw-{start_version}"
        )
        assert [r["errors"] for r in results] == [[]] * workers
        applied = sorted((r["applied"] for r in results), key=len)
        expected = [m.version for m in MIGRATIONS if m.version > start_version]
        assert applied == [[]] * (workers - 1) + [expected], applied
        assert {r["user_version"] for r in results} == {LATEST_VERSION}
        if start_version == 1:
            with _raw(db_file) as conn:
                monitor = sorted(tuple(r) for r in conn.execute("SELECT agent_id, interval_seconds FROM monitor_config"))
            assert monitor == [(1, 120), (2, 300)]


def _open_postgres_worker(url, worker, barrier, out_file):
    """Open a PostgreSQL database cafleet never used, then write one row; report the version."""
    result = {"errors": []}
    try:
        import os

        os.environ["CAFLEET_DATABASE_URL"] = url
        barrier.wait(timeout=60)
        from cafleet.core.timestamps import utc_now
        from cafleet.store.db import open_database
        from cafleet.store.models import Fleet
        from cafleet.store.postgres import schema_version

        database = open_database()
        with database.atomic():
            Fleet.create(label=f"opener-{worker}", created_at=utc_now())
        result["version"] = schema_version(database.obj)
    except BaseException as exc:
        result["errors"].append(_describe(exc))
    _write_result(out_file, result)


def test_many_processes_open_a_brand_new_postgres_database_at_once(tmp_path, postgres_url):
    """One of them migrates under the write lock; the others wait for it, then find it done."""
    from cafleet.store.db import open_database
    from cafleet.store.migrations import LATEST_VERSION
    from cafleet.store.models import Fleet

    workers = 8
    barrier = multiprocessing.get_context("spawn").Barrier(workers)
    results = _run_processes([(_open_postgres_worker, (postgres_url, i, barrier)) for i in range(workers)], tmp_path, "fresh-pg")
    assert [r["errors"] for r in results] == [[]] * workers
    assert [r["version"] for r in results] == [LATEST_VERSION] * workers
    from cafleet.core.config import PostgresServer

    open_database(PostgresServer(postgres_url))
    assert sorted(f.label for f in Fleet.select()) == sorted(f"opener-{i}" for i in range(workers))
