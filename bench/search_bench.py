"""`message search` against `message poll`, whole process, on a database of 1,000,000 messages.

Agents pay for a CLI call from spawn to exit, so both commands run as fresh processes of the
installed console script (after warm-up runs) and the medians are compared. The target: a
search's median within 1.5x of a poll's on the same database. Searched: words of several
frequencies (the most common word is in most messages), two words, a phrase, and a search by
the Administrator over the whole fleet.

Usage: python bench/search_bench.py [--messages N] [--runs N] [--db PATH] [--postgres URL] [--json]
The database is built once at --db (default: a temporary directory) and reused if it exists.
With --postgres, the same messages are copied into that (empty, or already loaded) PostgreSQL
database and the commands run against it. The exit status is always 0: this is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from message_corpus import build, copy_to_postgres  # noqa: E402

TARGET_RATIO = 1.5


def cafleet() -> str:
    script = Path(sysconfig.get_path("scripts")) / "cafleet"
    return str(script) if script.exists() else shutil.which("cafleet")


def timed(argv: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr}")
    return elapsed, done.stdout


def database_bytes(postgres_url: str | None, db: Path) -> int:
    if not postgres_url:
        return db.stat().st_size
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def paired_medians(poll: list[str], search: list[str], env: dict, runs: int, warmup: int = 3):
    """Medians of `poll` and `search` run alternately, so load from elsewhere hits both alike."""
    polls, searches, out = [], [], ""
    for i in range(warmup + runs):
        p, _ = timed(poll, env)
        s, out = timed(search, env)
        if i >= warmup:
            polls.append(p)
            searches.append(s)
    return statistics.median(polls), statistics.median(searches), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--postgres", metavar="URL", help="run against this PostgreSQL database instead")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="cafleet-search-bench-"))
    db = args.db or workdir / "bench.db"
    info_file = db.with_suffix(".json")
    if db.exists() and info_file.exists():
        info = json.loads(info_file.read_text())
    else:
        info = build(db, args.messages)
        info_file.write_text(json.dumps(info))
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    if args.postgres:
        copy_to_postgres(db, args.postgres)
    env.update(CAFLEET_DATABASE_URL=args.postgres or str(db), HOME=str(workdir), XDG_DATA_HOME=str(workdir / "xdg"))
    base = [cafleet(), "--fleet-id", "1", "message"]
    agent = str(info["agent"])
    poll_argv = base + ["poll", "--agent-id", agent]
    rows = []
    polls = []
    queries = [
        ("rare word", agent, info["rare"]),
        ("medium word", agent, info["medium"]),
        ("frequent word", agent, info["frequent"]),
        ("most common word", agent, info["common"]),
        ("two words", agent, f"{info['frequent']} {info['medium']}"),
        ("phrase", agent, f'"{info["common"]} {info["frequent"]}"'),
        ("Administrator, rare word", "2", info["rare"]),
        ("Administrator, frequent word", "2", info["frequent"]),
    ]
    for label, searcher, query in queries:
        poll, seconds, out = paired_medians(poll_argv, base + ["search", "--agent-id", searcher, query], env, args.runs)
        polls.append(poll)
        hits = sum(1 for line in out.splitlines() if line.startswith("#"))
        rows.append(
            {
                "search": label,
                "query": query,
                "median_ms": round(seconds * 1000, 1),
                "poll_median_ms": round(poll * 1000, 1),
                "ratio_to_poll": round(seconds / poll, 2),
                "hits_shown": hits,
            }
        )
    poll = statistics.median(polls)
    report = {
        "tasks": info["tasks"],
        "build_seconds": round(info["seconds"], 1),
        "engine": "postgresql" if args.postgres else "sqlite",
        "database_mb": round(database_bytes(args.postgres, db) / 2**20),
        "poll_median_ms": round(poll * 1000, 1),
        "target_ratio": TARGET_RATIO,
        "searches": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"{report['tasks']:,} tasks on {report['engine']}, database {report['database_mb']} MB "
            f"(built in {report['build_seconds']} s)"
        )
        print(f"message poll: median {report['poll_median_ms']} ms")
        for row in rows:
            flag = "ok" if row["ratio_to_poll"] <= TARGET_RATIO else "OVER TARGET"
            print(
                f"search {row['search']:<30} {row['median_ms']:>7} ms (poll {row['poll_median_ms']:>6} ms)  "
                f"x{row['ratio_to_poll']:<5} {flag}  ({row['hits_shown']} shown)"
            )
    if not args.db:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
