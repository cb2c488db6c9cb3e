"""The hosts of a fleet: where each placed agent runs, whether each host's courier is alive,
and which hosts' notices wait (cafleet.broker.hosts_view)."""

from __future__ import annotations

from cafleet.broker import fleets, messages
from cafleet.broker.hosts_view import FleetHosts, HostState, fleet_hosts
from cafleet.store.models import Task
from tests.support import OTHER_PANE
from tests.tui_support import courier_seen, place_on_host

NOW = "2026-11-21T12:00:30.000000Z"


def stored_at(task_id: int, stamp: str, status: str = "pending") -> None:
    Task.update(created_at=stamp, notify_status=status).where(Task.id == task_id).execute()


def test_every_placed_agent_has_its_host(fleet):
    place_on_host(fleet.director_id, "host-a", "%1")
    place_on_host(fleet.alice_id, "host-b", "%3")
    hosts = fleet_hosts(fleet.fleet_id, NOW)
    # The Administrator and bob have no pane, so no host.
    assert hosts.agent_hosts == {fleet.director_id: "host-a", fleet.alice_id: "host-b"}
    assert [h.host for h in hosts.hosts] == ["host-a", "host-b"]
    assert hosts.spans_hosts()


def test_placements_from_before_hosts_were_recorded_are_one_machine(fleet):
    place_on_host(fleet.director_id, None, "%1")
    place_on_host(fleet.alice_id, "host-a", "%3")
    hosts = fleet_hosts(fleet.fleet_id, NOW)
    assert hosts.agent_hosts == {fleet.director_id: None, fleet.alice_id: "host-a"}
    assert [h.host for h in hosts.hosts] == [None, "host-a"]
    assert not hosts.spans_hosts()


def test_a_courier_is_alive_while_it_stamped_within_15_seconds(fleet):
    for host, pane in (("fresh", "%1"), ("stale", "%3"), ("absent", "%4")):
        place_on_host({"fresh": fleet.director_id, "stale": fleet.alice_id, "absent": fleet.bob_id}[host], host, pane)
    courier_seen("fresh", "2026-11-21T12:00:15.000000Z")
    courier_seen("stale", "2026-11-21T12:00:14.999999Z")
    alive = {h.host: h.courier_alive for h in fleet_hosts(fleet.fleet_id, NOW).hosts}
    assert alive == {"absent": False, "fresh": True, "stale": False}


def test_unrecorded_hosts_are_served_by_any_live_courier(fleet):
    place_on_host(fleet.director_id, None, "%1")
    assert fleet_hosts(fleet.fleet_id, NOW).hosts == (HostState(None, False, 0, None),)
    courier_seen("this-machine", NOW)
    assert fleet_hosts(fleet.fleet_id, NOW).hosts == (HostState(None, True, 0, None),)


def test_waiting_notices_per_host_since_the_oldest(fleet):
    place_on_host(fleet.director_id, "host-a", "%1")
    place_on_host(fleet.alice_id, "host-b", "%3")
    place_on_host(fleet.bob_id, "host-b", "%4")
    to_alice = messages.send_message(fleet.fleet_id, fleet.director_id, "alice", "one")
    to_bob = messages.send_message(fleet.fleet_id, fleet.director_id, "bob", "two")
    delivered = messages.send_message(fleet.fleet_id, fleet.director_id, "bob", "three")
    to_director = messages.send_message(fleet.fleet_id, fleet.alice_id, "director", "four")
    stored_at(to_alice.id, "2026-11-21T12:00:05.000000Z", "deferred:busy")
    stored_at(to_bob.id, "2026-11-21T12:00:01.000000Z")
    stored_at(delivered.id, "2026-11-21T11:00:00.000000Z", "delivered")
    stored_at(to_director.id, "2026-11-21T12:00:25.000000Z")
    waiting = {h.host: (h.notices_waiting, h.waiting_since) for h in fleet_hosts(fleet.fleet_id, NOW).hosts}
    assert waiting == {"host-a": (1, "2026-11-21T12:00:25.000000Z"), "host-b": (2, "2026-11-21T12:00:01.000000Z")}


def test_notices_of_another_fleet_do_not_count(fleet):
    other = fleets.create_fleet(OTHER_PANE)
    place_on_host(other.director.id, "host-b", "%2")
    place_on_host(fleet.director_id, "host-a", "%1")
    messages.send_message(other.fleet.id, other.administrator.id, "director", "elsewhere")
    hosts = fleet_hosts(fleet.fleet_id, NOW)
    assert [(h.host, h.notices_waiting) for h in hosts.hosts] == [("host-a", 0)]


def state(host: str | None, alive: bool, waiting_since: str | None) -> HostState:
    return HostState(host, alive, 0 if waiting_since is None else 3, waiting_since)


def test_notices_are_stuck_after_10_seconds_without_a_live_courier():
    hosts = FleetHosts(
        agent_hosts={},
        hosts=(
            state("served", True, "2026-11-21T11:00:00.000000Z"),
            state("idle", False, None),
            state("just-sent", False, "2026-11-21T12:00:20.000001Z"),
            state("stuck", False, "2026-11-21T12:00:20.000000Z"),
        ),
        read_at=NOW,
    )
    assert [h.host for h in hosts.stuck()] == ["stuck"]
