"""The cost of reading members' usage from their agents' own files.

Ten members (claude, codex, opencode, gemini, qwen, pi, then claude, codex, gemini, pi again),
each with the conversation the real agent wrote against the loopback model
(tests/fixtures/usage) grown to `--answers` model answers (claude's with a 20 KB tool output
in every answer, as real transcripts carry). Reported, as medians of `--runs`:

- cold: every file read from the start (a new process: `member list --usage`'s case);
- warm: nothing changed since the last look (a stat per member: the courier's and the TUI's);
- one more answer each: only the appended lines are read;
- `member list --usage` end to end (a process), beside plain `member list`.

Usage: python bench/usage_read.py [--answers N] [--runs N]. The exit status is always 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cafleet.backends.usage import forget, read_member_usage  # noqa: E402
from tests.usage_support import install  # noqa: E402

BACKENDS = ("claude", "codex", "opencode", "gemini", "qwen", "pi", "claude", "codex", "gemini", "pi")
PADDING = "x" * 20_000


def grow(backend: str, path: Path, answers: int) -> None:
    """Append copies of the file's answer records (with fresh keys) until it holds `answers`."""
    if backend == "opencode":
        database = sqlite3.connect(path)
        with database:
            rows = database.execute("SELECT session_id, time_created, time_updated, data FROM message").fetchall()
            for n in range(answers // max(len(rows), 1)):
                database.executemany(
                    "INSERT INTO message (id, session_id, time_created, time_updated, data) VALUES (?, ?, ?, ?, ?)",
                    [(f"msg_bench_{n}_{i}", *row) for i, row in enumerate(rows)],
                )
        database.close()
        return
    lines = path.read_text().splitlines()
    mark = {"claude": '"usage"', "codex": '"token_count"', "gemini": '"tokens"', "qwen": "api_response", "pi": '"usage"'}[backend]
    answer_lines = [line for line in lines if mark in line]
    with path.open("a") as out:
        for n in range(answers // len(answer_lines)):
            for i, line in enumerate(answer_lines):
                record = json.loads(line)
                _rekey(backend, record, f"bench-{n}-{i}")
                out.write(json.dumps(record) + "\n")
                if backend == "claude":  # a tool result, as big as real ones often are
                    out.write(
                        json.dumps({"type": "user", "message": {"content": [{"type": "tool_result", "content": PADDING}]}}) + "\n"
                    )


def _rekey(backend: str, record: dict, key: str) -> None:
    if backend == "claude":
        record["message"]["id"] = key
    elif backend in ("gemini",):
        record["id"] = key
    elif backend == "qwen":
        record["systemPayload"]["uiEvent"]["response_id"] = key
    elif backend == "pi":
        record["id"] = key
    elif backend == "codex":
        info = record["payload"]["info"]
        total = info["total_token_usage"]
        for field in ("input_tokens", "cached_input_tokens", "output_tokens", "total_tokens"):
            total[field] += info["last_token_usage"][field]


def median_ms(action, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cafleet-usage-bench-"))
    members = []
    for n, backend in enumerate(BACKENDS):
        installed = install(backend, work / f"m{n}")
        grow(backend, installed.path, args.answers)
        members.append((backend, installed))
    size = sum(i.path.stat().st_size for _, i in members)
    print(f"10 members, ~{args.answers} answers each, {size / 2**20:.1f} MiB of agent files")

    def read_all():
        for backend, installed in members:
            assert read_member_usage(backend, installed.session_id, installed.environment) is not None

    def cold():
        forget()
        read_all()

    print(f"cold read (every file from the start): {median_ms(cold, args.runs):8.1f} ms")
    read_all()
    print(f"warm read (nothing changed):          {median_ms(read_all, args.runs):8.2f} ms")

    def one_more():
        for backend, installed in members:
            if backend != "opencode":
                grow(backend, installed.path, 1)
        started = time.perf_counter()
        read_all()
        return (time.perf_counter() - started) * 1000

    appended = statistics.median(one_more() for _ in range(args.runs))
    print(f"warm read after one more answer each:  {appended:8.2f} ms")
    try:
        end_to_end(work, members, args.runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def end_to_end(work: Path, members, runs: int) -> None:
    """`member list` and `member list --usage` as processes, over a fleet of these ten."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(CAFLEET_DATABASE_URL=str(work / "bench.db"), HOME=str(work), XDG_DATA_HOME=str(work / "xdg"), PYTHONPATH=str(ROOT))
    setup = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from cafleet.store.db import open_database
from cafleet.broker.fleets import create_fleet
from cafleet.broker.members import attach_pane, register_member
from cafleet.core.records import SessionRecord
from tests.support import FAKE_PANE
open_database()
created = create_fleet(FAKE_PANE, label="bench")
members = json.loads(sys.argv[1])
for n, (backend, session_id, environment) in enumerate(members):
    member = register_member(created.fleet.id, created.director.id, f"m{{n}}", "bench", backend)
    attach_pane(member.id, f"%{{n + 10}}", session=SessionRecord(member.id, session_id, "m", "/", "2026-12-07T05:00:00.000000Z",
        f"/opt/{{backend}}", environment, "p", None, {{}}))
print(created.fleet.id, created.director.id)
"""
    listed = json.dumps([(b, i.session_id, i.environment) for b, i in members])
    made = subprocess.run([sys.executable, "-c", setup, listed], env=env, capture_output=True, text=True, check=True)
    fleet_id, director_id = made.stdout.split()
    base = [sys.executable, "-m", "cafleet", "--fleet-id", fleet_id, "member", "list", "--agent-id", director_id]
    for label, argv in (("member list", base), ("member list --usage", [*base, "--usage"])):

        def run(argv=argv):
            subprocess.run(argv, env=env, capture_output=True, check=True)

        print(f"`{label}` end to end: {median_ms(run, runs):8.0f} ms")


if __name__ == "__main__":
    main()
