"""`cafleet monitor …`: run the fleet's supervision loop, see it, tune each agent's schedule."""

from __future__ import annotations

from datetime import UTC

import click

from cafleet.cli.output import emit
from cafleet.cli.params import ID
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, require_fleet
from cafleet.cli.types import Seconds, WholeNumber
from cafleet.core.limits import MAX_INTERVAL_SECONDS
from cafleet.core.terminal import block
from cafleet.store.db import open_database


@click.group("monitor", cls=CafleetSubgroup)
def monitor_group():
    """The loop that wakes agents that are due (run it as a background task)."""


@monitor_group.command("start", cls=CafleetCommand, director_only=True)
@click.option(
    "--tick",
    type=Seconds(0.2, 3600),
    default=5,
    show_default=True,
    metavar="SECONDS",
    help="How often the loop looks for due agents.",
)
@click.option(
    "--wake-backoff",
    type=WholeNumber(1, 3600),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="Wake an agent held by its provider that shows no reset time after this long, then "
    "twice as long after each wake, at most hourly.",
)
def start_command(tick, wake_backoff):
    """Run the fleet's monitor in the foreground until SIGINT/SIGTERM or the fleet is deleted.

    An agent its provider holds (a usage limit, a refused login, a full context) is woken once
    the reset time it shows has passed, or on the back-off when it shows none.
    """
    from datetime import timedelta

    from cafleet.core.holds import WakePolicy
    from cafleet.panes.monitor_loop import MonitorLoop

    fleet_id = require_fleet()
    open_database()
    policy = WakePolicy(first=timedelta(seconds=wake_backoff))
    loop = MonitorLoop(fleet_id, tick, lambda line: click.echo(block(line)), policy)
    loop.install_signal_handlers()
    loop.run()


@monitor_group.command("status", cls=CafleetCommand)
def status_command():
    """Is the loop running, and each agent's schedule, unread count and oldest unread age."""
    from cafleet.broker.agent_states import seen_states
    from cafleet.broker.guards import live_fleet
    from cafleet.broker.monitor import runtime, schedules
    from cafleet.services.lost_servers import seen_now

    fleet_id = require_fleet()
    open_database()
    live_fleet(fleet_id)
    loop = runtime(fleet_id)
    agents = schedules(fleet_id)
    rows = seen_states([s.agent.id for s in agents])
    seen = {s.agent.id: seen_now(s.agent.id, rows.get(s.agent.id), s.agent.placement) for s in agents}
    emit(
        {
            "fleet_id": fleet_id,
            "running": bool(loop and loop.live),
            "pid": loop.pid if loop else None,
            "started_at": loop.started_at if loop else None,
            "last_tick_at": loop.last_tick_at if loop else None,
            "tick_seconds": loop.tick_seconds if loop else None,
            "agents": [_schedule_json(s, seen.get(s.agent.id)) for s in agents],
        },
        lambda: "\n".join([_loop_line(loop)] + [_schedule_line(s, seen.get(s.agent.id)) for s in agents]),
    )


@monitor_group.command("config", cls=CafleetCommand, director_only=True)
@click.option(
    "--member-id", type=ID, required=True, metavar="ID", help="The agent whose schedule changes (a member or the Director)."
)
@click.option(
    "--interval", type=WholeNumber(1, MAX_INTERVAL_SECONDS), metavar="SECONDS", help="Wake it at most this often (1 s to a week)."
)
@click.option("--enable/--disable", default=None, help="Turn its wake-ups on or off.")
def config_command(member_id, interval, enable):
    """Change an agent's wake-up schedule."""
    from cafleet.broker.monitor import configure

    fleet_id = require_fleet()
    if interval is None and enable is None:
        raise click.UsageError("nothing to change; pass --interval SECONDS, --enable or --disable")
    open_database()
    schedule = configure(fleet_id, member_id, interval, enable)
    emit(_schedule_json(schedule), lambda: _schedule_line(schedule))


def _schedule_json(schedule, seen=None) -> dict:
    from cafleet.cli.hold_output import hold_json

    return {
        "agent_id": schedule.agent.id,
        "name": schedule.agent.name,
        "kind": schedule.agent.kind,
        "interval_seconds": schedule.interval_seconds,
        "enabled": schedule.enabled,
        "last_ping_at": schedule.last_ping_at,
        "unread": schedule.unread,
        "oldest_unread_at": schedule.oldest_unread_at,
        "oldest_unread_age_seconds": _age(schedule.oldest_unread_at),
        "state": seen.state.value if seen else None,
        "question": seen.question if seen else None,
        "hold": hold_json(seen),
    }


def _schedule_line(schedule, seen=None) -> str:
    from cafleet.cli.hold_output import hold_words
    from cafleet.core.timestamps import short

    age = _age(schedule.oldest_unread_at)
    state = f" state={seen.state}" + (f" asks={seen.question!r}" if seen.question else "") if seen else ""
    held = hold_words(seen)
    state += f" ({held})" if held else ""
    return (
        f"  {schedule.agent.handle} {schedule.agent.kind}{state} every={schedule.interval_seconds}s "
        f"{'enabled' if schedule.enabled else 'disabled'} last-ping={short(schedule.last_ping_at)} "
        f"unread={schedule.unread}" + (f" oldest-unread={age}s" if age is not None else "")
    )


def _loop_line(loop) -> str:
    from cafleet.core.timestamps import short

    if loop is None:
        return "monitor: stopped"
    state = "running" if loop.live else "stale"
    return f"monitor: {state} pid={loop.pid} tick={loop.tick_seconds:g}s last-tick={short(loop.last_tick_at)}"


def _age(stamp) -> int | None:
    if stamp is None:
        return None
    from datetime import datetime

    from cafleet.core.timestamps import parse_stamp

    return int((datetime.now(UTC) - parse_stamp(stamp)).total_seconds())
