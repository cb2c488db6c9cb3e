"""`cafleet monitor start`: the fleet's supervision loop.

Each tick it heartbeats, stops if the fleet is gone or another loop took over, and types the
poll command into every agent that is due: enabled, its interval elapsed since its last ping
or the last delivered notice, and, for members, an unread message whose notice is not still
waiting for the courier (the Director is due on every interval: its supervision tick). Only
an agent whose input box is empty is typed into; the rest get one log line per change.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from cafleet.backends import poll_command
from cafleet.broker import monitor
from cafleet.core.agent_state import AgentState
from cafleet.core.domain import AgentKind
from cafleet.core.timestamps import parse_stamp, short, utc_now
from cafleet.panes import keystrokes
from cafleet.panes.tmux import Tmux
from cafleet.services.courier_launcher import ensure_courier

READY_ONLY = frozenset({AgentState.READY})


class MonitorLoop:
    """One fleet's loop in this process. `say` receives one line per decision."""

    def __init__(self, fleet_id: int, tick_seconds: float, say: Callable[[str], None]):
        self.fleet_id = fleet_id
        self.tick_seconds = tick_seconds
        self.say = say
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self._servers: dict[str, Tmux] = {}
        self._unpingable: dict[int, str] = {}  # agent id -> the last reason said

    def run(self) -> str:
        """Claim the fleet, tick until told to stop; returns why it stopped."""
        previous = monitor.claim(self.fleet_id, self.pid, self.tick_seconds)
        if previous is not None and previous.pid != self.pid:
            self.say(
                f"{short(utc_now())} took over from stale monitor pid {previous.pid} (last tick {short(previous.last_tick_at)})"
            )
        self.say(f"{short(utc_now())} monitor for fleet {self.fleet_id} started (pid {self.pid}, tick {self.tick_seconds:g}s)")
        reason = "stopped by signal"
        try:
            while not self.stopping.is_set():
                stop = monitor.heartbeat(self.fleet_id, self.pid)
                if stop:
                    reason = stop
                    break
                ensure_courier(always=True)  # the monitor runs outside any sandbox: it keeps notices moving
                self.tick()
                self.stopping.wait(self.tick_seconds)
        finally:
            monitor.release(self.fleet_id, self.pid)
        self.say(f"{short(utc_now())} monitor for fleet {self.fleet_id} stopped: {reason}")
        return reason

    def stop(self, *_signal_args) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def tick(self) -> None:
        now = datetime.now(UTC)
        due = [(s, why) for s in monitor.schedules(self.fleet_id) if (why := _due_reason(s, now))]
        if not due:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(due))) as pool:
            for (schedule, why), outcome in zip(due, pool.map(self._wake, due), strict=True):
                self._report(schedule, why, outcome)

    def _wake(self, job: tuple[monitor.Schedule, str]) -> keystrokes.Outcome:
        """Type the poll command, only into an agent whose input box is empty."""
        schedule = job[0]
        placement = schedule.agent.placement
        assert placement is not None  # _due_reason never picks an agent without a pane
        tmux = self._servers.setdefault(placement.tmux_socket, Tmux(placement.tmux_socket))
        outcome = keystrokes.submit(tmux, placement, poll_command(self.fleet_id, schedule.agent.id), allowed=READY_ONLY)
        if outcome.delivered:
            monitor.stamp_ping(schedule.agent.id, utc_now())
        return outcome

    def _report(self, schedule: monitor.Schedule, why: str, outcome: keystrokes.Outcome) -> None:
        """A line per ping, and one per change of why an agent cannot be pinged (not per tick)."""
        agent_id = schedule.agent.id
        if outcome.delivered:
            self._unpingable.pop(agent_id, None)
            self.say(f"{short(utc_now())} ping {schedule.agent.handle} ({why}): delivered")
        elif self._unpingable.get(agent_id) != outcome.status:
            self._unpingable[agent_id] = outcome.status
            self.say(f"{short(utc_now())} skip {schedule.agent.handle} ({why}): {outcome.status}")


def _due_reason(schedule: monitor.Schedule, now: datetime) -> str | None:
    """Why this agent should be woken now, or None."""
    if not schedule.enabled or schedule.agent.placement is None:
        return None
    reference = max(filter(None, (schedule.last_ping_at or schedule.agent.placement.created_at, schedule.last_notice_at)))
    if (now - parse_stamp(reference)).total_seconds() < schedule.interval_seconds:
        return None
    if schedule.agent.kind == AgentKind.DIRECTOR:
        return f"supervision tick every {schedule.interval_seconds}s"
    if schedule.unread == 0 or schedule.notices_waiting:
        return None  # nothing to read, or the courier is about to announce it
    return f"{schedule.unread} unread, every {schedule.interval_seconds}s"
