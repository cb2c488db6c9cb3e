"""Read model for the TUI: the host each placed agent of a fleet runs on, and per host whether
its courier is alive and whether notices for its agents are waiting.

A host's notices can only be typed by a courier running on that host; when none runs there,
they wait, and only the human can start one. This read lets the TUI say so.
"""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from cafleet.broker.convert import value_rows
from cafleet.broker.couriers import ALIVE_WITHIN_SECONDS
from cafleet.broker.notifications import notice_due_sql
from cafleet.core.timestamps import parse_stamp, to_stamp, utc_now
from cafleet.store.models import Agent, Courier, Placement, Task, database
from cafleet.store.orm import SQL, fn

# A notice usually goes out within a second or two, and a courier started on demand needs a
# moment to write its row: only notices waiting longer than this count as stuck.
STUCK_AFTER_SECONDS = 10


class HostState(NamedTuple):
    """One host of the fleet. `host` None: placed before hosts were recorded (the one machine
    of a SQLite database), so any live courier serves it."""

    host: str | None
    courier_alive: bool
    notices_waiting: int
    waiting_since: str | None  # when the oldest waiting notice was stored


class FleetHosts(NamedTuple):
    agent_hosts: dict[int, str | None]  # every placed agent of the fleet
    hosts: tuple[HostState, ...]  # sorted by name, None first
    read_at: str

    def spans_hosts(self) -> bool:
        """Whether the fleet's placements are on more than one known host."""
        return len({host for host in self.agent_hosts.values() if host is not None}) > 1

    def stuck(self) -> list[HostState]:
        """Hosts with notices waiting longer than `STUCK_AFTER_SECONDS` and no live courier."""
        waited_from = _seconds_before(self.read_at, STUCK_AFTER_SECONDS)
        return [h for h in self.hosts if not h.courier_alive and h.waiting_since is not None and h.waiting_since <= waited_from]


def _seconds_before(stamp: str, seconds: float) -> str:
    return to_stamp(parse_stamp(stamp) - timedelta(seconds=seconds))


def fleet_hosts(fleet_id: int, now: str | None = None) -> FleetHosts:
    """Hosts of the fleet's placed agents as of `now` (default: the current time)."""
    now = now or utc_now()
    with database.atomic(lock_type="DEFERRED"):  # one snapshot: a courier's stamp cannot fall between reads
        agent_hosts = _agent_hosts(fleet_id)
        waiting = _waiting_notices(agent_hosts)
        live = _live_couriers(_seconds_before(now, ALIVE_WITHIN_SECONDS))
    hosts = []
    for host in sorted(set(agent_hosts.values()), key=lambda h: (h is not None, h or "")):
        count, since = waiting[host] if host in waiting else (0, None)
        hosts.append(HostState(host, bool(live) if host is None else host in live, count, since))
    return FleetHosts(agent_hosts, tuple(hosts), now)


def _agent_hosts(fleet_id: int) -> dict[int, str | None]:
    query = (
        Placement.select(Placement.agent, Placement.host)
        .join(Agent, on=(Placement.agent == Agent.id))
        .where(Agent.fleet == fleet_id)
    )
    return dict(value_rows(query))


def _waiting_notices(agent_hosts: dict[int, str | None]) -> dict[str | None, tuple[int, str]]:
    """Per host: how many notices for its agents wait, and since when."""
    # Grouped by recipient over every fleet: only then does the query stay on the small
    # partial index of due notices (a fleet condition would walk all the fleet's tasks).
    query = (
        Task.select(Task.recipient, fn.COUNT(Task.id), fn.MIN(Task.created_at))
        .where(SQL(notice_due_sql()))
        .group_by(Task.recipient)
    )
    waiting: dict[str | None, tuple[int, str]] = {}
    for recipient, count, since in value_rows(query):
        if recipient not in agent_hosts:
            continue  # an agent of another fleet
        host = agent_hosts[recipient]
        if host in waiting:
            count, since = count + waiting[host][0], min(since, waiting[host][1])
        waiting[host] = (count, since)
    return waiting


def _live_couriers(seen_after: str) -> set[str]:
    query = Courier.select(Courier.host).where(Courier.seen_at >= seen_after)
    return {host for (host,) in value_rows(query)}
