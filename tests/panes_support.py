"""Helpers for real-tmux tests of panes: fake coding agents that run the stand-in."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest


class FakeAgents(NamedTuple):
    """`claude`, `codex` and `opencode` executables that exec the stand-in agent.

    Each logs to `logs/<backend>-<pid>.jsonl`. Creating `bin/<backend>.slow` makes the next
    ones draw nothing and drop input for 3 s after launch, like a real agent starting up;
    creating `bin/<backend>.deaf` makes the next
    ones ignore input for a minute (to test what happens when an agent does not react).
    """

    bin: Path
    logs: Path

    @property
    def env(self) -> dict:
        return {"PATH": f"{self.bin}{os.pathsep}{os.environ['PATH']}"}

    def events(self, backend: str | None = None) -> list[dict]:
        events = []
        for path in sorted(self.logs.glob(f"{backend or '*'}-*.jsonl")):
            events += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return events

    def log_of(self, name: str) -> list[dict]:
        """The events of the stand-in started for member `name` (found by its argv)."""
        for path in sorted(self.logs.glob("*.jsonl")):
            events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            if events and any(name in arg for arg in events[0]["argv"]):
                return events
        return []

    def wait_for(self, name: str, predicate, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            events = self.log_of(name)
            if predicate(events) or time.monotonic() > deadline:
                return events
            time.sleep(0.05)


def make_fake_agents(root: Path) -> FakeAgents:
    bin_dir, logs = root / "fake-bin", root / "agent-logs"
    bin_dir.mkdir()
    logs.mkdir()
    for backend in ("claude", "codex", "opencode"):
        script = bin_dir / backend
        script.write_text(
            "#!/bin/sh\n"
            f'delay=0; [ -e "{bin_dir}/{backend}.slow" ] && delay=3; [ -e "{bin_dir}/{backend}.deaf" ] && delay=60\n'
            f'exec {sys.executable} -m cafleet.demo.standin_agent --startup-delay "$delay" '
            f'--log "{logs}/{backend}-$$.jsonl" "$@"\n'
        )
        script.chmod(0o755)
    return FakeAgents(bin_dir, logs)


def without_session_mark(prompt: str) -> str:
    """A first prompt as the Director wrote it: the line cafleet ends it with (which tells the
    member's saved conversation apart) checked and taken off."""
    body, _, mark = prompt.rpartition("\n\n")
    assert re.fullmatch(r"\(cafleet session mark [0-9a-f]{16}\)", mark), prompt[-200:]
    return body


def inputs(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "input"]


class PanesFleet(NamedTuple):
    """A fleet whose Director is a pane of a private tmux server; `env` runs the CLI as it."""

    fleet_id: int
    director_id: int
    env: dict


@pytest.fixture
def agents(tmp_path) -> FakeAgents:
    """Fake claude/codex/opencode executables that run the stand-in (import this fixture)."""
    return make_fake_agents(tmp_path)


def panes_fleet(label: str):
    """A `fleet` fixture: a fleet whose Director is the private tmux server's first pane.

    Use as `fleet = panes_fleet("courier")` in a test module (with `agents` imported)."""

    @pytest.fixture
    def fleet(tmux_server, agents, cli) -> PanesFleet:
        return create_panes_fleet(cli, tmux_server, agents, label)

    return fleet


def create_panes_fleet(cli, tmux_server, agents: FakeAgents, label: str) -> PanesFleet:
    env = {**tmux_server.pane_env(), **agents.env}
    created = cli("fleet", "create", "--label", label, env=env)
    assert created.code == 0, created.err
    fleet_id, director_id = map(int, created.out.splitlines()[:2])
    return PanesFleet(fleet_id, director_id, env)


def run(cli, fleet: PanesFleet, *args, **kwargs):
    """The CLI as the fleet's Director runs it in its pane."""
    return cli("--fleet-id", fleet.fleet_id, *args, env={**fleet.env, **kwargs.pop("env", {})}, **kwargs)


# A shell outside every agent's pane: the human, who may act as any agent of the fleet.
OUTSIDE_PANES = {"TMUX": "", "TMUX_PANE": ""}


def run_as_human(cli, fleet: PanesFleet, *args, **kwargs):
    """The CLI as the human runs it from a terminal that is no agent's pane."""
    return run(cli, fleet, *args, env={**OUTSIDE_PANES, **kwargs.pop("env", {})}, **kwargs)


def spawn(cli, fleet: PanesFleet, name: str, *extra) -> int:
    result = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        name,
        "--description",
        f"{name} helps",
        "--quiet",
        *extra,
    )
    assert result.code == 0, result.err
    return int(result.out)


def task_row(task_id: int):
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    open_database()
    return Task.get_by_id(task_id)


def date_pane_back(agent_id: int, seconds: float) -> None:
    """Make the agent's pane look `seconds` older than it is: "a minute after its pane was
    made", without waiting the minute."""
    from datetime import UTC, datetime, timedelta

    from cafleet.core.timestamps import to_stamp
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    earlier = to_stamp(datetime.now(UTC) - timedelta(seconds=seconds))
    Placement.update(created_at=earlier).where(Placement.agent == agent_id).execute()


def is_final(status: str | None) -> bool:
    return bool(status) and status not in ("pending", "claimed") and not status.startswith("deferred:")


def wait_for_notify(task_id: int, timeout: float = 10, until=is_final) -> str | None:
    """The notice's status once `until` accepts it (by default: final), or the last one seen."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = task_row(task_id).notify_status
        if until(status):
            return status
        time.sleep(0.05)
    return status


def couriers_of(db_path: Path | None = None, host: str | None = None) -> list[int]:
    """Pids of courier processes serving this test's database (never anyone else's): by
    default the database the test's environment names (a SQLite path or a PostgreSQL URL),
    and with `host`, only the courier started with CAFLEET_HOST_ID=host. A child the courier
    has forked to run tmux looks like the courier until it execs, so it is left out."""
    from cafleet.core.config import database_setting

    markers = [f"CAFLEET_DATABASE_URL={db_path if db_path is not None else database_setting()}".encode()]
    if host is not None:
        markers.append(f"CAFLEET_HOST_ID={host}".encode())
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes().split(b"\0")
            if b"cafleet.panes.courier" in (proc / "cmdline").read_bytes() and all(m in environ for m in markers):
                parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return [pid for pid, parent in parents.items() if parent not in parents]


from tests.waiting import wait_for  # noqa: E402,F401  (re-exported: the tmux tests import it from here)
