"""Whole-process cost of the `cafleet` CLI, the way coding agents pay it.

Agents call `cafleet` as a fresh process for every poll, send and ack, so what matters
is the wall time from spawn to exit (interpreter start, imports, opening SQLite, the
query, printing) and the peak memory of that process, not the speed of a broker
function inside a warm interpreter. For each command this script runs the installed
console script N times after a few warm-up runs and reports the median and p90.

Measured:
  * `python -c pass`, the floor every CLI call pays, and `python -I -S -c pass`, the
    interpreter without `site` (site-packages .pth files, such as an injected one that
    imports certifi, can cost tens of ms on their own and are not cafleet's doing);
  * `message poll` on an empty inbox, `message send` to a pane-less agent, and
    `message ack` (each run acks a different unread message);
  * the same empty-inbox poll after 200,000 old (acked or canceled) messages are in
    the database, as a ratio to the empty-database poll: the inbox query must stay an
    index lookup, not grow with history;
  * a poll that returns a full page of 20 messages (with more unread behind it, so
    the "N more" count runs too), and `poll --all` over that history;
  * the peak RSS of the processes (`ru_maxrss` from `wait4`, see `Spawner` for why a
    helper process starts them);
  * pane delivery (unless --skip-panes, or tmux is not installed): inline previews are
    typed into recipients' tmux panes, which takes hundreds of ms per pane, so `send` and
    `broadcast` must leave that to the courier and return at once. On a private
    tmux server (see bench/pane_fleet.py) a fleet is created by `cafleet fleet create` run
    "in" the server's first pane, and 4 members running stand-in agents are spawned by
    `cafleet member create`. Measured there: `message send` to a member's live pane (each
    send's preview lands before the next send, so the courier never queues on a pane lock),
    interleaved with sends to a pane-less agent of the same fleet as a control, and when
    that preview reached the stand-in; `message broadcast` to the 4 panes, and
    when all 4 previews landed, seen both in the stand-ins' input logs and as
    `notify_status = delivered` in the database (several rounds, each started after the
    previous one's previews landed); and a `send` issued right after a broadcast returned,
    while its previews are still being typed, which must not wait for them.

Everything runs against a private temporary database, HOME and XDG_DATA_HOME, and with
no tmux environment, so the user's ~/.local/share and tmux server are never touched.
Except for the pane section, the fleet is bootstrapped in-process through the broker, so
tmux is not needed; the pane section uses a database and a tmux server of its own.
Commands run with cached bytecode (a private PYTHONPYCACHEPREFIX), as an installed
cafleet does; --inherit-bytecode-env measures with the caller's settings instead.

Usage: python bench/cli_bench.py [--runs N] [--warmup N] [--rounds N] [--json]
                                 [--inherit-bytecode-env] [--skip-panes]
The exit status is always 0: this is a report, and a missed target is shown in it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

try:
    from pane_fleet import POLL_SECONDS, Landing, StandIns, notify_statuses, private_tmux, settled, tmux_version, watch_landing
except ImportError:  # imported as bench.cli_bench rather than run as a script
    from bench.pane_fleet import (
        POLL_SECONDS,
        Landing,
        StandIns,
        notify_statuses,
        private_tmux,
        settled,
        tmux_version,
        watch_landing,
    )

TIME_TARGET_MS = 100.0
RSS_TARGET_MIB = 40.0
RATIO_TARGET = 1.15
OLD_MESSAGES = 200_000
PAGE_SIZE = 20
UNREAD_FOR_FULL_PAGE = PAGE_SIZE + 5
EXTRA_AGENTS = 6

SEND_TARGET_MS = 100.0
BROADCAST_TARGET_MS = 150.0
LANDED_TARGET_S = 3.0
MEMBERS = ("m1", "m2", "m3", "m4")
BROADCAST_ROUNDS = 5
ROUND_GAP_SECONDS = 0.5  # after a round's previews landed, so the courier is idle again
SEND_GAP_SECONDS = 0.25  # the same after each single send's preview
LANDING_TIMEOUT_SECONDS = 20.0

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class FleetIds(NamedTuple):
    fleet: int
    director: int
    alice: int
    bob: int


class Sample(NamedTuple):
    seconds: float
    maxrss_kib: int
    started: float = 0.0  # time.monotonic() at spawn (CLOCK_MONOTONIC, comparable across processes)


class Measurement(NamedTuple):
    """All timed runs of one command, or the error that stopped them."""

    name: str
    samples: tuple[Sample, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    def median_ms(self) -> float:
        return statistics.median(s.seconds for s in self.samples) * 1000

    def p90_ms(self) -> float:
        times = sorted(s.seconds for s in self.samples)
        if len(times) == 1:
            return times[0] * 1000
        return statistics.quantiles(times, n=10, method="inclusive")[8] * 1000

    def max_rss_mib(self) -> float:
        return max(s.maxrss_kib for s in self.samples) / 1024


class Row(NamedTuple):
    """One line of the report (and one object of the JSON output)."""

    section: str
    metric: str
    value: float | None
    unit: str
    p90: float | None = None
    overhead_ms: float | None = None
    target: float | None = None
    ok: bool | None = None
    error: str | None = None


# --- environment and fixtures ---------------------------------------------------------


def isolated_env(root: Path, cache_bytecode: bool) -> dict[str, str]:
    """os.environ pointed at `root` for everything cafleet (or anything it runs) could write."""
    env = dict(os.environ)
    if cache_bytecode:
        # An installed cafleet runs from cached bytecode. With PYTHONDONTWRITEBYTECODE set (as
        # in some sandboxes) an editable install would recompile every cafleet module on every
        # call instead; a private cache prefix gives the steady state without writing
        # __pycache__ directories into the source tree.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    home = root / "home"
    home.mkdir(mode=0o700)
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(root / "xdg-data")
    env["CAFLEET_DATABASE_URL"] = f"sqlite:///{root / 'cafleet.store.db'}"
    # Without TMUX/TMUX_PANE nothing treats this as a pane; a private TMUX_TMPDIR means even
    # a stray `tmux` call would look for a server that does not exist, not the user's.
    env["TMUX_TMPDIR"] = str(root)
    for name in ("TMUX", "TMUX_PANE", "CAFLEET_MAX_TEXT_LEN", "CAFLEET_DEBUG", "NO_COLOR"):
        env.pop(name, None)
    return env


@contextmanager
def broker(db_path: Path):
    """The in-process broker connection, closed afterwards.

    Closed because in real use every CLI call is the only connection: the last one to close
    checkpoints the WAL, and a benchmark parent holding the file open would hide that cost.
    """
    from cafleet.store.db import open_database

    database = open_database(db_path)
    try:
        yield database
    finally:
        database.close()


def bootstrap(db_path: Path) -> FleetIds:
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.core.records import PaneLocation

    pane = PaneLocation(
        tmux_socket="/nonexistent/cafleet-bench/default",
        tmux_server_pid=None,
        tmux_session="bench",
        tmux_window_id="@1",
        tmux_pane_id="%1",
    )
    with broker(db_path):
        created = create_fleet(pane, label="bench")
        alice = register_agent(created.fleet.id, "alice", "polls and acks")
        bob = register_agent(created.fleet.id, "bob", "sends")
    return FleetIds(created.fleet.id, created.director.id, alice.id, bob.id)


def add_unread(db_path: Path, ids: FleetIds, count: int, text: str) -> list[int]:
    """`count` unread messages from bob to alice; returns their task ids, oldest first."""
    from cafleet.broker.messages import send_message

    with broker(db_path):
        return [send_message(ids.fleet, ids.bob, str(ids.alice), f"{text} #{i}").id for i in range(count)]


def add_old_messages(db_path: Path, ids: FleetIds, count: int) -> float:
    """Insert `count` settled messages between several agents; returns the seconds it took."""
    from cafleet.broker.agents import register_agent

    started = time.perf_counter()
    with broker(db_path) as database:
        workers = [register_agent(ids.fleet, f"worker-{n}", "history").id for n in range(EXTRA_AGENTS)]
        agents = [ids.director, ids.alice, ids.bob, *workers]
        sql = (
            "INSERT INTO tasks (fleet_id, owner_id, from_id, to_id, kind, state, created_at, "
            "state_changed_at, acked_at, text) VALUES (?, ?, ?, ?, 'unicast', ?, ?, ?, ?, ?)"
        )
        with database.atomic():
            database.connection().executemany(sql, old_message_rows(ids.fleet, agents, count))
    return time.perf_counter() - started


def old_message_rows(fleet_id: int, agents: list[int], count: int) -> Iterator[tuple]:
    """Settled messages from early 2025, about a third of them addressed to alice (who polls)."""
    rng = random.Random(20260101)
    alice = agents[1]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(count):
        recipient = alice if rng.random() < 0.33 else rng.choice(agents)
        sender = rng.choice([a for a in agents if a != recipient])
        created = (start + timedelta(seconds=i * 7)).strftime(STAMP_FORMAT)
        settled = (start + timedelta(seconds=i * 7 + 30)).strftime(STAMP_FORMAT)
        if rng.random() < 0.9:
            state, acked_at = "completed", settled
        else:
            state, acked_at = "canceled", None
        text = f"old message {i}: " + "status update, nothing to see here. " * rng.randint(1, 6)
        yield (fleet_id, recipient, sender, recipient, state, created, settled, acked_at, text)


# --- running and timing processes -----------------------------------------------------

# Linux folds the RSS high-water mark of the process that forked a child into the child's
# ru_maxrss when the child execs, so a command spawned straight from this (large) benchmark
# process would report this process's peak, not its own. Every measured command is
# therefore started by this small helper, whose own peak (a few MiB, reported as the
# floor) is the most it can add. It also does the timing, so pipe traffic between the
# two processes stays outside the clock.
SPAWNER_SOURCE = """
import json, os, sys, time

def peak_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

WRITE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
for line in sys.stdin:
    request = json.loads(line)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, request["stdout"], WRITE, 0o600),
        (os.POSIX_SPAWN_OPEN, 2, request["stderr"], WRITE, 0o600),
    ]
    started_at = time.monotonic()
    started = time.perf_counter()
    try:
        pid = os.posix_spawn(request["argv"][0], request["argv"], os.environ, file_actions=actions)
    except OSError as exc:
        reply = {"seconds": 0.0, "maxrss_kib": 0, "exit": 127, "error": str(exc), "spawner_peak_kib": peak_kib(),
                 "started": started_at}
    else:
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        reply = {"seconds": elapsed, "maxrss_kib": usage.ru_maxrss, "started": started_at,
                 "exit": os.waitstatus_to_exitcode(status), "spawner_peak_kib": peak_kib()}
    print(json.dumps(reply), flush=True)
"""


class Spawner:
    """Runs commands through the SPAWNER_SOURCE helper process and reads back their cost."""

    def __init__(self, env: dict[str, str], scratch: Path):
        self.scratch = scratch
        self.peak_kib = 0
        # -I -S keeps the helper itself small: no site-packages, no .pth imports.
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", SPAWNER_SOURCE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )

    def run(self, argv: list[str]) -> tuple[Sample, int, str, str]:
        """Run `argv` to completion: its wall time and peak RSS, exit code, stdout and stderr."""
        out, err = self.scratch / "stdout", self.scratch / "stderr"
        request = {"argv": argv, "stdout": str(out), "stderr": str(err)}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the spawner helper died (exit {self.proc.wait()})")
        reply = json.loads(line)
        self.peak_kib = max(self.peak_kib, reply["spawner_peak_kib"])
        sample = Sample(reply["seconds"], reply["maxrss_kib"], reply["started"])
        if "error" in reply:
            return sample, reply["exit"], "", f"cannot start {argv[0]}: {reply['error']}"
        return sample, reply["exit"], out.read_text(errors="replace"), err.read_text(errors="replace")

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def cafleet_script() -> Path:
    """The console script pip installed: a Python file with an absolute shebang.

    Not `shutil.which("cafleet")`, which may find a pyenv shim (a bash script that
    re-resolves the interpreter and would add its own startup cost to every call).
    """
    return Path(sysconfig.get_path("scripts")) / "cafleet"


def measure(
    spawner: Spawner,
    name: str,
    make_argv: Callable[[int], list[str]],
    runs: int,
    warmup: int,
    expect: str = "",
) -> Measurement:
    """Run `make_argv(i)` for i in range(warmup + runs); time all but the warm-up runs.

    Every run must exit 0 and print `expect`, so a benchmark of an error path can never
    pass for a fast command.
    """
    samples = []
    for i in range(warmup + runs):
        argv = make_argv(i)
        sample, code, out, err = spawner.run(argv)
        if code != 0 or expect not in out:
            detail = err.strip() or out.strip() or "no output"
            return Measurement(name, tuple(samples), f"run {i} exited {code}: {detail[:300]}")
        if i >= warmup:
            samples.append(sample)
    return Measurement(name, tuple(samples))


# --- the report -----------------------------------------------------------------------


def time_row(m: Measurement, baseline: Measurement | None, target: float | None = None, section: str = "time") -> Row:
    if not m.ok:
        return Row(section, m.name, None, "ms", target=target, ok=False if target else None, error=m.error)
    median = m.median_ms()
    overhead = median - baseline.median_ms() if baseline is not None and baseline.ok else None
    ok = median <= target if target is not None else None
    return Row(section, m.name, median, "ms", m.p90_ms(), overhead, target, ok)


def landing_row(m: Measurement, target_s: float | None = None) -> Row:
    """How long after a command started its previews landed, in seconds."""
    if not m.ok:
        return Row("panes", m.name, None, "s", target=target_s, ok=False if target_s else None, error=m.error)
    median = m.median_ms() / 1000
    ok = median <= target_s if target_s is not None else None
    return Row("panes", m.name, median, "s", m.p90_ms() / 1000, None, target_s, ok)


def ratio_row(metric: str, numerator: Measurement, denominator: Measurement) -> Row:
    if not (numerator.ok and denominator.ok):
        return Row("ratio", metric, None, "x", target=RATIO_TARGET, ok=False, error="a poll measurement failed")
    ratio = numerator.median_ms() / denominator.median_ms()
    return Row("ratio", metric, ratio, "x", target=RATIO_TARGET, ok=ratio <= RATIO_TARGET)


def rss_row(m: Measurement, target: float | None = None) -> Row:
    if not m.ok:
        return Row("memory", m.name, None, "MiB", target=target, ok=False if target else None, error=m.error)
    rss = m.max_rss_mib()
    return Row("memory", m.name, rss, "MiB", target=target, ok=rss <= target if target is not None else None)


SECTION_TITLES = {
    "time": "Wall time per process",
    "ratio": "Scaling",
    "panes": f"Live panes ({len(MEMBERS)} stand-in members)",
    "memory": "Peak memory (max RSS over the timed runs)",
}
TIMED_SECTIONS = ("time", "panes")  # shown with p90 and the cost over `python -c pass`


def render_table(rows: list[Row], header: str) -> str:
    def num(value: float | None, unit: str, signed: bool = False) -> str:
        if value is None:
            return "-"
        if unit == "x":
            return f"{value:.2f}x"
        if unit == "s":
            return f"{value:.2f} s"
        return f"{value:+.1f} {unit}" if signed else f"{value:.1f} {unit}"

    width = max(max(len(r.metric), len(SECTION_TITLES[r.section])) for r in rows) + 2
    lines = [header]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append("")
            timed = section in TIMED_SECTIONS
            lines.append(
                f"{SECTION_TITLES[section]:<{width}}{'median' if timed else 'value':>10}"
                + (f"{'p90':>10}{'vs python -c pass':>20}" if timed else " " * 30)
                + f"{'target':>12}  verdict"
            )
        verdict = {True: "ok", False: "MISSED", None: ""}[row.ok]
        if row.error:
            verdict = f"ERROR: {row.error}"
        target = f"<= {num(row.target, row.unit)}" if row.target is not None else ""
        middle = (
            f"{num(row.p90, row.unit):>10}{num(row.overhead_ms, 'ms', signed=True):>20}"
            if section in TIMED_SECTIONS
            else " " * 30
        )
        lines.append(f"{row.metric:<{width}}{num(row.value, row.unit):>10}{middle}{target:>12}  {verdict}".rstrip())
    return "\n".join(lines)


# --- the benchmark ----------------------------------------------------------------------


SECTION_ORDER = ("time", "ratio", "panes", "memory")


def run_benchmark(root: Path, runs: int, warmup: int, cache_bytecode: bool, panes: bool, rounds: int) -> tuple[list[Row], dict]:
    env = isolated_env(root, cache_bytecode)
    # The in-process broker calls get the same isolation, in case anything falls back to the default path.
    os.environ.update({k: env[k] for k in ("HOME", "XDG_DATA_HOME", "CAFLEET_DATABASE_URL")})
    scratch = root / "scratch"
    scratch.mkdir(mode=0o700)
    spawner = Spawner(env, scratch)
    try:
        rows, meta, python = measure_all(spawner, root / "cafleet.store.db", runs, warmup)
    finally:
        spawner.close()
    meta["bytecode"] = (
        "cached in a private PYTHONPYCACHEPREFIX"
        if cache_bytecode
        else ("as inherited (PYTHONDONTWRITEBYTECODE=" + str(env.get("PYTHONDONTWRITEBYTECODE")) + ")")
    )
    if panes:
        pane_rows, meta["panes"] = run_pane_benchmark(root / "panes", env, python, runs, warmup, rounds)
        rows = sorted(rows + pane_rows, key=lambda row: SECTION_ORDER.index(row.section))
    else:
        meta["panes"] = {"skipped": "--skip-panes was given"}
    return rows, meta


def measure_all(spawner: Spawner, db_path: Path, runs: int, warmup: int) -> tuple[list[Row], dict, Measurement]:
    # Other work on the machine inflates every number; the load average shows how much to trust them.
    load_before = os.getloadavg()[0]
    ids = bootstrap(db_path)

    script = str(cafleet_script())
    fleet = ["--fleet-id", str(ids.fleet), "message"]
    poll = [script, *fleet, "poll", "--agent-id", str(ids.alice)]

    def timed(name, make_argv, expect=""):
        return measure(spawner, name, make_argv, runs, warmup, expect)

    python = timed("python -c pass", lambda i: [sys.executable, "-c", "pass"])
    bare_python = timed("python -I -S -c pass", lambda i: [sys.executable, "-I", "-S", "-c", "pass"])
    poll_empty = timed("poll, empty inbox, empty db", lambda i: poll, expect="No unread messages.")
    send = timed(
        "send to a pane-less agent",
        lambda i: [script, *fleet, "send", "--agent-id", str(ids.alice), "--to", str(ids.bob), "--text", "hi"],
        expect="Sent task",
    )

    to_ack = add_unread(db_path, ids, warmup + runs, "please ack")
    ack = timed(
        "ack (a different task each run)",
        lambda i: [script, *fleet, "ack", "--agent-id", str(ids.alice), "--task-id", str(to_ack[i])],
        expect="Acked task",
    )

    insert_seconds = add_old_messages(db_path, ids, OLD_MESSAGES)
    poll_big = timed(f"poll, empty inbox, {OLD_MESSAGES:,} old msgs", lambda i: poll, expect="No unread messages.")
    # Not in the targets list, but the other way agents read history: a page of read messages.
    poll_all = timed(f"poll --all, {OLD_MESSAGES:,} old msgs", lambda i: [*poll, "--all"], expect="more; next page")

    add_unread(db_path, ids, UNREAD_FOR_FULL_PAGE, "a longer message body, " * 12)
    poll_page = timed(
        f"poll returning {PAGE_SIZE} of {UNREAD_FOR_FULL_PAGE} unread",
        lambda i: poll,
        expect=f"({UNREAD_FOR_FULL_PAGE - PAGE_SIZE} more unread",
    )

    rows = [
        time_row(python, None),
        time_row(bare_python, python),
        time_row(poll_empty, python, TIME_TARGET_MS),
        time_row(send, python, TIME_TARGET_MS),
        time_row(ack, python, TIME_TARGET_MS),
        time_row(poll_big, python, TIME_TARGET_MS),
        time_row(poll_page, python, TIME_TARGET_MS),
        time_row(poll_all, python, TIME_TARGET_MS),
        ratio_row(f"poll with {OLD_MESSAGES:,} old msgs / poll on empty db", poll_big, poll_empty),
        rss_row(python),
        rss_row(poll_empty, RSS_TARGET_MIB),
        rss_row(send, RSS_TARGET_MIB),
        rss_row(poll_page, RSS_TARGET_MIB),
    ]
    meta = {
        "python": sys.executable,
        "python_version": platform.python_version(),
        "cafleet_script": script,
        "runs": runs,
        "warmup": warmup,
        "old_messages": OLD_MESSAGES,
        "old_messages_insert_seconds": round(insert_seconds, 2),
        "database_mib": round(db_path.stat().st_size / 2**20, 1),
        "rss_floor_mib": round(spawner.peak_kib / 1024, 1),
        "cpus": os.cpu_count(),
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    return rows, meta, python


# --- pane delivery on a private tmux server -------------------------------------------


class PaneFleet(NamedTuple):
    """A fleet whose Director is the private server's first pane, with members in live panes."""

    script: str
    env: dict[str, str]
    fleet: int
    director: int
    members: dict[str, int]
    db_path: Path
    standins: StandIns

    def send_argv(self, to: int, text: str) -> list[str]:
        return [
            self.script,
            "--fleet-id",
            str(self.fleet),
            "message",
            "send",
            "--agent-id",
            str(self.director),
            "--to",
            str(to),
            "--text",
            text,
        ]

    def broadcast_argv(self, text: str) -> list[str]:
        return [
            self.script,
            "--fleet-id",
            str(self.fleet),
            "message",
            "broadcast",
            "--agent-id",
            str(self.director),
            "--text",
            text,
        ]


def run_pane_benchmark(
    root: Path, base_env: dict[str, str], baseline: Measurement, runs: int, warmup: int, rounds: int
) -> tuple[list[Row], dict]:
    """The pane rows and their notes; a clear note instead when tmux is missing.

    Never raises: a failure becomes an error row, after the rows measured before it.
    """
    version = tmux_version()
    if version is None:
        return [], {"skipped": "tmux is not installed: no `tmux` on PATH, so no member pane could be spawned"}
    root.mkdir(mode=0o700)  # cafleet refuses a database directory other users can read
    standins = StandIns(root)
    db_path = root / "cafleet.store.db"
    env = dict(base_env, CAFLEET_DATABASE_URL=f"sqlite:///{db_path}", PATH=f"{standins.bin}{os.pathsep}{base_env['PATH']}")
    (root / "scratch").mkdir()
    meta: dict = {"tmux": version, "members": len(MEMBERS), "broadcast_rounds": rounds}
    rows: list[Row] = []
    try:
        with private_tmux(env) as server:
            env.update(server.pane_env())  # every command runs as if typed in the Director's pane
            fleet = start_fleet(env, db_path, standins)
            spawner = Spawner(env, root / "scratch")
            try:
                rows += live_send_rows(spawner, fleet, baseline, runs, warmup, meta)
                rows += broadcast_rows(spawner, fleet, baseline, rounds, min(warmup, 1), meta)
                rows += send_during_broadcast_rows(spawner, fleet, baseline, rounds, min(warmup, 1), meta)
            finally:
                spawner.close()
    except Exception as exc:
        traceback.print_exc()
        rows.append(Row("panes", "pane benchmark", None, "ms", ok=False, error=f"stopped: {type(exc).__name__}: {exc}"))
    meta["load_average_after"] = round(os.getloadavg()[0], 2)
    return rows, meta


def cli(env: dict[str, str], *args: str) -> str:
    """Run the cafleet console script untimed (setup); its stdout, or an error with its stderr."""
    result = subprocess.run([str(cafleet_script()), *args], env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"cafleet {' '.join(args[:4])} exited {result.returncode}: {result.stderr.strip()[:300]}")
    return result.stdout


def start_fleet(env: dict[str, str], db_path: Path, standins: StandIns) -> PaneFleet:
    """`fleet create` in the server's first pane, then the members; returns once all are ready."""
    fleet_id, director_id = map(int, cli(env, "fleet", "create", "--label", "bench-panes").splitlines()[:2])
    members = {}
    for name in MEMBERS:
        members[name] = int(
            cli(
                env,
                "--fleet-id",
                str(fleet_id),
                "member",
                "create",
                "--agent-id",
                str(director_id),
                "--name",
                name,
                "--description",
                "stand-in for the benchmark",
                "--quiet",
            )
        )
    standins.wait_until_ready(list(MEMBERS), timeout=30)
    return PaneFleet(str(cafleet_script()), env, fleet_id, director_id, members, db_path, standins)


def run_checked(spawner: Spawner, argv: list[str], pattern: str) -> tuple[Sample, list[str]]:
    """Run a timed command that must exit 0; its sample and every match of `pattern` in its stdout."""
    sample, code, out, err = spawner.run(argv)
    found = re.findall(pattern, out)
    if code != 0 or not found:
        raise RuntimeError(f"{' '.join(argv[3:6])} exited {code}: {(err.strip() or out.strip() or 'no output')[:300]}")
    return sample, found


def send(spawner: Spawner, fleet: PaneFleet, to: int, text: str) -> tuple[Sample, int]:
    sample, (task_id,) = run_checked(spawner, fleet.send_argv(to, text), r"^Sent task (\d+) ")
    return sample, int(task_id)


def broadcast(spawner: Spawner, fleet: PaneFleet, text: str) -> tuple[Sample, list[int]]:
    """A broadcast from the Director, which must reach every member (and only them)."""
    sample, task_ids = run_checked(spawner, fleet.broadcast_argv(text), r"\(task (\d+)\)")
    if len(task_ids) != len(MEMBERS):
        raise RuntimeError(f"the broadcast went to {len(task_ids)} agents, not the {len(MEMBERS)} members")
    return sample, [int(t) for t in task_ids]


def landed_after(landing_time: float | None, sample: Sample) -> Sample | None:
    return None if landing_time is None else Sample(landing_time - sample.started, 0)


def landing_measurement(name: str, samples: list[Sample | None], outcomes: Counter) -> Measurement:
    """The landing times, or an error saying how many previews never landed."""
    missing = samples.count(None)
    error = None
    if missing or set(outcomes) - {"delivered"}:
        error = f"{missing} of {len(samples)} never landed; outcomes {dict(outcomes)}"
    return Measurement(name, tuple(s for s in samples if s is not None), error)


def watch(fleet: PaneFleet, task_ids: list[int], expected: list[tuple[str, str]]) -> Landing:
    return watch_landing(fleet.db_path, task_ids, fleet.standins, expected, LANDING_TIMEOUT_SECONDS)


def live_send_rows(spawner: Spawner, fleet: PaneFleet, baseline: Measurement, runs: int, warmup: int, meta: dict) -> list[Row]:
    """`message send` to the members in turn, interleaved with sends to an agent without a
    pane in the same fleet and database (the control: the difference is the cost of handing
    the preview to the courier). Each preview lands before the next send, so the courier
    never queues on a pane lock and every run times the same thing."""
    fleet_args = ("--fleet-id", str(fleet.fleet), "agent")
    control = int(cli(fleet.env, *fleet_args, "register", "--name", "paneless", "--description", "control"))
    returned: list[Sample] = []
    control_returned: list[Sample] = []
    landed: list[Sample | None] = []
    outcomes: Counter = Counter()
    for i in range(warmup + runs):
        member, marker = MEMBERS[i % len(MEMBERS)], f"bench send #{i}."
        sample, task_id = send(spawner, fleet, fleet.members[member], marker)
        landing = watch(fleet, [task_id], [(member, marker)])
        time.sleep(SEND_GAP_SECONDS)
        control_sample, _ = send(spawner, fleet, control, marker)
        if i >= warmup:
            returned.append(sample)
            control_returned.append(control_sample)
            landed.append(landed_after(landing.logged_at, sample))
            outcomes.update(landing.statuses.values())
    # Only the human (outside every agent's pane) may act as the pane-less agent.
    cli(
        {**fleet.env, "TMUX": "", "TMUX_PANE": ""}, *fleet_args, "deregister", "--agent-id", str(control)
    )  # broadcasts go to the members only
    meta["send_outcomes"] = dict(outcomes)
    send_m = Measurement("send to a member's live pane", tuple(returned))
    control_m = Measurement("send to a pane-less agent (control)", tuple(control_returned))
    return [
        time_row(send_m, baseline, SEND_TARGET_MS, section="panes"),
        time_row(control_m, baseline, SEND_TARGET_MS, section="panes"),
        landing_row(landing_measurement("send: its preview in the stand-in's log", landed, outcomes)),
        rss_row(send_m, RSS_TARGET_MIB),
    ]


def broadcast_rows(spawner: Spawner, fleet: PaneFleet, baseline: Measurement, rounds: int, warmup: int, meta: dict) -> list[Row]:
    """Broadcasts to every member; each round starts once the previous one's previews landed."""
    returned: list[Sample] = []
    logged: list[Sample | None] = []
    recorded: list[Sample | None] = []
    outcomes: Counter = Counter()
    for r in range(warmup + rounds):
        marker = f"bench broadcast #{r}."
        sample, task_ids = broadcast(spawner, fleet, marker)
        landing = watch(fleet, task_ids, [(member, marker) for member in MEMBERS])
        if r >= warmup:
            returned.append(sample)
            logged.append(landed_after(landing.logged_at, sample))
            recorded.append(landed_after(landing.recorded_at, sample))
            outcomes.update(landing.statuses.values())
        time.sleep(ROUND_GAP_SECONDS)
    meta["broadcast_outcomes"] = dict(outcomes)
    n = len(MEMBERS)
    broadcast_m = Measurement(f"broadcast to {n} live panes", tuple(returned))
    return [
        time_row(broadcast_m, baseline, BROADCAST_TARGET_MS, section="panes"),
        landing_row(landing_measurement(f"broadcast: all {n} in the stand-ins' logs", logged, outcomes), LANDED_TARGET_S),
        landing_row(landing_measurement(f"broadcast: all {n} notify_status=delivered", recorded, outcomes), LANDED_TARGET_S),
        rss_row(broadcast_m, RSS_TARGET_MIB),
    ]


def send_during_broadcast_rows(
    spawner: Spawner, fleet: PaneFleet, baseline: Measurement, rounds: int, warmup: int, meta: dict
) -> list[Row]:
    """A send issued as soon as a broadcast returned, to a member whose broadcast preview is
    still to be typed. Only rounds in which the courier had not yet recorded the broadcast's
    outcomes when the send returned count, so the send really overlapped the delivery."""
    returned: list[Sample] = []
    overlapped = 0
    outcomes: Counter = Counter()
    for r in range(warmup + rounds):
        member = MEMBERS[r % len(MEMBERS)]
        broadcast_marker, send_marker = f"bench overlap broadcast #{r}.", f"bench overlap send #{r}."
        _, task_ids = broadcast(spawner, fleet, broadcast_marker)
        sample, task_id = send(spawner, fleet, fleet.members[member], send_marker)
        in_flight = not all(settled(s) for s in notify_statuses(fleet.db_path, task_ids).values())
        expected = [(m, broadcast_marker) for m in MEMBERS] + [(member, send_marker)]
        landing = watch(fleet, [*task_ids, task_id], expected)
        if r >= warmup:
            outcomes.update(landing.statuses.values())
            if in_flight:
                overlapped += 1
                returned.append(sample)
        time.sleep(ROUND_GAP_SECONDS)
    meta["overlap_outcomes"] = dict(outcomes)
    meta["overlapped_rounds"] = f"{overlapped}/{rounds}"
    error = None if returned else "the broadcast had always finished before the send returned"
    return [
        time_row(
            Measurement("send while a broadcast is delivered", tuple(returned), error), baseline, SEND_TARGET_MS, section="panes"
        )
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them (default 3)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=BROADCAST_ROUNDS,
        help=f"broadcast rounds in the pane section, after one warm-up round (default {BROADCAST_ROUNDS})",
    )
    parser.add_argument("--skip-panes", action="store_true", help="skip the pane section (no tmux server is started)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--inherit-bytecode-env",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX as inherited instead of a private bytecode cache",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--runs and --rounds must be at least 1 and --warmup at least 0")
    return args


def pane_note(panes: dict) -> str:
    if "skipped" in panes:
        return f"Live panes: skipped ({panes['skipped']})."
    lines = [
        f"Live panes: {panes['tmux']} on a private socket, {panes['members']} stand-in claude members; "
        f"landing times from spawn, seen by polling every {POLL_SECONDS * 1000:g} ms; 1-min load average "
        f"{panes['load_average_after']} after.",
    ]
    outcomes = {
        "sends": panes.get("send_outcomes"),
        "broadcasts": panes.get("broadcast_outcomes"),
        "broadcast + send rounds": panes.get("overlap_outcomes"),
    }
    shown = [f"{what} {counts}" for what, counts in outcomes.items() if counts is not None]
    if shown:
        lines.append("Preview outcomes (timed runs): " + "; ".join(shown) + ".")
    if "overlapped_rounds" in panes:
        lines.append(
            f"The send was issued while the broadcast's previews were still being delivered in "
            f"{panes['overlapped_rounds']} rounds (only those are timed)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="cafleet-bench-"))
    try:
        rows, meta = run_benchmark(
            root,
            args.runs,
            args.warmup,
            cache_bytecode=not args.inherit_bytecode_env,
            panes=not args.skip_panes,
            rounds=args.rounds,
        )
    except Exception:
        # A report, not a gate: say what broke, but never fail the caller.
        traceback.print_exc()
        print("cli_bench: the benchmark could not complete (see above)", file=sys.stderr)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        results = [{k: round(v, 3) if isinstance(v, float) else v for k, v in r._asdict().items()} for r in rows]
        print(json.dumps({"meta": meta, "results": results}, indent=2))
    else:
        header = (
            f"cafleet CLI benchmark: {meta['runs']} timed runs after {meta['warmup']} warm-up, "
            f"Python {meta['python_version']}, {meta['old_messages']:,} old messages "
            f"(inserted in {meta['old_messages_insert_seconds']} s, db {meta['database_mib']} MiB)\n"
            f"bytecode {meta['bytecode']}; {meta['cpus']} CPUs, 1-min load average "
            f"{meta['load_average'][0]} before, {meta['load_average'][1]} after"
        )
        footer = (
            f"\nRSS values at or below {meta['rss_floor_mib']} MiB (the spawner helper's own peak) "
            "are floors, not measurements.\n" + pane_note(meta["panes"])
        )
        print(render_table(rows, header) + footer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
