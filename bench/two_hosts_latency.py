"""Notice latency across two hosts on PostgreSQL, beside one host on SQLite.

What is timed, for each of N messages sent one after another: from just before
`cafleet message send` starts on host A (the Director, in its pane) until the stand-in agent
in the recipient's pane logged the notice as an input, typed there by the courier of the
recipient's host. Also reported: the send command's own duration, and `notified_at -
created_at` as `cafleet --json message show` records them (the broker's own view).

  * postgresql: two hosts, as tests/test_two_hosts_tmux.py stages them: two private tmux
    servers standing for host-a and host-b (CAFLEET_HOST_ID), each with its own HOME, one
    PostgreSQL database. The recipient registers from B's pane; B's courier types the notice
    (it learns of the message by LISTEN/NOTIFY).
  * sqlite: one host (host-a), the recipient in a second private tmux server on the same
    machine; host A's courier types the notice (it polls PRAGMA data_version).

PostgreSQL is a throwaway cluster as in bench/engines_bench.py (initdb + pg_ctl on a private
Unix socket, as `nobody` when root), or --url names an existing empty database. Nothing
touches the user's tmux server or home: `tmux -L <unique> -f /dev/null` servers, HOME,
XDG_DATA_HOME and TMUX_TMPDIR in a temporary directory; all of it, the couriers and the
cluster go on the way out, Ctrl-C included.

The landing time is the stand-in log's modification time once the notice's line is in it
(the log is polled every few milliseconds; file times follow the kernel's coarse clock, a
few milliseconds at worst).

Usage: python bench/two_hosts_latency.py [--messages N] [--url postgresql://…] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent)]
from cli_bench import cafleet_script, isolated_env  # noqa: E402
from engines_bench import throwaway_postgres  # noqa: E402

HOST_VARIABLE = "CAFLEET_HOST_ID"
LOG_POLL_SECONDS = 0.003
LANDING_TIMEOUT = 30.0
OUTSIDE_PANES = {"TMUX": "", "TMUX_PANE": ""}


class Host(NamedTuple):
    """One pane on one host: a private tmux server whose first pane runs a stand-in agent."""

    id: str
    env: dict[str, str]  # a process on this host outside every pane
    socket_path: str
    server_pid: int
    pane_id: str
    log: Path

    @property
    def pane_env(self) -> dict[str, str]:
        return {**self.env, "TMUX": f"{self.socket_path},{self.server_pid},0", "TMUX_PANE": self.pane_id}

    @property
    def shell_env(self) -> dict[str, str]:
        return {**self.env, **OUTSIDE_PANES}

    def events(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


class Stage(NamedTuple):
    a: Host
    b: Host
    fleet_id: int
    director_id: int
    bee_id: int


class Sample(NamedTuple):
    send_seconds: float  # the `message send` process, start to exit
    landed_seconds: float  # send start -> the input in the recipient's stand-in log
    recorded_seconds: float | None  # notified_at - created_at, from `message show`


class Result(NamedTuple):
    engine: str
    layout: str
    samples: list[Sample]


# --- the stage ------------------------------------------------------------------------


def host_env(root: Path, host_id: str, url: str) -> dict[str, str]:
    root.mkdir(mode=0o700)
    env = isolated_env(root, cache_bytecode=True)
    env.update({"CAFLEET_DATABASE_URL": url, HOST_VARIABLE: host_id})
    return env


@contextmanager
def tmux_host(host_id: str, env: dict[str, str], name: str, root: Path) -> Iterator[Host]:
    """A tmux server of its own, its first pane running the stand-in `name`, killed afterwards."""
    log = root / f"{name}.jsonl"
    base = ["tmux", "-L", f"cafleet-bench-{uuid.uuid4().hex[:10]}", "-f", "/dev/null"]
    agent = f"exec {sys.executable} -m cafleet.demo.standin_agent --name {name} --log {log}"
    try:
        subprocess.run(
            [*base, "new-session", "-d", "-s", "main", "-x", "160", "-y", "48", agent],
            env=env,
            check=True,
            capture_output=True,
            timeout=10,
        )
        info = subprocess.run(
            [*base, "display-message", "-p", "-t", "main", "#{socket_path}\t#{pid}\t#{pane_id}"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        socket_path, pid, pane_id = info.strip().split("\t")
        host = Host(host_id, env, socket_path, int(pid), pane_id, log)
        wait_for(lambda: any(e["event"] == "ready" for e in host.events()), f"the stand-in {name} on {host_id}")
        yield host
    finally:
        subprocess.run([*base, "kill-server"], env=env, capture_output=True, timeout=10)


def cafleet(env: dict[str, str], *args: object) -> str:
    result = subprocess.run([str(cafleet_script()), *map(str, args)], env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"cafleet {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def build_stage(a: Host, b: Host) -> Stage:
    """The Director creates the fleet from A's pane; the recipient registers from B's pane."""
    fleet = json.loads(cafleet(a.pane_env, "--json", "fleet", "create", "--label", "latency-bench"))
    fleet_id, director_id = fleet["fleet_id"], fleet["director"]["agent_id"]
    bee_id = int(
        cafleet(
            b.pane_env,
            "--fleet-id",
            fleet_id,
            "agent",
            "register",
            "--name",
            "bee",
            "--description",
            "receives the probes",
            "--quiet",
        )
    )
    return Stage(a, b, fleet_id, director_id, bee_id)


@contextmanager
def staged(engine: str, url: str, root: Path) -> Iterator[Stage]:
    """PostgreSQL: host-a and host-b, each with its own HOME. SQLite: both panes on host-a."""
    a_env = host_env(root / "host-a", "host-a", url)
    b_env = host_env(root / "host-b", "host-b", url) if engine == "postgresql" else a_env
    with ExitStack() as stack:
        stack.callback(stop_couriers, root)  # registered first, so it runs after the servers went
        a = stack.enter_context(tmux_host("host-a", a_env, "director", root))
        b = stack.enter_context(tmux_host(b_env[HOST_VARIABLE], b_env, "bee", root))
        yield build_stage(a, b)


# --- the couriers ---------------------------------------------------------------------


def couriers_under(root: Path) -> list[int]:
    """Couriers started for this run: their HOME is inside `root`, which no one else uses."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"cafleet.panes.courier" in cmdline and any(v.startswith(f"HOME={root}/".encode()) for v in environ):
            pids.append(int(proc.name))
    return pids


def stop_couriers(root: Path) -> None:
    pids = couriers_under(root)
    for pid in pids:
        signal_quietly(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while couriers_under(root) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in couriers_under(root):
        signal_quietly(pid, signal.SIGKILL)


def signal_quietly(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


# --- the measurements -----------------------------------------------------------------


def wait_for(check, what: str, timeout: float = LANDING_TIMEOUT, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what} after {timeout:g} s")
        time.sleep(interval)


def landed_at(host: Host, marker: str) -> float:
    """The wall-clock time the stand-in logged an input holding `marker`."""
    wait_for(
        lambda: any(e["event"] == "input" and marker in e["text"] for e in host.events()),
        f"{marker!r} in {host.id}'s pane",
        interval=LOG_POLL_SECONDS,
    )
    # Nothing else is typed into the pane meanwhile, so the log's last write is this input.
    return host.log.stat().st_mtime_ns / 1e9


def send(stage: Stage, text: str) -> int:
    return int(
        cafleet(
            stage.a.pane_env,
            "--fleet-id",
            stage.fleet_id,
            "message",
            "send",
            "--agent-id",
            stage.director_id,
            "--to",
            "bee",
            "--text",
            text,
            "--quiet",
        )
    )


def recorded_seconds(stage: Stage, task_id: int) -> float | None:
    """`notified_at - created_at` once the courier recorded the outcome (`--full` shows
    notified_at); None if this cafleet does not show the fields."""

    def shown() -> dict:
        task = json.loads(
            cafleet(
                stage.a.pane_env,
                "--fleet-id",
                stage.fleet_id,
                "--json",
                "message",
                "show",
                "--agent-id",
                stage.director_id,
                "--task-id",
                task_id,
                "--full",
            )
        )
        return task if task.get("notified_at") or "notified_at" not in task else {}

    task = wait_for(shown, f"task {task_id}'s notified_at")
    if not {"notified_at", "created_at"} <= task.keys():
        return None
    return (stamp(task["notified_at"]) - stamp(task["created_at"])).total_seconds()


def stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def probe(stage: Stage, marker: str) -> Sample:
    t0 = time.time()
    task_id = send(stage, marker)
    sent = time.time()
    t1 = landed_at(stage.b, marker)
    return Sample(sent - t0, t1 - t0, recorded_seconds(stage, task_id))


def warm_up(stage: Stage) -> None:
    """One notice, not counted: any cafleet command on the recipient's host that keeps notices
    moving starts its courier (on SQLite the send already did), as an agent's own poll would."""
    send(stage, "warm-up probe")
    cafleet(stage.b.pane_env, "--fleet-id", stage.fleet_id, "message", "poll", "--agent-id", stage.bee_id)
    landed_at(stage.b, "warm-up probe")


def run_engine(engine: str, url: str, root: Path, messages: int) -> Result:
    root.mkdir(mode=0o700)
    with staged(engine, url, root) as stage:
        warm_up(stage)
        samples = [probe(stage, f"latency probe {i:04d}") for i in range(messages)]
    layout = "host-a -> host-b" if engine == "postgresql" else "host-a -> host-a"
    return Result(engine, layout, samples)


# --- the report -----------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(p90 * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def summaries(result: Result) -> dict[str, dict | None]:
    return {
        "send_to_landed": summary([s.landed_seconds for s in result.samples]),
        "send_command": summary([s.send_seconds for s in result.samples]),
        "created_to_notified": summary([s.recorded_seconds for s in result.samples if s.recorded_seconds is not None]),
    }


def cell(stats: dict | None) -> str:
    if stats is None:
        return "n/a"
    return f"{stats['median_ms']:7.1f} / {stats['p90_ms']:7.1f} / {stats['max_ms']:7.1f}"


def render(results: list[Result], messages: int) -> str:
    width, column = 40, 32
    lines = [
        f"cafleet notice latency: {messages} messages each, one after another; {os.cpu_count()} CPUs, "
        f"1-min load average {os.getloadavg()[0]:.2f} after",
        "",
        f"{'ms: median / p90 / max':<{width}}" + "".join(f"{r.engine + ' (' + r.layout + ')':<{column}}" for r in results),
    ]
    rows = [
        ("send -> typed into recipient's pane", "send_to_landed"),
        ("`message send` command itself", "send_command"),
        ("notified_at - created_at (recorded)", "created_to_notified"),
    ]
    for title, key in rows:
        lines.append(f"{title:<{width}}" + "".join(f"{cell(summaries(r)[key]):<{column}}" for r in results))
    return "\n".join(lines)


def as_json(results: list[Result]) -> str:
    return json.dumps(
        [
            {
                "engine": r.engine,
                "layout": r.layout,
                **summaries(r),
                "samples": [s._asdict() for s in r.samples],
            }
            for r in results
        ],
        indent=2,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=30, help="messages timed per engine (default 30)")
    parser.add_argument("--url", help="an existing, empty PostgreSQL database instead of a throwaway cluster")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.messages < 1:
        parser.error("--messages must be at least 1")
    if args.url and not args.url.startswith(("postgresql://", "postgres://")):
        parser.error(f"--url {args.url!r} is not a PostgreSQL URL; use postgresql://user@host/database")
    if shutil.which("tmux") is None:
        parser.error("tmux is required; install it (apt-get install -y tmux)")
    return args


def raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # so a SIGTERM cleans up exactly as Ctrl-C does


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, raise_interrupt)
    root = Path(tempfile.mkdtemp(prefix="cafleet-latency-"))
    results = []
    try:
        results.append(
            run_engine("sqlite", f"sqlite:///{root / 'sqlite' / 'host-a' / 'cafleet.store.db'}", root / "sqlite", args.messages)
        )
        if args.url:
            results.append(run_engine("postgresql", args.url, root / "postgresql", args.messages))
        else:
            with throwaway_postgres() as url:
                results.append(run_engine("postgresql", url, root / "postgresql", args.messages))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(as_json(results) if args.json else render(results, args.messages))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)  # everything was cleaned up on the way out; no traceback
