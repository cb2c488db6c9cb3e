"""TUI benchmark: the fleet view with 10,000 messages.

Measures, on a private temp database:
- start to a drawn fleet view (app constructed → timeline populated and painted), headless;
- how long a message committed by another process takes to show up (the live watcher polls
  SQLite's data_version every 0.25 s);
- peak memory (max RSS) of the process running the app with 10,000 messages.

    python bench/tui_bench.py [--messages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time


def build_fleet(messages: int) -> tuple[int, int, int]:
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.core.records import PaneLocation
    from cafleet.store.models import Task, database

    created = create_fleet(PaneLocation("/nonexistent/tmux", None, "main", "@1", "%1"), label="bench")
    fleet_id = created.fleet.id
    alice = register_agent(fleet_id, "alice", "sender").id
    bob = register_agent(fleet_id, "bob", "receiver").id
    rows = [
        dict(
            fleet=fleet_id,
            owner=bob,
            sender=alice,
            recipient=bob,
            kind="unicast",
            state="completed" if i % 3 else "input_required",
            created_at=f"2026-11-2{1 + i // 5000}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i:06d}Z",
            state_changed_at="2026-11-21T00:00:00.000000Z",
            text=f"message {i}: " + "lorem ipsum " * (i % 8),
        )
        for i in range(messages)
    ]
    with database.atomic():
        for start in range(0, len(rows), 500):
            Task.insert_many(rows[start : start + 500]).execute()
    return fleet_id, alice, bob


async def measure(fleet_id: int, alice: int, rounds: int) -> dict:
    from cafleet.screens.app import build_app

    started = time.perf_counter()
    app = build_app(fleet_id, watch_changes=True)
    async with app.run_test(size=(120, 40)) as pilot:
        timeline = None
        while True:
            await pilot.pause(0.01)
            screen = app.screen
            if screen.__class__.__name__ == "FleetViewScreen":
                timeline = screen.query_one("#timeline")
                if timeline.tasks:
                    break
        await pilot.pause()
        drawn = time.perf_counter() - started

        latencies = []
        for i in range(rounds):
            sender = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    (
                        "import time\n"
                        "from cafleet.store.db import open_database; open_database()\n"
                        "from cafleet.broker.messages import send_message\n"
                        f"task = send_message({fleet_id}, {alice}, 'bob', 'live {i}')\n"
                        "print(task.id, time.time())"
                    ),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            task_id, committed = sender.stdout.split()
            while int(task_id) not in timeline.tasks:
                await pilot.pause(0.01)
            latencies.append(time.time() - float(committed))
    return {"drawn": drawn, "latencies": latencies}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cafleet-tui-bench-") as tmp:
        os.environ["CAFLEET_DATABASE_URL"] = os.path.join(tmp, "bench.db")
        os.environ["HOME"] = tmp
        os.environ.pop("TMUX", None)
        from cafleet.store.db import open_database

        open_database()
        fleet_id, alice, _bob = build_fleet(args.messages)
        result = asyncio.run(measure(fleet_id, alice, args.rounds))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lat = sorted(result["latencies"])
    print(f"cafleet TUI benchmark: {args.messages:,} messages, headless 120x40, Python {sys.version.split()[0]}")
    print(
        f"start to drawn fleet view          {result['drawn']:.2f} s     target <= 1.50 s  {'ok' if result['drawn'] <= 1.5 else 'MISSED'}"
    )
    print(
        f"other process's message shown      median {statistics.median(lat):.2f} s, max {lat[-1]:.2f} s over {len(lat)}"
        f"     target <= 1.00 s  {'ok' if lat[-1] <= 1.0 else 'MISSED'}"
    )
    print(f"peak memory of the app process     {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
