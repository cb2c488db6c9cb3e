"""Time from `cafleet fleet restore` to every member ready, after every process of the fleet died.

For each agent and fleet size: on a private tmux server (its own socket, HOME, XDG dirs and
database, offline against the scripted loopback model of tests/realagents), a Director pane
creates a fleet and spawns N members, waits until each took its first turn and its session is
recorded (codex's and opencode's found by the courier), then SIGKILLs the tmux server, every
agent and the courier, as a reboot would (tests/realagents/fleet_restart.py). A new tmux server
starts on the same socket with the Director's agent in its first pane, and `fleet restore` runs
from that pane. Measured from the moment the restore starts:

  * `restore`: until the command returned (every member's agent started in its pane);
  * `ready`: until every member's pane reads `ready` (what the courier waits for before it types
    a notice), read as `member list --activity` reads it, and still so STABLE_SECONDS later
    (claude's reader says ready for ~150 ms at launch, before its box works).

Agents: `standin` is the stand-in (`python -m cafleet.demo.standin_agent` behind a fake `claude`,
as the fast suite runs it: it saves and resumes its conversation where claude does); `claude`,
`codex` and `opencode` are the real npm builds (CAFLEET_REAL_AGENTS_DIR, as .ci/run installs
them). Members are spawned one after another, each once the previous one took its first turn
(several opencodes starting at once on 2 cores may never reach their first turn: docs/agents.md).

Usage: python bench/restore_time.py [--agents standin,claude,codex,opencode] [--members 1,6]
                                    [--runs 3] [--json]
The exit status is 0 unless a run failed (its error is shown).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.panes_support import make_fake_agents  # noqa: E402
from tests.realagents.fleet_restart import kill_fleet, new_server, restore  # noqa: E402
from tests.realagents.harness import ROUTES, SHELL_TOOLS, agents_bin, start_field, stop_field, wait_until  # noqa: E402
from tests.realagents.model_server import ModelServer  # noqa: E402
from tests.support import cafleet_command  # noqa: E402

AGENTS = ("standin", "claude", "codex", "opencode")
POLL_SECONDS = 0.05
STABLE_SECONDS = 0.5
SETUP_TIMEOUT = 240.0
READY_TIMEOUT = 300.0
# What the bench process must not inherit: it would reach the user's tmux, config or database.
UNSET = ("TMUX", "TMUX_PANE", "CODEX_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CAFLEET_HOST_ID")


def isolate(root: Path) -> None:
    """This process's environment, private to one run: the field's panes and CLI calls inherit it."""
    for name in UNSET:
        os.environ.pop(name, None)
    home = root / "home"
    home.mkdir()
    os.environ.update(
        HOME=str(home),
        XDG_DATA_HOME=str(root / "xdg-data"),
        CAFLEET_DATABASE_URL=f"sqlite:///{root / 'cafleet.db'}",
        TMUX_TMPDIR=str(root / "tmux"),
    )
    (root / "tmux").mkdir()


def cli_json(cafleet: str, field, *args: str):
    done = subprocess.run(
        [cafleet, "--json", *args], env=field.env, cwd=field.workdir, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise RuntimeError(f"cafleet {' '.join(args)} failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def members_of(cafleet: str, field, fleet: int, director: int) -> list[dict]:
    return cli_json(cafleet, field, "--fleet-id", str(fleet), "member", "list", "--agent-id", str(director))


def ready_states(members: list[dict]) -> list[str]:
    """Each member's state as `member list --activity` reads it (one look at each pane)."""
    from cafleet.core.records import PlacementRecord
    from cafleet.panes.observe import observe_pane
    from cafleet.panes.tmux import Tmux

    states = []
    for member in members:
        fields = {k: v for k, v in member["placement"].items() if k in PlacementRecord._fields}
        record = PlacementRecord(agent_id=member["agent_id"], **fields)
        observed, _ = observe_pane(Tmux(record.tmux_socket), record)
        states.append(observed.state.value)
    return states


def one_run(agent: str, count: int, root: Path) -> dict:
    isolate(root)
    cafleet = cafleet_command()[0]
    backend = "claude" if agent == "standin" else agent
    tool = SHELL_TOOLS[backend]
    with ModelServer(ROUTES) as server:
        field = start_field(root, backend, server, cafleet)
        try:
            if agent == "standin":
                fake = make_fake_agents(root)
                field.env["PATH"] = f"{fake.bin}{os.pathsep}{field.env['PATH']}"
            created = cli_json(cafleet, field, "fleet", "create", "--label", f"bench {agent}", "--coding-agent", "claude")
            fleet, director = created["fleet_id"], created["director"]["agent_id"]
            for n in range(count):
                name = f"m{n + 1}"
                cli_json(
                    cafleet, field, "--fleet-id", str(fleet), "member", "create", "--agent-id", str(director),
                    "--name", name, "--description", "bench member", "--coding-agent", backend,
                )  # fmt: skip
                if agent != "standin":
                    wait_until(
                        lambda name=name: [
                            r for r in server.requests if r.is_agent_turn(tool) and f"You are {name}," in r.last_text
                        ],
                        SETUP_TIMEOUT,
                        f"{name}'s first turn",
                        interval=0.2,
                    )
            wait_until(
                lambda: all(m["session"] and m["session"]["id"] for m in members_of(cafleet, field, fleet, director)),
                SETUP_TIMEOUT,
                "every member's session to be recorded",
                interval=1.0,
            )
            members = members_of(cafleet, field, fleet, director)
            wait_until(lambda: set(ready_states(members)) == {"ready"}, SETUP_TIMEOUT, "every member ready")

            kill_fleet(field)
            field = new_server(field, root / "director-again.jsonl")
            load = os.getloadavg()[0]
            started = time.monotonic()
            restored = restore(cafleet, field, fleet)
            returned = time.monotonic() - started
            if restored.returncode != 0:
                raise RuntimeError(f"fleet restore failed: {restored.stderr.strip()} {restored.stdout.strip()}")
            resumed = restored.stdout.count(": resumed its conversation ")
            if resumed != count:
                raise RuntimeError(f"fleet restore resumed {resumed} of {count} members:\n{restored.stdout}")
            members = members_of(cafleet, field, fleet, director)
            ready_at: list[float | None] = [None] * count
            since: list[float | None] = [None] * count
            deadline = started + READY_TIMEOUT
            while any(r is None for r in ready_at):
                now = time.monotonic()
                if now > deadline:
                    raise RuntimeError(f"not every member was ready {READY_TIMEOUT:g} s after the restore")
                for index, state in enumerate(ready_states(members)):
                    if ready_at[index] is not None:
                        continue
                    if state != "ready":
                        since[index] = None
                    elif since[index] is None:
                        since[index] = now
                    elif now - since[index] >= STABLE_SECONDS:
                        ready_at[index] = since[index] - started
                time.sleep(POLL_SECONDS)
            ready = max(r for r in ready_at if r is not None)
            return {"restore_s": round(returned, 2), "ready_s": round(ready, 2), "load": round(load, 1)}
        finally:
            stop_field(field)


def summary(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 2), "max": round(max(values), 2)} if values else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", default=",".join(AGENTS))
    parser.add_argument("--members", default="1,6")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    agents = [a for a in args.agents.split(",") if a]
    unknown = [a for a in agents if a not in AGENTS]
    if unknown:
        parser.error(f"unknown agents {', '.join(unknown)}; choose from {', '.join(AGENTS)}")
    if any(a != "standin" for a in agents) and agents_bin() is None:
        parser.error("the real agents are not installed (see .ci/run, or set CAFLEET_REAL_AGENTS_DIR)")
    saved = dict(os.environ)
    results = []
    failed = False
    for agent in agents:
        for count in [int(n) for n in args.members.split(",")]:
            runs, errors = [], []
            for _ in range(args.runs):
                root = Path(tempfile.mkdtemp(prefix="cafleet-restore-bench-"))
                try:
                    runs.append(one_run(agent, count, root))
                    print(f"{agent} x{count}: {runs[-1]}", file=sys.stderr, flush=True)
                except (RuntimeError, AssertionError) as exc:
                    errors.append(str(exc).splitlines()[0][:300])
                    print(f"{agent} x{count}: failed: {errors[-1]}", file=sys.stderr, flush=True)
                finally:
                    os.environ.clear()
                    os.environ.update(saved)
                    shutil.rmtree(root, ignore_errors=True)
            failed = failed or bool(errors)
            row = {
                "agent": agent,
                "members": count,
                "runs": len(runs),
                "restore_s": summary([r["restore_s"] for r in runs]),
                "ready_s": summary([r["ready_s"] for r in runs]),
                "each": runs,
                "errors": errors,
            }
            results.append(row)
            if not args.json:
                ready, returned = row["ready_s"], row["restore_s"]
                line = f"{agent:9} {count} member(s): {len(runs)}/{args.runs} runs"
                if runs:
                    line += (
                        f"  ready median {ready['median']:6.2f} s  max {ready['max']:6.2f} s"
                        f"  (restore returned: median {returned['median']:.2f} s, max {returned['max']:.2f} s)"
                    )
                print(line, flush=True)
                for error in errors:
                    print(f"    failed: {error}", flush=True)
    if args.json:
        print(json.dumps({"load_average": os.getloadavg(), "results": results}, indent=2))
    else:
        print(f"load average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
