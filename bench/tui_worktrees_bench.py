"""TUI benchmark: the fleet view with 10 members in git worktrees.

Measures, on a private temp database, HOME and repository (no tmux: the members' panes are
on a server that is not running):
- one read of every worktree member's status (`fleet_worktrees`: what the roster's worker
  runs every 8 s), one worktree at a time and four at once, and the git processes it starts;
- the git processes a refresh of the fleet view starts (a database change: none is wanted);
- what the UI thread pays to take new worktree marks (the roster redraws the changed entries);
- how long the UI's event loop is held up while a worktree read runs in its worker.

    python bench/tui_worktrees_bench.py [--members N] [--files N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT_RUNS: list[str] = []
_run = subprocess.run


def counting_run(args, *rest, **kwargs):
    if isinstance(args, list | tuple) and args and str(args[0]).endswith("git"):
        GIT_RUNS.append(str(args[1]) if len(args) > 1 else "")
    return _run(args, *rest, **kwargs)


def git(repo: Path, *args: str) -> None:
    _run(["git", *args], cwd=repo, check=True, capture_output=True)


def build(root: Path, members: int, files: int) -> tuple[int, list[int]]:
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.broker.worktrees import NewWorktree, record_worktree
    from cafleet.core.records import PaneLocation
    from cafleet.services.worktree_create import WorktreeRequest, make_worktree, plan_worktree

    repo = root / "repo"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Director")
    git(repo, "config", "user.email", "director@example.com")
    for i in range(files):
        (repo / "src" / f"f{i:05}.py").write_text(f"value = {i}\n" * 20)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "start")
    created = create_fleet(PaneLocation("/nonexistent/tmux", None, "main", "@1", "%1"), label="bench")
    fleet_id, ids = created.fleet.id, []
    for n in range(members):
        member = register_member(fleet_id, created.director.id, f"m{n}", "builds", "claude")
        plan = make_worktree(plan_worktree(WorktreeRequest(skip_setup=True), fleet_id, member.name, repo)).plan
        assert member.placement is not None
        record_worktree(
            member.id,
            NewWorktree(
                str(plan.path),
                plan.branch,
                plan.base_ref,
                plan.base_commit,
                str(plan.source.common_dir),
                str(plan.source.root),
                member.placement.host,
                member.placement.tmux_socket,
            ),
        )
        attach_pane(member.id, f"%{10 + n}")
        for i in range(5):  # five commits, then three files left uncommitted
            (plan.path / "src" / f"f{n * 10 + i:05}.py").write_text(f"changed by m{n}\n")
            git(plan.path, "commit", "-q", "-am", f"m{n} step {i}")
        for i in range(3):
            (plan.path / f"wip{i}.txt").write_text("wip\n")
        ids.append(member.id)
    return fleet_id, ids


def timed(fn, rounds: int) -> tuple[float, int]:
    """Median seconds of `fn()`, and the git processes one call starts."""
    times = []
    for _ in range(rounds):
        GIT_RUNS.clear()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(GIT_RUNS)


async def in_the_app(fleet_id: int, ids: list[int], rounds: int) -> dict:
    from cafleet.screens.app import build_app
    from cafleet.screens.live import DataChanged
    from cafleet.screens.worktree_marks import WorktreeLook, WorktreeMark

    app = build_app(fleet_id, watch_changes=False)
    result: dict = {}
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        while not getattr(screen, "loaded", False) or screen is not app.screen:
            await pilot.pause(0.05)
            screen = app.screen
        roster = screen.query_one("#roster")
        while len(roster._worktrees) < len(ids):
            await pilot.pause(0.05)

        # A refresh (a database change) runs no git.
        GIT_RUNS.clear()
        for _ in range(rounds):
            screen.post_message(DataChanged())
            await pilot.pause(0.3)
        result["refresh_git"] = len(GIT_RUNS) / rounds

        # The UI thread's share of new marks: each round every entry's counts change.
        costs = []
        for r in range(rounds):
            marks = {i: WorktreeMark(f"cafleet/{fleet_id}/m{n}", WorktreeLook.READ, 5 + r, False, 3) for n, i in enumerate(ids)}
            started = time.perf_counter()
            roster.show_worktrees(marks)
            costs.append(time.perf_counter() - started)
            await pilot.pause()
        result["apply"] = statistics.median(costs)

        # The event loop while a read runs in its worker: how long is it held up at most?
        async def lag_while(busy) -> float:
            worst = 0.0
            while busy():
                before = time.perf_counter()
                await asyncio.sleep(0.002)
                worst = max(worst, time.perf_counter() - before - 0.002)
            return worst

        lags, reads = [], []
        for _ in range(rounds):
            started = time.perf_counter()
            screen.recheck_worktrees()
            lags.append(await lag_while(lambda: screen.reading_worktrees))
            reads.append(time.perf_counter() - started)
        result["lag"] = max(lags)
        result["read_in_app"] = statistics.median(reads)
        # The same with nothing running, for comparison (a loaded machine holds it up too).
        idle = []
        for _ in range(rounds):
            until = time.perf_counter() + result["read_in_app"]
            idle.append(await lag_while(lambda until=until: time.perf_counter() < until))
        result["idle_lag"] = max(idle)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cafleet-tui-worktrees-bench-") as tmp:
        root = Path(tmp)
        os.environ.update(HOME=str(root), XDG_DATA_HOME=str(root / "xdg"), CAFLEET_DATABASE_URL=str(root / "bench.db"))
        os.environ.pop("TMUX", None)
        os.environ.pop("TMUX_PANE", None)
        from cafleet.store.db import open_database

        open_database()
        fleet_id, ids = build(root, args.members, args.files)
        subprocess.run = counting_run  # type: ignore[assignment]  # counts git processes from here on
        from cafleet.services.worktree_review import fleet_worktrees

        one, one_git = timed(lambda: fleet_worktrees(fleet_id, at_once=1), args.rounds)
        four, four_git = timed(lambda: fleet_worktrees(fleet_id, at_once=4), args.rounds)
        app = asyncio.run(in_the_app(fleet_id, ids, args.rounds))
    n = args.members
    print(f"cafleet TUI worktree benchmark: {n} worktree members, {args.files:,} files, headless 120x40, {os.cpu_count()} CPUs")
    print(f"read every status, one at a time    {one * 1000:.0f} ms  ({one_git} git processes, {one / n * 1000:.0f} ms a member)")
    print(f"read every status, four at once     {four * 1000:.0f} ms  (the roster's worker, every 8 s)")
    print(f"the same read inside the app        {app['read_in_app'] * 1000:.0f} ms  (its worker, start to marks shown)")
    print(f"git processes per refresh tick      {app['refresh_git']:.0f}")
    print(f"UI thread: new marks for {n} entries  {app['apply'] * 1000:.1f} ms")
    print(f"event loop held up during a read    {app['lag'] * 1000:.1f} ms at most (idle: {app['idle_lag'] * 1000:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
