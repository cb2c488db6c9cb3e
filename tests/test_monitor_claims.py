"""Who runs a fleet's monitor: claiming, heartbeats, and taking over from a stale loop."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from cafleet.broker import monitor
from cafleet.broker.fleets import delete_fleet
from cafleet.core.errors import Refused
from cafleet.core.timestamps import to_stamp
from cafleet.store.models import MonitorRuntime


@pytest.fixture
def dead_pid():
    """A pid that belonged to a process which has exited."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def age_heartbeat(fleet_id: int, seconds: float) -> None:
    then = datetime.now(UTC) - timedelta(seconds=seconds)
    MonitorRuntime.update(last_tick_at=to_stamp(then)).where(MonitorRuntime.fleet == fleet_id).execute()


def test_the_first_claim_takes_an_empty_seat(fleet):
    assert monitor.claim(fleet.fleet_id, os.getpid(), 5) is None
    running = monitor.runtime(fleet.fleet_id)
    assert (running.pid, running.tick_seconds, running.live) == (os.getpid(), 5, True)


def test_a_live_loop_refuses_another_claim(fleet):
    monitor.claim(fleet.fleet_id, os.getpid(), 5)
    with pytest.raises(Refused, match=f"already running for fleet {fleet.fleet_id} \\(pid {os.getpid()}"):
        monitor.claim(fleet.fleet_id, os.getppid(), 5)
    assert monitor.runtime(fleet.fleet_id).pid == os.getpid()


def test_the_same_process_may_claim_again(fleet):
    monitor.claim(fleet.fleet_id, os.getpid(), 5)
    previous = monitor.claim(fleet.fleet_id, os.getpid(), 2)
    assert previous.pid == os.getpid() and monitor.runtime(fleet.fleet_id).tick_seconds == 2


def test_a_loop_silent_for_three_ticks_is_stale_and_taken_over(fleet):
    monitor.claim(fleet.fleet_id, os.getppid(), 5)
    age_heartbeat(fleet.fleet_id, 3 * 5 - 1)
    assert monitor.runtime(fleet.fleet_id).live
    age_heartbeat(fleet.fleet_id, 3 * 5 + 1)
    assert not monitor.runtime(fleet.fleet_id).live
    previous = monitor.claim(fleet.fleet_id, os.getpid(), 5)
    assert (previous.pid, previous.live) == (os.getppid(), False)
    assert monitor.runtime(fleet.fleet_id).pid == os.getpid()


def test_a_loop_whose_process_died_is_taken_over_at_once(fleet, dead_pid):
    monitor.claim(fleet.fleet_id, dead_pid, 5)
    assert not monitor.runtime(fleet.fleet_id).live
    assert monitor.claim(fleet.fleet_id, os.getpid(), 5).pid == dead_pid


def test_a_displaced_loop_learns_it_from_its_heartbeat(fleet, dead_pid):
    monitor.claim(fleet.fleet_id, dead_pid, 5)
    monitor.claim(fleet.fleet_id, os.getpid(), 5)
    assert monitor.heartbeat(fleet.fleet_id, dead_pid) == f"another monitor (pid {os.getpid()}) took over"
    assert monitor.heartbeat(fleet.fleet_id, os.getpid()) is None


def test_a_heartbeat_stops_the_loop_of_a_deleted_fleet(fleet):
    monitor.claim(fleet.fleet_id, os.getpid(), 5)
    delete_fleet(fleet.fleet_id)
    assert monitor.heartbeat(fleet.fleet_id, os.getpid()) == f"fleet {fleet.fleet_id} was deleted"


def test_release_frees_only_ones_own_seat(fleet):
    monitor.claim(fleet.fleet_id, os.getpid(), 5)
    monitor.release(fleet.fleet_id, os.getppid())
    assert monitor.runtime(fleet.fleet_id) is not None
    monitor.release(fleet.fleet_id, os.getpid())
    assert monitor.runtime(fleet.fleet_id) is None
