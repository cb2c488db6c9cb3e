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
    helper process starts them).

Everything runs against a private temporary database, HOME and XDG_DATA_HOME, and with
no tmux environment, so the user's ~/.local/share and tmux server are never touched.
The fleet is bootstrapped in-process through the broker, so tmux is not needed.
Commands run with cached bytecode (a private PYTHONPYCACHEPREFIX), as an installed
cafleet does; --inherit-bytecode-env measures with the caller's settings instead.

Usage: python bench/cli_bench.py [--runs N] [--warmup N] [--json] [--inherit-bytecode-env]
The exit status is always 0: this is a report, and a missed target is shown in it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

TIME_TARGET_MS = 100.0
RSS_TARGET_MIB = 40.0
RATIO_TARGET = 1.15
OLD_MESSAGES = 200_000
PAGE_SIZE = 20
UNREAD_FOR_FULL_PAGE = PAGE_SIZE + 5
EXTRA_AGENTS = 6

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class FleetIds(NamedTuple):
    fleet: int
    director: int
    alice: int
    bob: int


class Sample(NamedTuple):
    seconds: float
    maxrss_kib: int


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
    home.mkdir()
    env["HOME"] = str(home)
    env["XDG_DATA_HOME"] = str(root / "xdg-data")
    env["CAFLEET_DATABASE_URL"] = f"sqlite:///{root / 'cafleet.db'}"
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
    from cafleet.db import open_database

    database = open_database(db_path)
    try:
        yield database
    finally:
        database.close()


def bootstrap(db_path: Path) -> FleetIds:
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.records import PaneLocation

    pane = PaneLocation(
        tmux_socket="/nonexistent/cafleet-bench/default", tmux_server_pid=None,
        tmux_session="bench", tmux_window_id="@1", tmux_pane_id="%1",
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
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
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
    started = time.perf_counter()
    try:
        pid = os.posix_spawn(request["argv"][0], request["argv"], os.environ, file_actions=actions)
    except OSError as exc:
        reply = {"seconds": 0.0, "maxrss_kib": 0, "exit": 127, "error": str(exc), "spawner_peak_kib": peak_kib()}
    else:
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        reply = {"seconds": elapsed, "maxrss_kib": usage.ru_maxrss,
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
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True,
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
        sample = Sample(reply["seconds"], reply["maxrss_kib"])
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


def time_row(m: Measurement, baseline: Measurement | None, target: float | None = None) -> Row:
    if not m.ok:
        return Row("time", m.name, None, "ms", target=target, ok=False if target else None, error=m.error)
    median = m.median_ms()
    overhead = median - baseline.median_ms() if baseline is not None and baseline.ok else None
    ok = median <= target if target is not None else None
    return Row("time", m.name, median, "ms", m.p90_ms(), overhead, target, ok)


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
    "memory": "Peak memory (max RSS over the timed runs)",
}


def render_table(rows: list[Row], header: str) -> str:
    def num(value: float | None, unit: str, signed: bool = False) -> str:
        if value is None:
            return "-"
        if unit == "x":
            return f"{value:.2f}x"
        return f"{value:+.1f} {unit}" if signed else f"{value:.1f} {unit}"

    width = max(len(r.metric) for r in rows) + 2
    lines = [header]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            lines.append("")
            lines.append(
                f"{SECTION_TITLES[section]:<{width}}{'median' if section == 'time' else 'value':>10}"
                + (f"{'p90':>10}{'vs python -c pass':>20}" if section == "time" else " " * 30)
                + f"{'target':>12}  verdict"
            )
        verdict = {True: "ok", False: "MISSED", None: ""}[row.ok]
        if row.error:
            verdict = f"ERROR: {row.error}"
        target = f"<= {num(row.target, row.unit)}" if row.target is not None else ""
        middle = (
            f"{num(row.p90, row.unit):>10}{num(row.overhead_ms, 'ms', signed=True):>20}"
            if section == "time" else " " * 30
        )
        lines.append(f"{row.metric:<{width}}{num(row.value, row.unit):>10}{middle}{target:>12}  {verdict}".rstrip())
    return "\n".join(lines)


# --- the benchmark ----------------------------------------------------------------------


def run_benchmark(root: Path, runs: int, warmup: int, cache_bytecode: bool) -> tuple[list[Row], dict]:
    env = isolated_env(root, cache_bytecode)
    # The in-process broker calls get the same isolation, in case anything falls back to the default path.
    os.environ.update({k: env[k] for k in ("HOME", "XDG_DATA_HOME", "CAFLEET_DATABASE_URL")})
    scratch = root / "scratch"
    scratch.mkdir()
    spawner = Spawner(env, scratch)
    try:
        rows, meta = measure_all(spawner, root / "cafleet.db", runs, warmup)
    finally:
        spawner.close()
    meta["bytecode"] = "cached in a private PYTHONPYCACHEPREFIX" if cache_bytecode else (
        "as inherited (PYTHONDONTWRITEBYTECODE=" + str(env.get("PYTHONDONTWRITEBYTECODE")) + ")"
    )
    return rows, meta


def measure_all(spawner: Spawner, db_path: Path, runs: int, warmup: int) -> tuple[list[Row], dict]:
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
        lambda i: poll, expect=f"({UNREAD_FOR_FULL_PAGE - PAGE_SIZE} more unread",
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
    return rows, meta


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them (default 3)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--inherit-bytecode-env", action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE/PYTHONPYCACHEPREFIX as inherited instead of a private bytecode cache",
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="cafleet-bench-"))
    try:
        rows, meta = run_benchmark(root, args.runs, args.warmup, cache_bytecode=not args.inherit_bytecode_env)
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
            "are floors, not measurements."
        )
        print(render_table(rows, header) + footer)
    return 0


if __name__ == "__main__":
    sys.exit(main())
