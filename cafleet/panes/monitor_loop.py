"""`cafleet monitor start`: the fleet's supervision loop.

Each tick it heartbeats, stops if the fleet is gone or another loop took over, and types the
poll command into every agent that is due: enabled, its interval elapsed since its last ping,
a live pane that is not a shell, and, for members, at least one unread message (the Director
is due on every interval: that is its supervision tick).
"""

from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Callable

from cafleet.backends import poll_command
from cafleet.broker import monitor as rows
from cafleet.panes import keystrokes
from cafleet.panes.safety import target_problem
from cafleet.notify import ensure_courier
from cafleet.panes.tmux import PaneState, Tmux
from cafleet.timestamps import parse_stamp, short, utc_now


class MonitorLoop:
    """One fleet's loop in this process. `say` receives one line per decision."""

    def __init__(self, fleet_id: int, tick_seconds: float, say: Callable[[str], None]):
        self.fleet_id = fleet_id
        self.tick_seconds = tick_seconds
        self.say = say
        self.pid = os.getpid()
        self.stopping = threading.Event()
        self._servers: dict[str, Tmux] = {}

    def run(self) -> str:
        """Claim the fleet, tick until told to stop; returns why it stopped."""
        previous = rows.claim(self.fleet_id, self.pid, self.tick_seconds)
        if previous is not None and previous.pid != self.pid:
            self.say(f"{short(utc_now())} took over from stale monitor pid {previous.pid} (last tick {short(previous.last_tick_at)})")
        self.say(f"{short(utc_now())} monitor for fleet {self.fleet_id} started (pid {self.pid}, tick {self.tick_seconds:g}s)")
        reason = "stopped by signal"
        try:
            while not self.stopping.is_set():
                stop = rows.heartbeat(self.fleet_id, self.pid)
                if stop:
                    reason = stop
                    break
                ensure_courier()  # the monitor runs outside any sandbox: it keeps notices moving
                self.tick()
                self.stopping.wait(self.tick_seconds)
        finally:
            rows.release(self.fleet_id, self.pid)
        self.say(f"{short(utc_now())} monitor for fleet {self.fleet_id} stopped: {reason}")
        return reason

    def stop(self, *_signal_args) -> None:
        self.stopping.set()

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self.stop)
        signal.signal(signal.SIGTERM, self.stop)

    def tick(self) -> None:
        now = datetime.now(timezone.utc)
        schedules = rows.schedules(self.fleet_id)
        panes = self._pane_states(schedules)
        due = []
        for schedule in schedules:
            why = _due_reason(schedule, now)
            if why is None:
                continue
            placement = schedule.agent.placement
            tmux = self._servers.get(placement.tmux_socket) if placement else None
            state = panes.get((placement.tmux_socket, placement.tmux_pane_id)) if placement else None
            problem = target_problem(placement, tmux, state)
            if problem:
                self.say(f"{short(utc_now())} skip {schedule.agent.handle} ({why}): {problem}")
                continue
            due.append((schedule, why, tmux, state))
        if not due:
            return
        with ThreadPoolExecutor(max_workers=min(8, len(due))) as pool:
            for schedule, why, outcome in pool.map(lambda job: (*job[:2], self._wake(*job)), due):
                self.say(f"{short(utc_now())} ping {schedule.agent.handle} ({why}): {outcome}")

    def _wake(self, schedule: rows.Schedule, _why: str, tmux: Tmux, _state: PaneState) -> str:
        outcome = keystrokes.submit(tmux, schedule.agent.placement, poll_command(self.fleet_id, schedule.agent.id))
        if outcome.delivered:
            rows.stamp_ping(schedule.agent.id, utc_now())
        return outcome.status

    def _pane_states(self, schedules: list[rows.Schedule]) -> dict[tuple[str, str], PaneState]:
        """One `list-panes -a` per tmux server, however many agents there are."""
        sockets = {s.agent.placement.tmux_socket for s in schedules if s.agent.placement is not None}
        states = {}
        for socket in sockets:
            tmux = self._servers.setdefault(socket, Tmux(socket))
            tmux.forget_server()
            for pane_id, state in tmux.panes().items():
                states[(socket, pane_id)] = state
        return states


def _due_reason(schedule: rows.Schedule, now: datetime) -> str | None:
    """Why this agent should be woken now, or None."""
    if not schedule.enabled or schedule.agent.placement is None:
        return None
    reference = schedule.last_ping_at or schedule.agent.placement.created_at
    if (now - parse_stamp(reference)).total_seconds() < schedule.interval_seconds:
        return None
    if schedule.agent.kind == "director":
        return f"supervision tick every {schedule.interval_seconds}s"
    if schedule.unread == 0:
        return None
    return f"{schedule.unread} unread, every {schedule.interval_seconds}s"
