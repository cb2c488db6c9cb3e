"""Pane and courier lock files: in cafleet's own private `locks/` beside the (private) database,
and a pane lock that someone holds delays typing by a few seconds at most, never forever."""

from __future__ import annotations

import fcntl
import os
import stat
import time

import pytest

from cafleet.core.hosts import this_host
from tests.panes_support import agents, inputs, panes_fleet, run, spawn, wait_for, wait_for_notify  # noqa: F401 (agents is a fixture)

fleet = panes_fleet("locks")


def _ready_member(cli, fleet, agents, name: str) -> int:
    member_id = spawn(cli, fleet, name)
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    return member_id


def _pane_lock_file(local_dir, tmux_server, member_id: int):
    from cafleet.panes.keystrokes import pane_lock_name
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    pane = Placement.get(Placement.agent == member_id).tmux_pane_id
    return local_dir / "locks" / pane_lock_name(tmux_server.socket_path, pane)


def test_lock_files_are_private_to_the_user_and_doctor_says_where_they_are(cli, fleet, agents, tmux_server, local_dir):
    member_id = _ready_member(cli, fleet, agents, "ada")
    task = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", member_id, "--text", "hi", "--quiet")
    assert wait_for_notify(int(task.out)) == "delivered"
    locks = local_dir / "locks"
    info = os.lstat(locks)
    assert stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) == 0o700
    names = sorted(p.name for p in locks.iterdir())
    courier = f"courier-{this_host()}"  # one courier per host: its lock and log carry the host id
    assert f"{courier}.lock" in names and f"{courier}.log" in names and any(n.startswith("pane-") for n in names)
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in locks.iterdir() if p.suffix == ".lock"} == {
        n: 0o600 for n in names if n.endswith(".lock")
    }
    report = run(cli, fleet, "--json", "doctor").json()
    assert report["files"] == {"lock_directory": str(locks), "courier_log": str(locks / f"{courier}.log")}
    assert not [p for p in report["problems"] if "lock" in p or "database" in p]


def test_a_held_pane_lock_defers_typing_after_a_few_seconds_then_delivery_resumes(cli, fleet, agents, tmux_server, local_dir):
    from cafleet.panes.keystrokes import PANE_LOCK_TIMEOUT_SECONDS

    member_id = _ready_member(cli, fleet, agents, "bob")
    lock_file = _pane_lock_file(local_dir, tmux_server, member_id)
    lock_file.parent.mkdir(mode=0o700, exist_ok=True)
    holder = os.open(lock_file, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # someone holds the pane's lock and does not let go

        started = time.monotonic()
        ping = run(cli, fleet, "member", "ping", "--agent-id", fleet.director_id, "--member-id", member_id)
        waited = time.monotonic() - started
        assert ping.code == 1, ping
        assert ping.err.startswith("Error: member bob's pane was not typed into: deferred:pane-locked; it shows ready")
        assert PANE_LOCK_TIMEOUT_SECONDS <= waited < PANE_LOCK_TIMEOUT_SECONDS + 10

        task = int(
            run(
                cli,
                fleet,
                "message",
                "send",
                "--agent-id",
                fleet.director_id,
                "--to",
                "bob",
                "--quiet",
                "--text",
                "after the lock",
            ).out
        )
        status = wait_for_notify(task, timeout=PANE_LOCK_TIMEOUT_SECONDS + 10, until=lambda s: s == "deferred:pane-locked")
        assert status == "deferred:pane-locked"  # recorded truthfully while it waits
        assert inputs(agents.log_of("bob")) == []
    finally:
        os.close(holder)
    assert wait_for_notify(task, timeout=PANE_LOCK_TIMEOUT_SECONDS + 10) == "delivered"
    wait_for(lambda: any("after the lock" in text for text in inputs(agents.log_of("bob"))), what="the notice to land")


def test_a_loosened_locks_directory_is_tightened_again(cli, fleet, agents, tmux_server, local_dir):
    member_id = _ready_member(cli, fleet, agents, "cal")
    locks = local_dir / "locks"
    locks.chmod(0o777)
    ping = run(cli, fleet, "member", "ping", "--agent-id", fleet.director_id, "--member-id", member_id)
    assert ping.code == 0, ping.err
    assert stat.S_IMODE(locks.stat().st_mode) == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_locks_directory_of_another_user_is_refused(cli, fleet, agents, tmux_server, local_dir):
    member_id = _ready_member(cli, fleet, agents, "dot")
    locks = local_dir / "locks"
    os.chown(locks, 65534, 65534)
    try:
        ping = run(cli, fleet, "member", "ping", "--agent-id", fleet.director_id, "--member-id", member_id)
        assert ping.code == 1, ping
        assert ping.err == (
            f"Error: lock directory {locks} belongs to another user (uid 65534); remove it (rm -r {locks}) and cafleet recreates it\n"
        )
        report = run(cli, fleet, "--json", "doctor").json()
        assert (
            f"lock directory {locks} belongs to another user (uid 65534); remove it (rm -r {locks}) and cafleet recreates it"
            in report["problems"]
        )
    finally:
        os.chown(locks, os.geteuid(), os.getegid())
