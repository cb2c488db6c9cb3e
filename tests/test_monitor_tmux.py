"""The monitor loop against a real, private tmux server with stand-in agents and short ticks."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC
from typing import NamedTuple

import pytest

from tests.panes_support import (
    agents,  # noqa: F401 (a fixture)
    inputs,
)
from tests.support import cafleet_command


class Fleet(NamedTuple):
    fleet_id: int
    director_id: int
    env: dict
    director_log: object


@pytest.fixture
def fleet(tmux_server, agents, cli, tmp_path):
    """A fleet whose Director pane runs a stand-in agent (so it can be woken)."""
    log = tmp_path / "director.jsonl"
    pane = tmux_server.tmux(
        "new-window",
        "-P",
        "-F",
        "#{pane_id}",
        "-t",
        "main",
        f"{sys.executable} -m cafleet.demo.standin_agent --name director --log {log}",
    ).stdout.strip()
    env = {**tmux_server.pane_env(pane), **agents.env}
    created = cli("fleet", "create", env=env)
    assert created.code == 0, created.err
    fleet_id, director_id = map(int, created.out.splitlines()[:2])
    return Fleet(fleet_id, director_id, env, log)


def run(cli, fleet, *args):
    return cli("--fleet-id", fleet.fleet_id, *args, env=fleet.env)


def spawn(cli, fleet, agents, name):
    result = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", name, "--description", "x", "--quiet")
    assert result.code == 0, result.err
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    return int(result.out)


class Monitor:
    """`cafleet monitor start` in the background, its output collected line by line."""

    def __init__(self, fleet, tick=0.3, extra=()):
        self.proc = subprocess.Popen(
            cafleet_command() + ["--fleet-id", str(fleet.fleet_id), "monitor", "start", "--tick", str(tick), *extra],
            env={**os.environ, **fleet.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for_line(self, fragment, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(fragment in line for line in self.lines):
                return True
            time.sleep(0.05)
        return False

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


@pytest.fixture
def monitors():
    started = []
    yield started
    for monitor in started:
        if monitor.proc.poll() is None:
            monitor.proc.kill()
            monitor.proc.wait()


def schedule(cli, fleet, agent_id):
    status = run(cli, fleet, "--json", "monitor", "status").json()
    return next(a for a in status["agents"] if a["agent_id"] == agent_id)


def director_inputs(fleet):
    if not fleet.director_log.exists():
        return []
    import json

    return [json.loads(line)["text"] for line in fleet.director_log.read_text().splitlines() if '"input"' in line]


def test_wakes_due_agents_and_only_them(cli, fleet, agents, monitors):
    busy, idle, muted = (spawn(cli, fleet, agents, n) for n in ("busy", "idle", "muted"))
    for agent_id in (fleet.director_id, busy, idle, muted):
        assert run(cli, fleet, "monitor", "config", "--member-id", agent_id, "--interval", "1").code == 0
    run(cli, fleet, "monitor", "config", "--member-id", muted, "--disable")
    for name in ("busy", "muted"):
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", name, "--text", "work")
    # The previews land first; the monitor's pokes come on top of them.
    agents.wait_for("busy", lambda ev: inputs(ev))
    monitor = Monitor(fleet)
    monitors.append(monitor)
    assert monitor.wait_for_line(f"ping busy#{busy}")
    assert monitor.wait_for_line(f"ping director#{fleet.director_id}")
    time.sleep(1.5)
    assert monitor.stop() == 0

    poll = f"{cafleet_command()[0]} --fleet-id {fleet.fleet_id} message poll --agent-id "
    assert poll + str(busy) in inputs(agents.log_of("busy"))
    assert poll + str(fleet.director_id) in director_inputs(fleet)
    assert inputs(agents.log_of("idle")) == []
    assert all("message poll" not in text for text in inputs(agents.log_of("muted")))
    assert schedule(cli, fleet, busy)["last_ping_at"] and schedule(cli, fleet, fleet.director_id)["last_ping_at"]
    assert schedule(cli, fleet, idle)["last_ping_at"] is None
    assert schedule(cli, fleet, muted)["last_ping_at"] is None
    # The Director is due every interval: it was woken more than once in ~2.5 s.
    assert sum(t == poll + str(fleet.director_id) for t in director_inputs(fleet)) >= 2
    assert any(f"ping busy#{busy} (1 unread, every 1s): delivered" in line for line in monitor.lines)


def test_dead_and_shell_panes_are_skipped_and_not_stamped(cli, fleet, agents, tmux_server, monitors):
    gone, shell = spawn(cli, fleet, agents, "gone"), spawn(cli, fleet, agents, "shell")
    status = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    panes = {m["name"]: m["placement"]["tmux_pane_id"] for m in status}
    tmux_server.tmux("kill-pane", "-t", panes["gone"])
    tmux_server.tmux("respawn-pane", "-k", "-t", panes["shell"], "bash --norc")
    for agent_id in (gone, shell):
        run(cli, fleet, "monitor", "config", "--member-id", agent_id, "--interval", "1")
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", str(agent_id), "--text", "echo OWNED")
    monitor = Monitor(fleet)
    monitors.append(monitor)
    assert monitor.wait_for_line(f"skip gone#{gone}") and monitor.wait_for_line(f"skip shell#{shell}")
    time.sleep(2)  # several ticks, each finding both still due and still unpingable
    monitor.stop()
    assert sum(f"skip gone#{gone}" in line for line in monitor.lines) == 1  # one line per change, not per tick
    assert sum(f"skip shell#{shell}" in line for line in monitor.lines) == 1
    assert any("pane-gone" in line for line in monitor.lines if f"gone#{gone}" in line)
    assert any("not-its-agent:bash" in line for line in monitor.lines if f"shell#{shell}" in line)
    assert schedule(cli, fleet, gone)["last_ping_at"] is None
    assert schedule(cli, fleet, shell)["last_ping_at"] is None
    screen = tmux_server.tmux("capture-pane", "-p", "-t", panes["shell"]).stdout
    assert "OWNED" not in screen and "cafleet" not in screen


def test_a_delivered_notice_counts_as_a_wake(cli, fleet, agents, monitors):
    member = spawn(cli, fleet, agents, "nia")
    agents.wait_for("nia", lambda ev: any(e["event"] == "ready" for e in ev))
    run(cli, fleet, "monitor", "config", "--member-id", member, "--interval", "4")
    time.sleep(4.5)  # past one interval since the spawn: due as soon as a message is unread
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "nia", "--quiet", "--text", "read me")
    monitor = Monitor(fleet)
    monitors.append(monitor)
    agents.wait_for("nia", lambda ev: inputs(ev))
    time.sleep(2.5)  # inside the interval that the notice started
    assert [t for t in inputs(agents.log_of("nia")) if "message poll" in t] == []
    assert agents.wait_for("nia", lambda ev: [t for t in inputs(ev) if "message poll" in t], timeout=6)
    assert monitor.wait_for_line(f"ping nia#{member} (1 unread, every 4s): delivered")
    assert sent.code == 0


def test_a_second_start_is_refused_and_sigterm_cleans_up(cli, fleet, monitors):
    first = Monitor(fleet)
    monitors.append(first)
    assert first.wait_for_line("started")
    second = run(cli, fleet, "monitor", "start", "--tick", "0.3")
    assert second.code == 1 and f"already running for fleet {fleet.fleet_id} (pid {first.proc.pid}" in second.err
    assert run(cli, fleet, "--json", "monitor", "status").json()["running"] is True
    assert first.stop(signal.SIGTERM) == 0
    assert "stopped: stopped by signal" in first.lines[-1]
    status = run(cli, fleet, "--json", "monitor", "status").json()
    assert (status["running"], status["pid"]) == (False, None)


def set_runtime(fleet, pid, last_tick_age):
    from datetime import datetime, timedelta

    from cafleet.broker.dialect import upsert
    from cafleet.core.timestamps import to_stamp
    from cafleet.store.db import open_database
    from cafleet.store.models import MonitorRuntime

    open_database()
    stamp = to_stamp(datetime.now(UTC) - timedelta(seconds=last_tick_age))
    upsert(MonitorRuntime, fleet=fleet.fleet_id, pid=pid, started_at=stamp, last_tick_at=stamp, tick_seconds=0.2)


@pytest.mark.parametrize("why", ["old heartbeat", "dead pid"])
def test_a_stale_runtime_row_is_taken_over(cli, fleet, monitors, why):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        if why == "old heartbeat":
            set_runtime(fleet, sleeper.pid, last_tick_age=5)  # alive, but silent for 25 ticks
        else:
            sleeper.kill()
            sleeper.wait()
            set_runtime(fleet, sleeper.pid, last_tick_age=0)  # fresh, but the process is gone
        monitor = Monitor(fleet, tick=0.2)
        monitors.append(monitor)
        assert monitor.wait_for_line(f"took over from stale monitor pid {sleeper.pid}"), monitor.lines
        assert run(cli, fleet, "--json", "monitor", "status").json()["pid"] == monitor.proc.pid
        monitor.stop()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_displaced_loop_notices_and_stops(cli, fleet, monitors):
    first = Monitor(fleet, tick=0.2)
    monitors.append(first)
    assert first.wait_for_line("started")
    set_runtime(fleet, os.getpid(), last_tick_age=0)  # as if another loop had taken over
    assert first.proc.wait(timeout=10) == 0
    first._reader.join(timeout=5)
    assert f"another monitor (pid {os.getpid()}) took over" in first.lines[-1]
    # The displaced loop leaves the new owner's row alone.
    assert run(cli, fleet, "--json", "monitor", "status").json()["pid"] == os.getpid()


def test_fleet_delete_stops_the_loop(cli, fleet, monitors):
    monitor = Monitor(fleet)
    monitors.append(monitor)
    assert monitor.wait_for_line("started")
    assert cli("fleet", "delete", fleet.fleet_id).code == 0
    assert monitor.proc.wait(timeout=10) == 0
    monitor._reader.join(timeout=5)
    assert f"stopped: fleet {fleet.fleet_id} was deleted" in monitor.lines[-1]


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["monitor", "start", "--tick", "0"], 2, "--tick"),
        (["monitor", "config", "--member-id", "{d}", "--interval", "-5"], 2, "--interval"),
        (["monitor", "config", "--member-id", "{d}", "--interval", "0"], 2, "--interval"),
        (["monitor", "config", "--member-id", "{d}"], 2, "nothing to change"),
        (["monitor", "config", "--member-id", "999", "--interval", "5"], 1, "agent 999 not found"),
        (["monitor", "config", "--member-id", "{a}", "--disable"], 1, "Administrator"),
    ],
)
def test_bad_monitor_input(cli, fleet, args, code, message):
    args = [a.replace("{d}", str(fleet.director_id)).replace("{a}", str(fleet.director_id + 1)) for a in args]
    result = run(cli, fleet, *args)
    assert result.code == code and message in result.err, result.err
    assert "Traceback" not in result.err


def test_status_shows_schedules_and_unread(cli, fleet, agents):
    member = spawn(cli, fleet, agents, "sam")
    run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "sam", "--text", "x")
    status = run(cli, fleet, "--json", "monitor", "status").json()
    assert status["running"] is False
    rows = {a["agent_id"]: a for a in status["agents"]}
    assert (rows[fleet.director_id]["interval_seconds"], rows[member]["interval_seconds"]) == (120, 300)
    assert rows[member]["unread"] == 1 and rows[member]["oldest_unread_age_seconds"] >= 0
    text = run(cli, fleet, "monitor", "status").out
    assert text.startswith("monitor: stopped")
    assert re.search(rf"sam#{member} member( state=\w+)? every=300s enabled", text), text
