"""The monitor's rows: who runs a fleet's loop (`monitor_runtime`) and each agent's wake-up
schedule (`monitor_config`)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import NamedTuple

from cafleet.broker.convert import agents_with_placements, value_rows
from cafleet.broker.dialect import upsert
from cafleet.broker.guards import agent_in_fleet, live_fleet
from cafleet.core.domain import (
    DEFAULT_MONITOR_INTERVAL,
    DEFAULT_MONITOR_INTERVALS,
    NOTICE_CLAIMED,
    NOTICE_DEFERRED,
    NOTICE_DELIVERED,
    NOTICE_PENDING,
    AgentKind,
    AgentStatus,
    TaskState,
)
from cafleet.core.errors import InvalidInput, Refused
from cafleet.core.limits import MAX_INTERVAL_SECONDS
from cafleet.core.records import AgentRecord
from cafleet.core.timestamps import parse_stamp, short, utc_now
from cafleet.store.models import Agent, Fleet, MonitorConfig, MonitorRuntime, Task, database
from cafleet.store.orm import Case, fn

STALE_AFTER_TICKS = 3


class Runtime(NamedTuple):
    fleet_id: int
    pid: int
    started_at: str
    last_tick_at: str
    tick_seconds: float
    live: bool


class Schedule(NamedTuple):
    agent: AgentRecord
    interval_seconds: int
    enabled: bool
    last_ping_at: str | None
    unread: int
    oldest_unread_at: str | None
    last_notice_at: str | None = None  # a delivered notice of an unread message woke it then
    notices_waiting: int = 0  # unread messages whose notice the courier has yet to type


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _runtime(row: MonitorRuntime) -> Runtime:
    age = (datetime.now(UTC) - parse_stamp(row.last_tick_at)).total_seconds()
    live = age <= STALE_AFTER_TICKS * row.tick_seconds and pid_alive(row.pid)
    return Runtime(row.fleet_id, row.pid, row.started_at, row.last_tick_at, row.tick_seconds, live)


def claim(fleet_id: int, pid: int, tick_seconds: float) -> Runtime | None:
    """Make `pid` the fleet's monitor. Returns the stale runtime it took over, if any.

    A live loop (recent heartbeat, process alive) refuses the claim.
    """
    now = utc_now()
    with database.atomic():
        live_fleet(fleet_id)
        row = MonitorRuntime.get_or_none(MonitorRuntime.fleet == fleet_id)
        previous = _runtime(row) if row is not None else None
        if previous is not None and previous.live and previous.pid != pid:
            raise Refused(
                f"a monitor is already running for fleet {fleet_id} (pid {previous.pid}, last tick "
                f"{short(previous.last_tick_at)}); stop it first (kill {previous.pid}) or let it be"
            )
        upsert(MonitorRuntime, fleet=fleet_id, pid=pid, started_at=now, last_tick_at=now, tick_seconds=tick_seconds)
    return previous


def heartbeat(fleet_id: int, pid: int) -> str | None:
    """Stamp the tick. Returns why the loop must stop (fleet deleted, displaced), else None."""
    with database.atomic():
        fleet = Fleet.get_or_none(Fleet.id == fleet_id)
        if fleet is None or fleet.deleted_at is not None:
            return f"fleet {fleet_id} was deleted"
        updated = (
            MonitorRuntime.update(last_tick_at=utc_now())
            .where((MonitorRuntime.fleet == fleet_id) & (MonitorRuntime.pid == pid))
            .execute()
        )
    if not updated:
        row = MonitorRuntime.get_or_none(MonitorRuntime.fleet == fleet_id)
        return f"another monitor (pid {row.pid}) took over" if row else "the runtime row was removed"
    return None


def release(fleet_id: int, pid: int) -> None:
    with database.atomic():
        MonitorRuntime.delete().where((MonitorRuntime.fleet == fleet_id) & (MonitorRuntime.pid == pid)).execute()


def runtime(fleet_id: int) -> Runtime | None:
    row = MonitorRuntime.get_or_none(MonitorRuntime.fleet == fleet_id)
    return _runtime(row) if row is not None else None


def schedules(fleet_id: int) -> list[Schedule]:
    """Every active agent with a schedule, with its unread count and oldest unread message."""
    configs = {
        c.agent_id: c
        for c in MonitorConfig.select().join(Agent).where((Agent.fleet == fleet_id) & (Agent.status == AgentStatus.ACTIVE))
    }
    if not configs:
        return []
    delivered_at = Case(None, [(Task.notify_status == NOTICE_DELIVERED, Task.notified_at)])
    waiting = Case(
        None,
        [
            (Task.notify_status == NOTICE_PENDING, 1),
            (Task.notify_status == NOTICE_CLAIMED, 1),  # being typed this moment
            (Task.notify_status.startswith(NOTICE_DEFERRED), 1),
        ],
        0,
    )
    unread = {
        owner: (count, oldest, noticed, int(waits or 0))
        for owner, count, oldest, noticed, waits in value_rows(
            Task.select(Task.owner, fn.COUNT(Task.id), fn.MIN(Task.created_at), fn.MAX(delivered_at), fn.SUM(waiting))
            .where(Task.owner.in_(list(configs)) & (Task.state == TaskState.UNREAD))
            .group_by(Task.owner)
        )
    }
    result = []
    for agent in agents_with_placements(Agent.id.in_(list(configs))):
        config = configs[agent.id]
        count, oldest, noticed, waits = unread.get(agent.id, (0, None, None, 0))
        result.append(
            Schedule(agent, config.interval_seconds, bool(config.enabled), config.last_ping_at, count, oldest, noticed, waits)
        )
    return result


def stamp_ping(agent_id: int, when: str) -> None:
    with database.atomic():
        MonitorConfig.update(last_ping_at=when).where(MonitorConfig.agent == agent_id).execute()


def configure(fleet_id: int, agent_id: int, interval: int | None, enabled: bool | None) -> Schedule:
    """Change (or create) an agent's schedule."""
    if interval is not None and not 1 <= interval <= MAX_INTERVAL_SECONDS:
        raise InvalidInput(f"interval {interval} is out of range; use 1 to {MAX_INTERVAL_SECONDS} seconds (a week)")
    with database.atomic():
        live_fleet(fleet_id)
        agent = agent_in_fleet(fleet_id, agent_id)
        if agent.status != AgentStatus.ACTIVE:
            raise Refused(f"agent {agent_id} ({agent.name}) is deregistered; it has no schedule")
        if agent.kind == AgentKind.ADMINISTRATOR:
            raise Refused(f"agent {agent_id} is the Administrator (the human); the monitor never wakes it")
        config = MonitorConfig.get_or_none(MonitorConfig.agent == agent_id)
        if config is None:
            config = MonitorConfig(
                agent=agent_id, interval_seconds=DEFAULT_MONITOR_INTERVALS.get(agent.kind, DEFAULT_MONITOR_INTERVAL), enabled=True
            )
            config.save(force_insert=True)
        if interval is not None:
            config.interval_seconds = interval
        if enabled is not None:
            config.enabled = enabled
        config.save()
    return next(s for s in schedules(fleet_id) if s.agent.id == agent_id)
