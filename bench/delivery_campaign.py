"""Exactly-once delivery under load and courier kills, and the courier's memory and open files
over a long run.

A private tmux server holds a Director pane and N members running the stand-in agent (behind
fake `claude` executables). Every 1.5 s the Director broadcasts, and two members write to each
other; with --kill-probability P, after a round the courier is killed with probability P, at
a random moment inside the deliveries (SIGKILL, or SIGTERM for a share of them). At the end
every notice typed into every pane is counted by its header: typed once, typed twice, lost,
stray, and panes left holding cafleet's own text (wedged).

While it runs, the courier's RSS and open file descriptors are sampled every --sample
seconds (per courier process: a kill starts a new one).

Nothing touches the user's tmux server or home: `tmux -L <unique> -f /dev/null`, HOME,
XDG_DATA_HOME and the database in a temporary directory, removed on the way out.

Usage: python bench/delivery_campaign.py [--seconds 600] [--members 6] [--kill-probability 0.5]
       [--seed 1] [--sample 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.delivery_campaign import HEADER, Campaign, cli_runner  # noqa: E402
from tests.panes_support import inputs, make_fake_agents  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--kill-probability", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=float, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cafleet-campaign-") as root:
        report = run(Path(root), args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0 if report["exactly_once"] else 1


def run(root: Path, args) -> dict:
    env = dict(os.environ)
    env.update(
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "data"),
        CAFLEET_DATABASE_URL=str(root / "data" / "cafleet.store.db"),
        TMUX_TMPDIR=str(root),
    )
    for key in ("TMUX", "TMUX_PANE", "CAFLEET_HOST_ID"):
        env.pop(key, None)
    (root / "home").mkdir()
    agents = make_fake_agents(root)
    env["PATH"] = f"{agents.bin}{os.pathsep}{env['PATH']}"
    os.environ.update(env)  # the counting below reads the same database
    name = f"cafleet-campaign-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", name, "-f", "/dev/null"]
    subprocess.run([*tmux, "new-session", "-d", "-s", "main", "-x", "200", "-y", "60"], check=True, env=env)
    try:
        socket, pid, pane = (
            subprocess.run(
                [*tmux, "display-message", "-p", "-t", "main", "#{socket_path}\t#{pid}\t#{pane_id}"],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            .stdout.strip()
            .split("\t")
        )
        director_env = {**env, "TMUX": f"{socket},{pid},0", "TMUX_PANE": pane}
        command = [shutil.which("cafleet") or "cafleet"]
        created = subprocess.run(
            [*command, "fleet", "create", "--label", "campaign"], capture_output=True, text=True, env=director_env, check=True
        )
        fleet_id, director_id = map(int, created.stdout.splitlines()[:2])
        send = cli_runner(command, fleet_id, director_env)
        members = {}
        for n in range(args.members):
            member = f"m{n + 1}"
            members[member] = int(
                send(
                    [
                        "member",
                        "create",
                        "--agent-id",
                        str(director_id),
                        "--name",
                        member,
                        "--description",
                        "campaign member",
                        "--quiet",
                    ],
                    True,
                )
            )
        for member in members:
            wait(lambda m=member: any(e["event"] == "ready" for e in agents.log_of(m)), 60, f"{member} to be ready")
        panes = placements(members)
        campaign = Campaign(
            send=send,
            member_inputs=lambda m: inputs(agents.log_of(m)),
            courier_pids=lambda: couriers(env["CAFLEET_DATABASE_URL"]),
            member_boxes=lambda: {m: box(tmux, p) for m, p in panes.items()},
            director_id=director_id,
            members=members,
            seed=args.seed,
            kill_probability=args.kill_probability,
        )
        samples: dict[int, list[tuple[float, int, int]]] = {}
        stop = threading.Event()
        sampler = threading.Thread(target=sample_couriers, args=(campaign, samples, args.sample, stop), daemon=True)
        started = time.monotonic()
        sampler.start()
        result = campaign.run(args.seconds)
        wait(lambda: all(settled(status) for _, status in notices(fleet_id).values()), 120, "every notice to settle")
        stop.set()
        final = notices(fleet_id)
        wait(lambda: sum(len(typed(agents, m)) for m in members) >= len(final) - undelivered(final), 30, "the logs")
        result = campaign.count(result, final)
        elapsed = time.monotonic() - started
        return {
            "seconds": round(elapsed, 1),
            "members": args.members,
            "notices": result.sent,
            "typed_once": result.typed_once,
            "typed_twice": result.typed_twice,
            "lost": result.lost,
            "stray": result.stray,
            "wedged_panes": len(result.wedged),
            "courier_kills": dict(result.kills),
            "outcomes": dict(result.outcomes),
            "exactly_once": result.exactly_once,
            "courier_samples": {
                str(pid): {
                    "seconds": round(rows[-1][0] - rows[0][0], 1),
                    "rss_mb_first_last_max": [
                        round(rows[0][1] / 1024, 1),
                        round(rows[-1][1] / 1024, 1),
                        round(max(r[1] for r in rows) / 1024, 1),
                    ],
                    "open_files_first_last_max": [rows[0][2], rows[-1][2], max(r[2] for r in rows)],
                }
                for pid, rows in samples.items()
                if rows
            },
        }
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        for pid in couriers(env["CAFLEET_DATABASE_URL"]):
            os.kill(pid, 15)


def typed(agents, member: str) -> list[int]:
    return [int(m.group(1)) for t in inputs(agents.log_of(member)) for m in [HEADER.match(t)] if m]


def settled(status: str) -> bool:
    return status not in ("pending", "claimed") and not status.startswith("deferred:")


def undelivered(final: dict) -> int:
    return sum(1 for _, status in final.values() if status != "delivered")


def notices(fleet_id: int) -> dict[int, tuple[int, str]]:
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    open_database()
    query = Task.select(Task.id, Task.recipient, Task.notify_status).where(
        (Task.fleet == fleet_id)
        & Task.recipient.is_null(False)
        & Task.notify_status.not_in(["skipped:self", "skipped:no-placement"])
    )
    return {row.id: (row.recipient_id, row.notify_status) for row in query}


def placements(members: dict[str, int]) -> dict[str, str]:
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    return {m: Placement.get_by_id(agent_id).tmux_pane_id for m, agent_id in members.items()}


def box(tmux: list[str], pane: str) -> str:
    screen = subprocess.run([*tmux, "capture-pane", "-p", "-t", pane], capture_output=True, text=True).stdout.splitlines()
    lines = [line for line in screen if line.startswith(">")]
    return lines[-1][1:].strip() if lines else ""


def couriers(database: str) -> list[int]:
    marker = f"CAFLEET_DATABASE_URL={database}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"cafleet.panes.courier" in (proc / "cmdline").read_bytes() and marker in (
                    proc / "environ"
                ).read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


def sample_couriers(campaign: Campaign, samples: dict, every: float, stop: threading.Event) -> None:
    while not stop.wait(every):
        for pid in campaign.courier_pids():
            try:
                rss = next(
                    int(line.split()[1])
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS:")
                )
                files = len(os.listdir(f"/proc/{pid}/fd"))
            except (OSError, StopIteration):
                continue
            samples.setdefault(pid, []).append((time.monotonic(), rss, files))


def wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


if __name__ == "__main__":
    sys.exit(main())
