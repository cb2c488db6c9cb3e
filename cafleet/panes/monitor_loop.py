"""`cafleet monitor start`: the fleet's supervision loop.

Each tick it heartbeats, stops if the fleet is gone or another loop took over, and types the
poll command into every agent that is due: enabled, its interval elapsed since its last ping
or the last delivered notice, and, for members, an unread message whose notice is not still
waiting for the courier (the Director is due on every interval: its supervision tick). Only
an agent whose input box is empty is typed into; the rest get one log line per change.

An agent its provider refuses (held: `cafleet.core.holds`) is due instead once the reset it
showed has passed, or on a back-off when it showed none; it is woken with a line that tells it
to carry on (`cafleet.panes.hold_wakes`), typed even though its screen still shows the limit.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import NamedTuple

from cafleet.backends import poll_command
from cafleet.broker import agent_states, holds, monitor
from cafleet.core.agent_state import HELD, AgentState
from cafleet.core.domain import AgentKind
from cafleet.core.holds import WakePolicy
from cafleet.core.timestamps import parse_stamp, short, utc_now
from cafleet.panes import keystrokes
from cafleet.panes.hold_wakes import wake_due, wake_text
from cafleet.panes.tmux import Tmux
from cafleet.services.courier_launcher import ensure_courier

READY_ONLY = frozenset({AgentState.READY})


class Due(NamedTuple):
    schedule: monitor.Schedule
    why: str
    held: AgentState | None = None  # woken from this hold (its reset passed, or its back-off)


class MonitorLoop:
    """One fleet's loop in this process. `say` receives one line per decision."""

    def __init__(self, fleet_id: int, tick_seconds: float, say: Callable[[str], None], policy: WakePolicy | None = None):
        self.fleet_id = fleet_id
        self.tick_seconds = tick_seconds
        self.say = say
        self.policy = policy or WakePolicy()  # when held agents that show no reset time are woken
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
        schedules = monitor.schedules(self.fleet_id)
        seen = agent_states.seen_states([s.agent.id for s in schedules])
        due = [job for s in schedules if (job := self._due(s, seen.get(s.agent.id), now))]
        if not due:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(due))) as pool:
            for job, outcome in zip(due, pool.map(self._wake, due), strict=True):
                self._report(job, outcome)

    def _due(self, schedule: monitor.Schedule, seen: agent_states.SeenState | None, now: datetime) -> Due | None:
        if seen is not None and seen.state in HELD:
            why = wake_due(schedule, seen, now, self.policy)
            return Due(schedule, why, seen.state) if why else None
        why = _due_reason(schedule, now)
        return Due(schedule, why) if why else None

    def _wake(self, job: Due) -> keystrokes.Outcome:
        """Type the poll command, only into an agent whose input box is empty (or, waking it
        from a hold, the line that tells it to carry on, into its empty box under the limit)."""
        schedule = job.schedule
        placement = schedule.agent.placement
        assert placement is not None  # _due never picks an agent without a pane
        tmux = self._servers.setdefault(placement.tmux_socket, Tmux(placement.tmux_socket))
        if job.held is None:
            text = poll_command(self.fleet_id, schedule.agent.id)
        else:
            text = wake_text(self.fleet_id, schedule.agent.id, job.held)
        outcome = keystrokes.submit(tmux, placement, text, allowed=READY_ONLY, held_too=job.held is not None)
        if outcome.delivered:
            monitor.stamp_ping(schedule.agent.id, utc_now())
            if job.held is not None:
                holds.note_wake(schedule.agent.id, datetime.now(UTC))
        return outcome

    def _report(self, job: Due, outcome: keystrokes.Outcome) -> None:
        """A line per ping (a `wake` from a hold), and one per change of why an agent cannot be
        pinged (not per tick)."""
        agent = job.schedule.agent
        verb = "ping" if job.held is None else "wake"
        if outcome.delivered:
            self._unpingable.pop(agent.id, None)
            self.say(f"{short(utc_now())} {verb} {agent.handle} ({job.why}): delivered")
        elif self._unpingable.get(agent.id) != outcome.status:
            self._unpingable[agent.id] = outcome.status
            self.say(f"{short(utc_now())} skip {agent.handle} ({job.why}): {outcome.status}")


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
