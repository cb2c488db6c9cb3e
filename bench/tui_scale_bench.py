"""TUI at scale: a fleet of 100,000 agents, and a timeline of 500 messages of 1 MiB each.

Each scenario builds a private temp database, then runs the fleet view headless (120×40) in a
fresh process, so its memory and CPU are the app's own:

- `agents`: 100,000 agents (1,000 of them members placed in panes of a tmux server that is not
  running, with monitor schedules). Measures start to a drawn fleet view (wall and CPU
  seconds), RSS once drawn, then CPU use while another process sends one message every 5 s
  (each must show up in the timeline), and RSS after that.
- `big-messages`: 450 messages of 1 MiB stored before the view opens and 50 more sent live by
  other processes (one in ten to the Administrator, so the inbox holds big ones too). Measures
  RSS once drawn and after the live sends, then opens the newest message and checks that its
  whole text is shown.

    python bench/tui_scale_bench.py agents [--agents 100000] [--idle-seconds 30]
    python bench/tui_scale_bench.py big-messages [--messages 500] [--size 1048576]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZE = (120, 40)
SEND_EVERY_SECONDS = 5.0
MEMBERS = 1000
STAMP = "2026-11-20T09:00:00.000000Z"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# -- building the databases (in the parent process) ---------------------------------------------


def build_agents(count: int) -> dict:
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.core.records import PaneLocation
    from cafleet.store.models import Agent, MonitorConfig, Placement, database

    created = create_fleet(PaneLocation("/nonexistent/tmux", None, "main", "@1", "%1"), label="scale")
    fleet_id = created.fleet.id
    alice = register_agent(fleet_id, "alice", "sender").id
    register_agent(fleet_id, "bob", "receiver")
    rows = [
        dict(
            fleet=fleet_id,
            name=f"agent-{i:06d}",
            description="one of many",
            kind="member" if i < MEMBERS else "agent",
            status="active",
            registered_at=STAMP,
        )
        for i in range(count - 4)  # the Director, the Administrator, alice and bob make up the rest
    ]
    with database.atomic():
        for start in range(0, len(rows), 5000):
            Agent.insert_many(rows[start : start + 5000]).execute()
        members = [a.id for a in Agent.select(Agent.id).where((Agent.fleet == fleet_id) & (Agent.kind == "member"))]
        Placement.insert_many(
            [
                dict(
                    agent=m,
                    director=created.director.id,
                    tmux_socket="/nonexistent/tmux",
                    tmux_server_pid=None,
                    tmux_session="main",
                    tmux_window_id="@1",
                    tmux_pane_id=f"%{m}",
                    coding_agent="claude",
                    created_at=STAMP,
                )
                for m in members
            ]
        ).execute()
        MonitorConfig.insert_many([dict(agent=m, interval_seconds=300, enabled=True) for m in members]).execute()
    return {"fleet_id": fleet_id, "alice": alice, "to": "bob"}


def build_big_messages(stored: int, size: int) -> dict:
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.core.records import PaneLocation
    from cafleet.store.models import Task, database

    created = create_fleet(PaneLocation("/nonexistent/tmux", None, "main", "@1", "%1"), label="big")
    fleet_id = created.fleet.id
    alice = register_agent(fleet_id, "alice", "sender").id
    bob = register_agent(fleet_id, "bob", "receiver").id
    with database.atomic():
        for i in range(stored):
            to = created.administrator.id if i % 10 == 0 else bob
            Task.insert(
                fleet=fleet_id,
                owner=to,
                sender=alice,
                recipient=to,
                kind="unicast",
                state="input_required",
                created_at=STAMP,
                state_changed_at=STAMP,
                text=big_text(i, size),
            ).execute()
    return {"fleet_id": fleet_id, "alice": alice, "administrator": created.administrator.id}


def big_text(i: int, size: int) -> str:
    line = f"message {i}: " + "lorem ipsum dolor sit amet " * 3 + "\n"
    return (line * (size // len(line) + 1))[:size]


# -- measuring (in a fresh process) ---------------------------------------------------------------


def send_from_another_process(fleet_id: int, sender: int, to: str, text_expr: str) -> int:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "from cafleet.store.db import open_database; open_database()\n"
                "from cafleet.broker.messages import send_message\n"
                f"print(send_message({fleet_id}, {sender}, {to!r}, {text_expr}).id)"
            ),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


async def drawn_fleet_view(pilot):
    app = pilot.app
    while True:
        await pilot.pause(0.01)
        screen = app.screen
        if screen.__class__.__name__ == "FleetViewScreen" and getattr(screen, "loaded", False):
            roster = screen.query_one("#roster")
            if roster.option_count:
                await pilot.pause()
                return screen


async def run_agents(setup: dict, idle_seconds: float) -> dict:
    cpu0, started = cpu_seconds(), time.perf_counter()
    from cafleet.screens.app import build_app

    app = build_app(setup["fleet_id"], watch_changes=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drawn_fleet_view(pilot)
        result = {
            "open_seconds": time.perf_counter() - started,
            "open_cpu_seconds": cpu_seconds() - cpu0,
            "roster_entries": screen.query_one("#roster").option_count,
            "rss_drawn_mib": rss_mib(),
        }
        await pilot.pause(1.0)  # let the first refresh after the load settle
        timeline = screen.query_one("#timeline")
        cpu1, wall1 = cpu_seconds(), time.perf_counter()
        sent, lags = 0, []
        while time.perf_counter() - wall1 < idle_seconds:
            due = wall1 + sent * SEND_EVERY_SECONDS
            while time.perf_counter() < due:
                await pilot.pause(0.1)
            committed = time.perf_counter()
            # The send runs in another process; its own CPU is not the app's.
            task_id = await asyncio.to_thread(
                send_from_another_process, setup["fleet_id"], setup["alice"], setup["to"], f"'live {sent}'"
            )
            while task_id not in timeline.tasks:
                await pilot.pause(0.05)
            lags.append(time.perf_counter() - committed)
            sent += 1
        wall = time.perf_counter() - wall1
        result.update(
            idle_cpu_percent=100 * (cpu_seconds() - cpu1) / wall,
            idle_wall_seconds=wall,
            sent=sent,
            max_lag_seconds=max(lags),
            rss_after_mib=rss_mib(),
            peak_mib=peak_mib(),
        )
    return result


async def run_big_messages(setup: dict, live: int, size: int) -> dict:
    from cafleet.screens.app import build_app

    app = build_app(setup["fleet_id"], watch_changes=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await drawn_fleet_view(pilot)
        timeline = screen.query_one("#timeline")
        while not timeline.tasks:
            await pilot.pause(0.05)
        result = {"entries_drawn": len(timeline.tasks), "rss_drawn_mib": rss_mib()}
        for i in range(live):
            to = "Administrator" if i % 10 == 0 else "bob"
            task_id = await asyncio.to_thread(
                send_from_another_process,
                setup["fleet_id"],
                setup["alice"],
                to,
                f"__import__('tui_scale_bench').big_text({10_000 + i}, {size})",
            )
            while task_id not in timeline.tasks:
                await pilot.pause(0.05)
        await pilot.pause(1.0)
        result.update(entries_after=len(timeline.tasks), rss_after_live_mib=rss_mib())
        timeline.focus()
        timeline.highlighted = timeline.option_count - 1
        opened = time.perf_counter()
        await pilot.press("enter")
        from textual.widgets import Static

        expected = len(big_text(10_000 + live - 1, size))
        shown = 0
        for _ in range(400):
            await pilot.pause(0.05)
            try:
                shown = len(str(app.screen.query_one("#message-text", Static).content))
            except Exception:  # the modal is not up yet
                continue
            if shown >= expected:
                break
        result.update(
            modal_text_chars=shown,
            modal_expected_chars=expected,
            modal_seconds=time.perf_counter() - opened,
            rss_modal_mib=rss_mib(),
            peak_mib=peak_mib(),
        )
    return result


def child(scenario: str, setup: dict, args) -> None:
    os.environ.pop("TMUX", None)
    from cafleet.store.db import open_database

    open_database()
    if scenario == "agents":
        result = asyncio.run(run_agents(setup, args.idle_seconds))
    else:
        result = asyncio.run(run_big_messages(setup, args.live, args.size))
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["agents", "big-messages"])
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--live", type=int, default=50)
    parser.add_argument("--size", type=int, default=1024 * 1024)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.scenario, json.loads(args.child), args)
        return 0
    with tempfile.TemporaryDirectory(prefix="cafleet-tui-scale-") as tmp:
        os.environ["CAFLEET_DATABASE_URL"] = os.path.join(tmp, "bench.db")
        os.environ["HOME"] = tmp
        os.environ.pop("TMUX", None)
        from cafleet.store.db import close_database, open_database

        open_database()
        started = time.perf_counter()
        if args.scenario == "agents":
            setup = build_agents(args.agents)
        else:
            setup = build_big_messages(args.messages - args.live, args.size)
        built = time.perf_counter() - started
        close_database()
        # The live senders build their text with this module's own function.
        env = dict(
            os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")])
        )
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                args.scenario,
                "--child",
                json.dumps(setup),
                "--idle-seconds",
                str(args.idle_seconds),
                "--live",
                str(args.live),
                "--size",
                str(args.size),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        result = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"cafleet TUI at scale: {args.scenario}, headless {SIZE[0]}x{SIZE[1]}, Python {sys.version.split()[0]} "
        f"(database built in {built:.1f} s)"
    )
    for key, value in result.items():
        print(f"  {key:<24} {value:.2f}" if isinstance(value, float) else f"  {key:<24} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
