"""`fleet export` of 100,000 messages: wall time and peak memory of the whole process.

The export streams (one batch of rows at a time), so its peak RSS should stay near a bare
CLI call's however long the history is. Both formats are written to a file with --output.
Wall time and peak RSS come from GNU time (/usr/bin/time, Debian package `time`).

Usage: python bench/export_bench.py [--messages N] [--db PATH]
The exit status is always 0: this is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from message_corpus import build  # noqa: E402
from search_bench import cafleet  # noqa: E402


def run(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, as GNU time reports them. (ru_maxrss of
    a child forked from this process would count this process's own memory at the fork.)"""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M"] + argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr}")
    seconds, kib = done.stderr.strip().splitlines()[-1].split()
    return float(seconds), int(kib)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--db", type=Path)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="cafleet-export-bench-"))
    db = args.db or workdir / "bench.db"
    if not db.exists():
        info = build(db, args.messages)
        print(f"built {info['tasks']:,} tasks for {args.messages:,} messages in {info['seconds']:.1f} s")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(CAFLEET_DATABASE_URL=str(db), HOME=str(workdir), XDG_DATA_HOME=str(workdir / "xdg"))
    baseline_seconds, baseline_rss = run([cafleet(), "--version"], env)
    print(f"`cafleet --version` (floor): {baseline_seconds * 1000:.0f} ms, peak RSS {baseline_rss / 1024:.1f} MiB")
    for fmt in ("jsonl", "markdown"):
        target = workdir / f"export.{fmt}"
        seconds, rss = run([cafleet(), "fleet", "export", "1", "--format", fmt, "--output", str(target)], env)
        size = target.stat().st_size
        lines = sum(1 for _ in target.open(encoding="utf-8")) if fmt == "jsonl" else None
        extra = f", {lines:,} objects" if lines is not None else ""
        print(
            f"export --format {fmt:<8} {seconds:6.2f} s, peak RSS {rss / 1024:6.1f} MiB, {size / 2**20:6.1f} MiB written{extra}"
        )
        if fmt == "jsonl":
            first = json.loads(target.open(encoding="utf-8").readline())
            assert "task_id" in first
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
