"""A fleet that spans two hosts, on one PostgreSQL database: two private tmux servers stand for
host A and host B (CAFLEET_HOST_ID in each server's environment and in every process started
for it), each pane running the stand-in agent. Keystrokes only ever come from a process on
the pane's own host: a notice for B's pane waits `pending` until B's courier runs, however
long A's courier runs beside it. Each host's courier is started by the commands its agents
run (`fleet create` on A, `agent register` from B's pane, then any message command).

Runs in every pass (it asks for `postgres_url` itself, whatever CAFLEET_TEST_ENGINE says)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from cafleet.core.hosts import HOST_VARIABLE
from tests.panes_support import OUTSIDE_PANES, couriers_of, inputs, task_row, wait_for, wait_for_notify
from tests.support import TmuxServer, private_tmux_server

HOST_A, HOST_B = "host-a", "host-b"


class Host(NamedTuple):
    """One host: its tmux server, whose first pane runs a stand-in agent logging to `log`."""

    id: str
    tmux: TmuxServer
    log: Path

    @property
    def pane_env(self) -> dict:
        """A process in the host's agent pane."""
        return {**self.tmux.pane_env(), HOST_VARIABLE: self.id}

    @property
    def shell_env(self) -> dict:
        """The human at a terminal of this host, outside every agent's pane."""
        return {**OUTSIDE_PANES, HOST_VARIABLE: self.id}

    def events(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()] if self.log.exists() else []

    def screen(self) -> str:
        return self.tmux.tmux("capture-pane", "-p", "-J", "-t", self.tmux.pane_id, "-S", "-200").stdout

    def start_courier(self, log: Path) -> subprocess.Popen:
        """`python -m cafleet.panes.courier` on this host, as `cafleet.services.courier_launcher` starts it (here
        without an inherited lock: the courier takes its host's lock itself)."""
        with open(log, "ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "cafleet.panes.courier"],
                env={**os.environ, HOST_VARIABLE: self.id},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )


@contextmanager
def host(host_id: str, tmp_path: Path, name: str) -> Iterator[Host]:
    log = tmp_path / f"{name}.jsonl"
    agent = f"exec {sys.executable} -m cafleet.demo.standin_agent --name {name} --log {log}"
    with private_tmux_server({HOST_VARIABLE: host_id}, agent) as server:
        yield Host(host_id, server, log)


class TwoHosts(NamedTuple):
    a: Host
    b: Host
    fleet_id: int
    director_id: int
    helper_id: int  # a pane-less agent of the human on host A, to wake A's courier with


@pytest.fixture
def two_hosts(postgres_url, monkeypatch, tmp_path, cli) -> Iterator[TwoHosts]:
    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)  # before the tmux servers copy the environment
    with ExitStack() as stack:
        a = stack.enter_context(host(HOST_A, tmp_path, "director"))
        b = stack.enter_context(host(HOST_B, tmp_path, "bee"))
        stack.callback(_stop_couriers)  # first out: before the servers and the database go
        for side in (a, b):
            wait_for(lambda side=side: any(e["event"] == "ready" for e in side.events()), what=f"the stand-in on {side.id}")
        created = cli("--json", "fleet", "create", "--label", "two-hosts", env=a.pane_env)
        assert created.code == 0, created.err
        fleet = created.json()
        helper = cli(
            "--fleet-id",
            fleet["fleet_id"],
            "agent",
            "register",
            "--name",
            "ops",
            "--description",
            "the human's scripts",
            "--quiet",
            env=a.shell_env,
        )
        assert helper.code == 0, helper.err
        yield TwoHosts(a, b, fleet["fleet_id"], fleet["director"]["agent_id"], int(helper.out))


def _stop_couriers() -> None:
    for pid in couriers_of():
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not couriers_of(), what="the couriers to leave")


def courier_rows() -> dict[str, tuple[int, bool]]:
    from cafleet.broker.couriers import couriers
    from cafleet.store.db import open_database

    open_database()
    return {c.host: (c.pid, c.alive) for c in couriers()}


def join_from_host_b(cli, hosts: TwoHosts) -> int:
    """The agent in B's pane registers itself into A's fleet from its own pane."""
    joined = cli(
        "--fleet-id",
        hosts.fleet_id,
        "agent",
        "register",
        "--name",
        "bee",
        "--description",
        "works on host B",
        "--quiet",
        env=hosts.b.pane_env,
    )
    assert joined.code == 0, joined.err
    return int(joined.out)


def send(cli, hosts: TwoHosts, sender: int, to: str, text: str, env: dict) -> int:
    sent = cli(
        "--fleet-id", hosts.fleet_id, "message", "send", "--agent-id", sender, "--to", to, "--text", text, "--quiet", env=env
    )
    assert sent.code == 0, sent.err
    return int(sent.out)


def sync_host_a(cli, hosts: TwoHosts, text: str) -> None:
    """A notice to the Director, delivered by A's courier: once it lands, A's courier has
    dispatched everything sent before it (it takes due notices oldest first)."""
    task = send(cli, hosts, hosts.helper_id, "director", text, hosts.a.shell_env)
    assert wait_for_notify(task, timeout=15) == "delivered"
    assert typed(hosts.a, text)


def typed(side: Host, text: str) -> list[str]:
    """The inputs typed into the host's agent that hold `text`."""
    return [line for line in inputs(side.events()) if text in line]


def notify_status_shown(cli, hosts: TwoHosts, task_id: int) -> str:
    shown = cli(
        "--fleet-id",
        hosts.fleet_id,
        "--json",
        "message",
        "show",
        "--agent-id",
        hosts.director_id,
        "--task-id",
        task_id,
        env=hosts.a.pane_env,
    )
    assert shown.code == 0, shown.err
    return shown.json()["notify_status"]


def kill_courier(side: Host) -> None:
    """SIGKILL the host's courier (its row stays behind, no longer stamped)."""
    for pid in couriers_of(host=side.id):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not couriers_of(host=side.id), what=f"{side.id}'s courier to be gone")


def test_an_agent_that_joins_from_host_b_gets_its_notices_without_polling(cli, two_hosts):
    hosts = two_hosts
    # `fleet create` started A's courier; joining from B's pane starts B's.
    (a_pid,) = wait_for(lambda: couriers_of(host=HOST_A), what="A's courier, started by `fleet create`")
    bee = join_from_host_b(cli, hosts)
    (b_pid,) = wait_for(lambda: couriers_of(host=HOST_B), what="B's courier, started by `agent register`")
    wait_for(lambda: courier_rows().get(HOST_B) == (b_pid, True), what="B's courier to check in")

    # Nobody on B runs anything more: the Director's message is typed into B's pane.
    task = send(cli, hosts, hosts.director_id, "bee", "typed on B with no poll", hosts.a.pane_env)
    assert wait_for_notify(task, timeout=15) == "delivered"
    wait_for(lambda: typed(hosts.b, "typed on B with no poll"), what="the notice in B's stand-in")
    assert "typed on B with no poll" in hosts.b.screen()
    # And the answer from B reaches the Director's pane on A, through A's courier.
    answer = send(cli, hosts, bee, "director", "answer from B", hosts.b.pane_env)
    assert wait_for_notify(answer, timeout=15) == "delivered"
    wait_for(lambda: typed(hosts.a, "answer from B"), what="the answer in the Director's stand-in")

    shown = cli("--json", "doctor", env=hosts.b.pane_env)
    report = shown.json()["hosts"]
    assert (report["this_host"], report["courier_started"]) == (HOST_B, None)
    assert {(c["host"], c["pid"], c["alive"]) for c in report["couriers"]} == {(HOST_A, a_pid, True), (HOST_B, b_pid, True)}

    # B's courier dies: `doctor` on B starts another and reports it, checked in.
    kill_courier(hosts.b)
    text = cli("doctor", env=hosts.b.shell_env)
    (restarted,) = couriers_of(host=HOST_B)
    assert restarted != b_pid
    (line,) = [line for line in text.out.splitlines() if line.startswith("host: ")]
    assert f"{HOST_B} pid {restarted} alive" in line and f"started this host's courier, pid {restarted}" in line, line
    assert f"{HOST_A} pid {a_pid} alive" in line


def test_each_command_an_agent_on_host_b_runs_brings_its_courier_back(cli, two_hosts):
    hosts = two_hosts
    bee = join_from_host_b(cli, hosts)
    wait_for(lambda: couriers_of(host=HOST_B), what="B's courier")
    to_bee = [send(cli, hosts, hosts.director_id, "bee", f"for bee {n}", hosts.a.pane_env) for n in range(2)]
    from_bee = send(cli, hosts, bee, str(hosts.helper_id), "to ops, then canceled", hosts.b.pane_env)
    commands = {
        "whoami": ["whoami"],
        "message poll": ["message", "poll", "--agent-id", bee],
        "message show": ["message", "show", "--agent-id", bee, "--task-id", to_bee[0]],
        "message ack": ["message", "ack", "--agent-id", bee, "--task-id", to_bee[1]],
        "message cancel": ["message", "cancel", "--agent-id", bee, "--task-id", from_bee],
        "message send": ["message", "send", "--agent-id", bee, "--to", "ops", "--text", "one more"],
        "message broadcast": ["message", "broadcast", "--agent-id", bee, "--text", "to everyone"],
        "doctor": ["doctor"],
        "agent register": ["agent", "register", "--name", "cee", "--description", "a script on B"],
    }
    for name, args in commands.items():
        kill_courier(hosts.b)
        env = hosts.b.shell_env if name == "agent register" else hosts.b.pane_env  # B's pane is bee's already
        done = cli("--fleet-id", hosts.fleet_id, *args, env=env)
        assert done.code == 0, (name, done.err)
        wait_for(lambda: couriers_of(host=HOST_B), what=f"`{name}` on B to start B's courier")


def test_a_notice_for_a_pane_on_host_b_is_typed_only_by_host_bs_courier(cli, two_hosts, tmp_path):
    hosts = two_hosts
    (a_pid,) = wait_for(lambda: couriers_of(host=HOST_A), what="A's courier")
    bee = join_from_host_b(cli, hosts)
    shown = cli(
        "--fleet-id", hosts.fleet_id, "--json", "agent", "show", "--agent-id", bee, "--id", bee, env=hosts.b.pane_env
    ).json()
    assert (shown["placement"]["host"], shown["placement"]["tmux_pane_id"]) == (HOST_B, hosts.b.tmux.pane_id)
    assert shown["placement"]["tmux_socket"] == hosts.b.tmux.socket_path

    # Host A's courier runs all along; with B's gone, it never takes B's notices.
    kill_courier(hosts.b)
    first = send(cli, hosts, hosts.director_id, "bee", "first for bee", hosts.a.pane_env)
    sync_host_a(cli, hosts, "sync one")
    assert task_row(first).notify_status == "pending" and notify_status_shown(cli, hosts, first) == "pending"
    assert couriers_of(host=HOST_B) == []
    assert not typed(hosts.a, "for bee")  # nor did A's courier type it into a pane of its own

    # B's courier is back: the notice lands in B's pane.
    restarted = hosts.b.start_courier(tmp_path / "courier-b.log")
    assert wait_for_notify(first, timeout=15) == "delivered"
    wait_for(lambda: "first for bee" in hosts.b.screen(), what="the notice on B's screen")
    assert typed(hosts.b, "first for bee")
    wait_for(lambda: courier_rows().get(HOST_B, (0, False)) == (restarted.pid, True), what="B's new courier to check in")
    assert couriers_of(host=HOST_A) == [a_pid]  # A's courier ran throughout

    # A courier that is told to stop leaves cleanly: it removes its host's row.
    restarted.terminate()
    assert restarted.wait(timeout=10) == 0
    assert HOST_B not in courier_rows() and HOST_A in courier_rows()


def test_member_create_is_refused_away_from_the_directors_host(cli, two_hosts):
    hosts = two_hosts
    refused = cli(
        "--fleet-id",
        hosts.fleet_id,
        "member",
        "create",
        "--agent-id",
        hosts.director_id,
        "--name",
        "far",
        "--description",
        "spawned from B",
        env=hosts.b.shell_env,
    )
    assert refused.code == 1
    assert refused.err.strip() == (
        f"Error: the Director (agent {hosts.director_id}) lives on host {HOST_A} and this is host {HOST_B}; a member is spawned "
        f"beside the Director, so run `cafleet member create` on {HOST_A} (in the Director's pane)"
    )
    roster = cli("--fleet-id", hosts.fleet_id, "--json", "agent", "list", "--agent-id", hosts.director_id, env=hosts.a.pane_env)
    assert "far" not in [agent["name"] for agent in roster.json()]


def test_a_pane_on_one_host_is_nobody_on_another(cli, two_hosts):
    hosts = two_hosts
    bee = join_from_host_b(cli, hosts)
    # Host A's pane %0 and host B's pane %0: each is only its own host's agent.
    whoami_b = cli("--fleet-id", hosts.fleet_id, "--json", "whoami", env=hosts.b.pane_env)
    assert whoami_b.code == 0, whoami_b.err
    assert whoami_b.json()["agent_id"] == bee
    as_director_from_b = cli(
        "--fleet-id", hosts.fleet_id, "message", "poll", "--agent-id", hosts.director_id, env=hosts.b.pane_env
    )
    assert as_director_from_b.code == 1 and f"--agent-id {hosts.director_id}" in as_director_from_b.err
