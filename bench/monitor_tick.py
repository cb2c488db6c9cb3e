"""Monitor benchmark: CPU of one tick over a fleet of 50 agents with live panes.

Pane liveness must cost one `tmux list-panes -a` per tick, not one call per agent. Runs on a
private tmux server (`tmux -L cafleet-bench-…`) and a temp database.

    python bench/monitor_tick.py [--agents 50] [--ticks 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import uuid


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--ticks", type=int, default=20)
    args = parser.parse_args()
    socket = f"cafleet-bench-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    with tempfile.TemporaryDirectory(prefix="cafleet-monitor-bench-") as tmp:
        os.environ["CAFLEET_DATABASE_URL"] = os.path.join(tmp, "bench.db")
        subprocess.run(tmux + ["new-session", "-d", "-s", "bench", "sleep 3600"], check=True)
        try:
            from cafleet.broker.agents import register_agent
            from cafleet.broker.fleets import create_fleet
            from cafleet.core.records import PaneLocation
            from cafleet.core.timestamps import utc_now
            from cafleet.panes.monitor_loop import MonitorLoop
            from cafleet.store.db import open_database
            from cafleet.store.models import Agent, MonitorConfig, Placement

            open_database()
            info = (
                subprocess.run(
                    tmux + ["display-message", "-p", "-t", "bench", "#{socket_path}\t#{pid}\t#{window_id}\t#{pane_id}"],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                .stdout.strip()
                .split("\t")
            )
            created = create_fleet(PaneLocation(info[0], int(info[1]), "bench", info[2], info[3]), label="bench")
            for i in range(args.agents - 1):
                pane = (
                    subprocess.run(
                        tmux + ["new-window", "-d", "-P", "-F", "#{window_id}\t#{pane_id}", "-t", "bench", "sleep 3600"],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    .stdout.strip()
                    .split("\t")
                )
                agent = register_agent(created.fleet.id, f"m{i}", "bench member")
                Agent.update(kind="member").where(Agent.id == agent.id).execute()
                Placement.create(
                    agent=agent.id,
                    director=created.director.id,
                    tmux_socket=info[0],
                    tmux_server_pid=int(info[1]),
                    tmux_session="bench",
                    tmux_window_id=pane[0],
                    tmux_pane_id=pane[1],
                    coding_agent="claude",
                    created_at=utc_now(),
                )
                MonitorConfig.create(agent=agent.id, interval_seconds=300, enabled=True)
            loop = MonitorLoop(created.fleet.id, 5, lambda line: None)
            loop.tick()  # warm-up: imports, first connection
            costs = []
            for _ in range(args.ticks):
                before = cpu_seconds()
                loop.tick()
                costs.append((cpu_seconds() - before) * 1000)
            agents = Agent.select().where(Agent.fleet == created.fleet.id).count()
        finally:
            subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True)
    print(
        f"monitor tick over {agents} agents ({args.agents} with live panes, none due): "
        f"median {statistics.median(costs):.1f} ms CPU, max {max(costs):.1f} ms (target <= 50 ms) "
        f"{'ok' if statistics.median(costs) <= 50 else 'MISSED'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
