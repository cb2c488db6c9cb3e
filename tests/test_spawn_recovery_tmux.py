"""A `member create` that dies between registering the member and recording its pane, on a real
private tmux server: the next command that notices reaps the member and closes the pane.

A tmux hook on the test's server (`after-split-window` running a blocking `run-shell`) holds
the spawner right after its split, with the pane made and its id not yet recorded; the test
then kills the spawner for real (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC

import pytest

from cafleet.store.lock_files import courier_log_path
from tests.panes_support import couriers_of, create_panes_fleet, make_fake_agents, run, wait_for
from tests.support import cafleet_command


@pytest.fixture
def agents(tmp_path):
    return make_fake_agents(tmp_path)


@pytest.fixture
def fleet(tmux_server, agents, cli):
    """A fleet without the courier `fleet create` starts: these tests watch which command
    reaps a dead spawn, and a courier would race them (one test starts it on purpose)."""
    created = create_panes_fleet(cli, tmux_server, agents, "spawns")
    for pid in wait_for(couriers_of, what="the courier `fleet create` starts"):
        os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not couriers_of(), what="the courier to leave")
    return created


def _rows(member_id: int):
    """(agent status, pane id) of a member, or None once its rows are gone."""
    from cafleet.store.db import open_database
    from cafleet.store.models import Agent, Placement

    open_database()
    agent = Agent.get_or_none(Agent.id == member_id)
    if agent is None:
        return None
    placement = Placement.get_or_none(Placement.agent == member_id)
    return agent.status, None if placement is None else placement.tmux_pane_id


def _pending_member(name: str):
    from cafleet.store.db import open_database
    from cafleet.store.models import Agent, Placement

    open_database()
    row = (
        Placement.select(Placement, Agent)
        .join(Agent, on=(Placement.agent == Agent.id))
        .where((Agent.name == name) & Placement.tmux_pane_id.is_null())
        .first()
    )
    return None if row is None else row.agent.id


def _panes(tmux_server) -> set[str]:
    return set(tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").stdout.split())


def _start_held_spawn(tmux_server, fleet, name: str, hold_seconds: int = 60):
    """Start `member create` and return (process, member id, new pane id) once it sits between
    its split and recording the pane."""
    before = _panes(tmux_server)
    tmux_server.tmux("set-hook", "-g", "after-split-window", f"run-shell 'sleep {hold_seconds}'")
    spawner = subprocess.Popen(
        cafleet_command()
        + [
            "--fleet-id",
            str(fleet.fleet_id),
            "member",
            "create",
            "--agent-id",
            str(fleet.director_id),
            "--name",
            name,
            "--description",
            "held mid-spawn",
        ],
        env={**os.environ, **fleet.env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    member_id = wait_for(lambda: _pending_member(name), what="the pending member")
    (pane,) = wait_for(lambda: _panes(tmux_server) - before, what="the spawned pane")
    return spawner, member_id, pane


def test_a_member_create_killed_between_its_commits_is_reaped_by_member_list(cli, fleet, tmux_server, db_path):
    spawner, member_id, pane = _start_held_spawn(tmux_server, fleet, "zoe")
    try:
        # Still spawning: shown as pending, and nothing is reaped while the spawner lives.
        listed = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
        assert (listed.code, listed.err) == (0, ""), listed
        assert listed.out == f"{member_id} zoe member active pane=pending claude - held mid-spawn\n"
        assert pane in _panes(tmux_server)

        spawner.kill()
        spawner.wait(timeout=10)
    finally:
        tmux_server.tmux("set-hook", "-gu", "after-split-window")
        if spawner.poll() is None:
            spawner.kill()
    assert _rows(member_id) == ("active", None) and pane in _panes(tmux_server)
    assert couriers_of() == []  # nobody else reaps first: this list is the next command

    listed = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
    assert (listed.code, listed.out) == (0, "No members.\n"), listed
    assert listed.err == (
        f"Note: member zoe#{member_id} never finished spawning (its `member create` (pid {spawner.pid}) died): "
        f"removed it and closed its pane {pane}\n"
    )
    assert pane not in _panes(tmux_server)
    assert _rows(member_id) is None  # nothing named it: gone as if never created
    again = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
    assert (again.out, again.err) == ("No members.\n", "")


def test_the_courier_reaps_a_dead_spawn_by_itself(cli, fleet, tmux_server, local_dir, agents):
    first = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "amy", "--description", "x", "--quiet")
    assert first.code == 0, first.err  # it started the courier
    wait_for(lambda: couriers_of(), what="the courier")
    spawner, member_id, pane = _start_held_spawn(tmux_server, fleet, "bea")
    spawner.kill()
    spawner.wait(timeout=10)
    tmux_server.tmux("set-hook", "-gu", "after-split-window")

    wait_for(lambda: _rows(member_id) is None, timeout=15, what="the courier to reap the member")
    assert pane not in _panes(tmux_server)
    log = courier_log_path().read_text()
    assert (
        f"member bea#{member_id} never finished spawning (its `member create` (pid {spawner.pid}) died): removed it and closed its pane {pane}"
        in log
    )


def test_a_member_deleted_while_spawning_has_its_pane_closed_and_the_spawner_gives_up(cli, fleet, tmux_server):
    spawner, member_id, pane = _start_held_spawn(tmux_server, fleet, "cyd", hold_seconds=4)
    try:
        deleted = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", member_id)
        assert deleted.code == 0, deleted.err
        assert pane not in _panes(tmux_server)
        _out, err = spawner.communicate(timeout=30)
    finally:
        tmux_server.tmux("set-hook", "-gu", "after-split-window")
        if spawner.poll() is None:
            spawner.kill()
    assert spawner.returncode == 1
    assert err.decode() == (
        f"Error: member {member_id} was removed (deleted, or reaped as a dead spawn) while its pane {pane} was being "
        "spawned; the pane was closed: run `member create` again\n"
    )
    assert _rows(member_id)[0] == "deregistered"
    assert pane not in _panes(tmux_server)


def _register_pending(fleet, name: str, spawner: tuple[int, str] | None, created_at: str | None = None) -> int:
    """A member row as a `member create` leaves it right after its first commit."""
    from cafleet.broker.members import SpawnMark, register_member
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    mark = None if spawner is None else SpawnMark("0123456789abcdef", spawner[0], spawner[1])
    member = register_member(fleet.fleet_id, fleet.director_id, name, "never got a pane", "claude", mark)
    if created_at:
        Placement.update(created_at=created_at).where(Placement.agent == member.id).execute()
    return member.id


def _dead_process() -> tuple[int, str]:
    from cafleet.panes.processes import process_identity

    child = subprocess.Popen(["sleep", "30"])
    identity = process_identity(child.pid)
    child.kill()
    child.wait()
    return child.pid, identity


def test_a_spawn_that_died_before_its_split_frees_its_name_for_the_next_member_create(cli, fleet, tmux_server, agents):
    pid, identity = _dead_process()
    stale = _register_pending(fleet, "dan", (pid, identity))
    panes = _panes(tmux_server)

    created = run(
        cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "dan", "--description", "again", "--quiet"
    )
    assert created.code == 0, created.err
    assert created.err == (
        f"Note: member dan#{stale} never finished spawning (its `member create` (pid {pid}) died): removed it\n"
    )
    from cafleet.store.models import Agent

    (dan,) = Agent.select().where(Agent.name == "dan")  # the dead spawn's row is gone (its id may be reused)
    assert dan.id == int(created.out)
    assert _rows(dan.id) == ("active", (_panes(tmux_server) - panes).pop())


def test_a_pending_member_that_messages_name_is_deregistered_not_deleted(cli, fleet, tmux_server):
    stale = _register_pending(fleet, "eve", _dead_process())
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "eve", "--text", "hi", "--quiet")
    assert sent.code == 0, sent.err  # (the courier it started may be the one that reaps)
    listed = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
    assert listed.out == "No members.\n"
    assert _rows(stale) == ("deregistered", None)
    shown = run(cli, fleet, "message", "show", "--agent-id", fleet.director_id, "--task-id", sent.out.strip())
    assert shown.code == 0 and "hi" in shown.out


def test_a_pending_member_without_a_recorded_spawner_is_reaped_only_after_the_grace_period(cli, fleet, tmux_server):
    from datetime import datetime, timedelta

    from cafleet.core.timestamps import to_stamp
    from cafleet.panes.spawn_recovery import SPAWN_GRACE_SECONDS

    recent = _register_pending(fleet, "fay", None)
    old = _register_pending(
        fleet,
        "gus",
        None,
        to_stamp(datetime.now(UTC) - timedelta(seconds=SPAWN_GRACE_SECONDS + 5)),
    )
    listed = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
    assert listed.code == 0, listed
    assert listed.out == f"{recent} fay member active pane=pending claude - never got a pane\n"
    assert listed.err == f"Note: member gus#{old} never finished spawning (its `member create` died): removed it\n"
    assert _rows(old) is None and _rows(recent) == ("active", None)


def test_a_live_spawner_is_never_reaped(cli, fleet, tmux_server):
    from cafleet.panes.processes import process_identity

    mine = _register_pending(fleet, "hal", (os.getpid(), process_identity(os.getpid())))
    for _ in range(2):
        listed = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id)
        assert (listed.out, listed.err) == (f"{mine} hal member active pane=pending claude - never got a pane\n", "")
        time.sleep(0.2)
