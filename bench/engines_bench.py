"""SQLite and PostgreSQL side by side on this machine: what an agent pays per call, and how
many messages concurrent writers get through.

Measured on each engine, with a fresh fleet in a fresh database:
  * whole-process `message poll` (an empty inbox) and `message send` (to an agent without a
    pane), the median and p90 of N runs, timed by bench/cli_bench.py's spawner;
  * whole-process `message broadcast` to 20 agents;
  * W writer processes (default 16), each its own agent with one open connection, sending
    messages through the broker as fast as they can for S seconds (default 60): messages per
    second in total, and errors, which must be 0 (every writer queues on the write lock;
    none may fail with "locked" or a serialization error).

PostgreSQL is a throwaway cluster started like the tests' (tests/postgres_cluster.py: initdb
and pg_ctl on a private Unix socket, fsync and synchronous_commit off, as SQLite's WAL with
synchronous=normal does not sync each commit either), or --url names an existing empty
database to use instead. SQLite is a file in a temporary directory. HOME and XDG_DATA_HOME
point into that directory, so nothing touches ~/.local/share.

Usage: python bench/engines_bench.py [--runs N] [--warmup N] [--writers N] [--seconds S]
                                     [--url postgresql://…] [--json]
The exit status is 0 unless a writer failed: this is a report, not a timed test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import peewee  # noqa: F401  (first, with its drivers: this process opens both engines, see cafleet.store.orm)

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
from cli_bench import Measurement, Spawner, cafleet_script, isolated_env, measure  # noqa: E402

BROADCAST_RECIPIENTS = 20
START_DELAY_SECONDS = 5.0  # for every writer to import cafleet and connect before the clock starts

# One writer process: connect once, then send until the deadline; report counts as JSON.
WRITER_SOURCE = """
import json, sys, time
from cafleet.broker.messages import send_message
from cafleet.store.db import open_database

fleet_id, sender_id, to, start, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
open_database()
while time.time() < start:
    time.sleep(0.005)
sent, errors = 0, []
while time.time() < stop:
    try:
        send_message(fleet_id, sender_id, to, f"writer {sender_id} message {sent}")
        sent += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps({"sent": sent, "errors": len(errors), "first_errors": errors[:3]}))
"""


class Fleet(NamedTuple):
    fleet: int
    alice: int
    bob: int
    broadcaster: int


class Throughput(NamedTuple):
    messages: int
    seconds: float
    errors: int
    first_errors: list[str]

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


class EngineResult(NamedTuple):
    engine: str
    database: str
    floor: Measurement  # `python -c pass`: what the machine's load adds to every process
    poll: Measurement
    send: Measurement
    broadcast: Measurement
    writers: Throughput


# --- the databases --------------------------------------------------------------------


@contextmanager
def throwaway_postgres():
    """A URL of an empty database in a cluster started for this run, stopped afterwards."""
    from tests.postgres_cluster import Cluster

    cluster = Cluster()
    try:
        yield cluster.url(cluster.new_database())
    finally:
        cluster.stop()


def make_fleet() -> Fleet:
    """In this process, on the database CAFLEET_DATABASE_URL names: a fleet with the agents
    the commands need, none of them in a pane (so no notice is typed anywhere)."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.core.records import PaneLocation
    from cafleet.store.db import close_database, open_database

    open_database()
    try:
        pane = PaneLocation(
            tmux_socket="/nonexistent/cafleet-bench/default",
            tmux_server_pid=None,
            tmux_session="bench",
            tmux_window_id="@1",
            tmux_pane_id="%1",
        )
        fleet = create_fleet(pane, label="engines-bench").fleet.id
        alice = register_agent(fleet, "alice", "polls").id
        bob = register_agent(fleet, "bob", "sends").id
        broadcaster = register_agent(fleet, "crier", "broadcasts").id
        # Recipients of a broadcast: every active agent but the sender, the Director
        # included, the Administrator not. Director + alice + bob + listeners = 20.
        for n in range(BROADCAST_RECIPIENTS - 3):
            register_agent(fleet, f"listener-{n}", "hears broadcasts")
    finally:
        close_database()
    return Fleet(fleet, alice, bob, broadcaster)


def add_writers(fleet: Fleet, count: int) -> list[int]:
    """Agents for the writer processes, registered after the broadcasts were measured."""
    from cafleet.broker.agents import register_agent
    from cafleet.store.db import close_database, open_database

    open_database()
    try:
        return [register_agent(fleet.fleet, f"writer-{n}", "writes").id for n in range(count)]
    finally:
        close_database()


# --- the measurements -----------------------------------------------------------------


def cli_measurements(env: dict[str, str], root: Path, fleet: Fleet, runs: int, warmup: int):
    script = str(cafleet_script())
    base = [script, "--fleet-id", str(fleet.fleet), "message"]
    scratch = root / "scratch"
    scratch.mkdir(mode=0o700, exist_ok=True)
    spawner = Spawner(env, scratch)
    try:
        floor = measure(spawner, "python -c pass", lambda i: [sys.executable, "-c", "pass"], runs, warmup)
        poll = measure(spawner, "poll", lambda i: [*base, "poll", "--agent-id", str(fleet.alice)], runs, warmup)
        send = measure(
            spawner,
            "send",
            lambda i: [*base, "send", "--agent-id", str(fleet.bob), "--to", "alice", "--text", f"bench send {i}"],
            runs,
            warmup,
            expect="Sent task",
        )
        broadcast = measure(
            spawner,
            "broadcast",
            lambda i: [*base, "broadcast", "--agent-id", str(fleet.broadcaster), "--text", f"bench broadcast {i}"],
            runs,
            warmup,
            expect=f"to {BROADCAST_RECIPIENTS} ",
        )
    finally:
        spawner.close()
    return floor, poll, send, broadcast


def concurrent_writers(env: dict[str, str], fleet: Fleet, writers: list[int], seconds: float) -> Throughput:
    """Every writer sends to alice from its own process and connection for `seconds`."""
    start = time.time() + START_DELAY_SECONDS
    stop = start + seconds
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SOURCE, str(fleet.fleet), str(writer), "alice", str(start), str(stop)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for writer in writers
    ]
    sent, errors, first_errors = 0, 0, []
    for process in processes:
        out, err = process.communicate(timeout=seconds + START_DELAY_SECONDS + 120)
        try:
            report = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            errors += 1
            first_errors.append(f"writer exited {process.returncode}: {err.strip()[-300:]}")
            continue
        sent += report["sent"]
        errors += report["errors"]
        first_errors += report["first_errors"]
    return Throughput(sent, seconds, errors, first_errors[:5])


def run_engine(engine: str, url: str, root: Path, args: argparse.Namespace) -> EngineResult:
    env = isolated_env(root, cache_bytecode=True)
    env["CAFLEET_DATABASE_URL"] = url
    # The in-process setup gets the same isolation (a PostgreSQL server's local directory
    # would otherwise be made under the real ~/.local/share).
    os.environ.update({k: env[k] for k in ("HOME", "XDG_DATA_HOME", "CAFLEET_DATABASE_URL")})
    fleet = make_fleet()
    floor, poll, send, broadcast = cli_measurements(env, root, fleet, args.runs, args.warmup)
    writers = concurrent_writers(env, fleet, add_writers(fleet, args.writers), args.seconds)
    from cafleet.core.config import database_target, shown_target

    return EngineResult(engine, shown_target(database_target()), floor, poll, send, broadcast, writers)


# --- the report -----------------------------------------------------------------------


def cell(m: Measurement) -> str:
    if not m.ok:
        return f"ERROR: {m.error}"
    return f"{m.median_ms():7.1f} ms (p90 {m.p90_ms():6.1f})"


def render(results: list[EngineResult], args: argparse.Namespace) -> str:
    width = 38
    lines = [
        f"cafleet engines: {args.runs} timed runs after {args.warmup} warm-up; {args.writers} writers for "
        f"{args.seconds:g} s; {os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.2f} after",
        "",
        f"{'':<{width}}" + "".join(f"{r.engine:<30}" for r in results),
    ]
    rows = [
        ("python -c pass (the floor)", lambda r: cell(r.floor)),
        ("message poll (empty inbox)", lambda r: cell(r.poll)),
        ("message send (to a pane-less agent)", lambda r: cell(r.send)),
        (f"message broadcast to {BROADCAST_RECIPIENTS} agents", lambda r: cell(r.broadcast)),
        (f"{args.writers} concurrent writers", lambda r: f"{r.writers.per_second:7.1f} msg/s ({r.writers.messages} sent)"),
        ("writer errors (must be 0)", lambda r: f"{r.writers.errors}"),
    ]
    for title, value in rows:
        lines.append(f"{title:<{width}}" + "".join(f"{value(r):<30}" for r in results))
    for r in results:
        lines.append(f"\n{r.engine}: {r.database}")
        lines += [f"  writer error: {e}" for e in r.writers.first_errors]
    return "\n".join(lines)


def as_json(results: list[EngineResult]) -> str:
    def times(m: Measurement) -> dict:
        return {"median_ms": round(m.median_ms(), 2), "p90_ms": round(m.p90_ms(), 2)} if m.ok else {"error": m.error}

    return json.dumps(
        [
            {
                "engine": r.engine,
                "database": r.database,
                "floor": times(r.floor),
                "poll": times(r.poll),
                "send": times(r.send),
                "broadcast": times(r.broadcast),
                "writers": {**r.writers._asdict(), "per_second": round(r.writers.per_second, 1)},
            }
            for r in results
        ],
        indent=2,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them (default 3)")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writer processes (default 16)")
    parser.add_argument("--seconds", type=float, default=60, help="how long the writers write (default 60)")
    parser.add_argument("--url", help="an existing, empty PostgreSQL database instead of a throwaway cluster")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0 or args.writers < 1 or args.seconds <= 0:
        parser.error("--runs and --writers must be at least 1, --warmup at least 0, --seconds above 0")
    if args.url and not args.url.startswith(("postgresql://", "postgres://")):
        parser.error(f"--url {args.url!r} is not a PostgreSQL URL; use postgresql://user@host/database")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = []
    root = Path(tempfile.mkdtemp(prefix="cafleet-engines-"))
    try:
        (root / "sqlite").mkdir(mode=0o700)
        results.append(run_engine("sqlite", f"sqlite:///{root / 'sqlite' / 'cafleet.store.db'}", root / "sqlite", args))
        (root / "postgresql").mkdir(mode=0o700)
        if args.url:
            results.append(run_engine("postgresql", args.url, root / "postgresql", args))
        else:
            with throwaway_postgres() as url:
                results.append(run_engine("postgresql", url, root / "postgresql", args))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(as_json(results) if args.json else render(results, args))
    return 1 if any(r.writers.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
