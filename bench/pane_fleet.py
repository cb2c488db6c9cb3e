"""The stage for the pane part of cli_bench.py: a private tmux server and stand-in agents.

Nothing here touches the user's tmux server. The server runs on its own socket
(`tmux -L cafleet-bench-<random> -f /dev/null`, under the benchmark's private TMUX_TMPDIR)
and is killed on the way out. The coding agents are small `claude`, `codex` and `opencode`
scripts, put first on PATH, that exec `python -m cafleet.demo.standin_agent`, which logs every input
it receives as JSON Lines; reading those logs shows when a preview really landed.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

POLL_SECONDS = 0.01
BACKENDS = ("claude", "codex", "opencode")


def tmux_version() -> str | None:
    """`tmux -V`, or None when tmux is not installed."""
    if shutil.which("tmux") is None:
        return None
    result = subprocess.run(["tmux", "-V"], capture_output=True, text=True, timeout=10)
    return result.stdout.strip() or "tmux (version unknown)"


class PrivateTmux(NamedTuple):
    name: str
    socket_path: str
    server_pid: int
    pane_id: str

    def pane_env(self) -> dict[str, str]:
        """The TMUX/TMUX_PANE a process running in the server's first pane would see."""
        return {"TMUX": f"{self.socket_path},{self.server_pid},0", "TMUX_PANE": self.pane_id}


@contextmanager
def private_tmux(env: dict[str, str]) -> Iterator[PrivateTmux]:
    """A detached tmux server with one session on a socket of its own, killed afterwards."""
    name = f"cafleet-bench-{uuid.uuid4().hex[:10]}"
    base = ["tmux", "-L", name, "-f", "/dev/null"]

    def tmux(*args: str) -> str:
        result = subprocess.run([*base, *args], env=env, capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip() or 'no reason given'}")
        return result.stdout.strip()

    try:
        tmux("new-session", "-d", "-s", "bench", "-x", "200", "-y", "50")
        socket_path, pid, pane_id = tmux("display-message", "-p", "-t", "bench", "#{socket_path}\t#{pid}\t#{pane_id}").split("\t")
        yield PrivateTmux(name, socket_path, int(pid), pane_id)
    finally:
        subprocess.run([*base, "kill-server"], env=env, capture_output=True, timeout=10)


class StandIns:
    """Fake `claude`/`codex`/`opencode` executables in `root/fake-bin`; each run execs the
    stand-in agent with its log at `root/agent-logs/<backend>-<pid>.jsonl`."""

    def __init__(self, root: Path):
        self.bin = root / "fake-bin"
        self.logs = root / "agent-logs"
        self.bin.mkdir()
        self.logs.mkdir()
        self._log_of_member: dict[str, Path] = {}
        for backend in BACKENDS:
            script = self.bin / backend
            script.write_text(
                "#!/bin/sh\n"
                f'exec {sys.executable} -m cafleet.demo.standin_agent --startup-delay 0 --log "{self.logs}/{backend}-$$.jsonl" "$@"\n'
            )
            script.chmod(0o755)

    def events(self, member: str) -> list[dict]:
        """The log of the stand-in started for `member` (known by `--name <member>` in its argv)."""
        path = self._log_of_member.get(member) or self._find_log(member)
        if path is None:
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def inputs(self, member: str) -> list[str]:
        return [e["text"] for e in self.events(member) if e["event"] == "input"]

    def wait_until_ready(self, members: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = set(members)
        while waiting:
            waiting = {m for m in waiting if not any(e["event"] == "ready" for e in self.events(m))}
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"no ready event from the stand-ins of {', '.join(sorted(waiting))} after {timeout:g} s")
            time.sleep(POLL_SECONDS)

    def _find_log(self, member: str) -> Path | None:
        for path in self.logs.glob("*.jsonl"):
            first = path.read_text().partition("\n")[0]
            if first and member in json.loads(first).get("argv", []):
                self._log_of_member[member] = path
                return path
        return None


def settled(status: str | None) -> bool:
    """A final outcome: not `pending`, `claimed` (a courier is typing it) or `deferred:…` (the
    courier is still on it)."""
    return status is not None and status not in ("pending", "claimed") and not status.startswith("deferred:")


def notify_statuses(db_path: Path, task_ids: list[int]) -> dict[int, str | None]:
    """Each task's `notify_status` (`pending` until the courier recorded an outcome).

    A fresh read-only connection per call: holding one open would change who checkpoints
    the WAL, and so the cost of the CLI calls being measured.
    """
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        marks = ",".join("?" * len(task_ids))
        rows = conn.execute(f"SELECT id, notify_status FROM tasks WHERE id IN ({marks})", task_ids).fetchall()
    finally:
        conn.close()
    found = dict(rows)
    return {task_id: found.get(task_id) for task_id in task_ids}


class Landing(NamedTuple):
    """When a set of previews was seen to land, in time.monotonic() seconds."""

    statuses: dict[int, str | None]  # each task's final notify_status (None: never recorded)
    recorded_at: float | None  # every task had a final notify_status
    logged_at: float | None  # every expected input was in its stand-in's log

    @property
    def all_delivered(self) -> bool:
        return all(status == "delivered" for status in self.statuses.values())


def watch_landing(
    db_path: Path, task_ids: list[int], standins: StandIns, expected: list[tuple[str, str]], timeout: float
) -> Landing:
    """Poll the database and the stand-in logs until every task has an outcome and every
    (member, marker) pair in `expected` shows up as an input of that member's stand-in.

    Times are taken right after the check that saw the event, so they are late by at most
    one poll interval plus the check itself.
    """
    recorded_at = logged_at = None
    statuses: dict[int, str | None] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if recorded_at is None:
            statuses = notify_statuses(db_path, task_ids)
            if all(settled(status) for status in statuses.values()):
                recorded_at = time.monotonic()
        if logged_at is None and all(any(marker in text for text in standins.inputs(member)) for member, marker in expected):
            logged_at = time.monotonic()
        failed = recorded_at is not None and any(status != "delivered" for status in statuses.values())
        if (recorded_at is not None and logged_at is not None) or failed:
            break
        time.sleep(POLL_SECONDS)
    return Landing(statuses, recorded_at, logged_at)
