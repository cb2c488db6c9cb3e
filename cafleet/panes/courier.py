"""The courier: `python -m cafleet.panes.courier`, one per database on each host.

It delivers every notice for a pane on its host that is still due (another host's notices
wait, `pending`, for that host's courier): one worker thread per pane (a broadcast reaches
all panes at once, while one pane's notices stay in order), each looking at the pane before
typing and recording the true outcome. A notice the agent cannot take yet (starting, asking,
a draft in the box) is retried, so later notices to that pane wait behind it. The courier
watches for commits (`cafleet.changes`), so a commit by any process wakes it within a poll interval.
It leaves when no live fleet has an agent placed on this host, on a tmux server it can reach.
While it runs it stamps its host's row in `couriers` (`cafleet.broker.couriers`) every
liveness round, and removes the row when it leaves cleanly.

Once a second it also looks at the pane of every agent placed on this host and records its
state when it changes (the TUI and `agent show` read that), and when a member starts asking
a question it tells the member's Director, once per question.
"""

from __future__ import annotations

import fcntl
import os
import signal
import sys
import threading
import time
from collections import defaultdict

from cafleet.agent_state import AgentState
from cafleet.broker import agent_states, couriers, notifications
from cafleet.broker.notifications import PreviewJob
from cafleet.changes import open_feed
from cafleet.domain import AgentKind
from cafleet.hosts import this_host
from cafleet.invocation import fleet_command
from cafleet.lock_files import courier_lock_name, open_lock
from cafleet.notify import FORBIDDEN, LIVE, LOCK_FD_VARIABLE, probe_tmux
from cafleet.panes import keystrokes
from cafleet.panes.observe import observe
from cafleet.panes.preview import preview_text
from cafleet.panes.spawn_recovery import reap_dead_spawns
from cafleet.panes.tmux import Tmux
from cafleet.timestamps import utc_now

POLL_SECONDS = 0.1
WATCH_SECONDS = 1.0
RETRY_SECONDS = {"deferred:starting": 0.3, "deferred:asking": 1.0, "deferred:draft": 1.0}
LIVENESS_SECONDS = 5.0
PaneKey = tuple[str, str]


class Courier:
    def __init__(self, host: str):
        self.host = host
        self.pid = os.getpid()
        self.started_at = utc_now()
        self._servers: dict[str, Tmux] = {}
        self._busy: set[PaneKey] = set()
        self._retry_at: dict[PaneKey, float] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._asked: dict[int, str | None] = {}  # member id -> the question its Director was told about

    def run(self) -> str:

        feed = None
        next_liveness = 0.0
        threading.Thread(target=self._watch_states, daemon=True).start()
        while True:
            now = time.monotonic()
            if now >= next_liveness:
                why = self._reason_to_leave()
                if why:
                    return why
                self._stamp()
                self._reap_dead_spawns()
                next_liveness = now + LIVENESS_SECONDS
            try:
                fresh = feed is None
                if feed is None:
                    feed = open_feed()
                if feed.wait(0) or fresh or self._retry_due(now):
                    self._dispatch()
            except Exception as exc:  # a busy or briefly unreadable database: try again next round
                print(f"{utc_now()} dispatch failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                if feed is not None:
                    feed.close()
                feed = None
                time.sleep(1)
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()

    def _watch_states(self) -> None:
        while True:
            try:
                self._look_at_every_pane()
            except Exception as exc:  # a bad round must not end the watching; say why in the log
                print(f"{utc_now()} state watch failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            time.sleep(WATCH_SECONDS)

    def _look_at_every_pane(self) -> None:
        panes: dict[str, dict] = {}
        for agent in agent_states.watched_agents():
            placement = agent.placement
            tmux = self._server(placement.tmux_socket)
            if placement.tmux_socket not in panes:
                tmux.forget_server()
                panes[placement.tmux_socket] = tmux.panes()
            seen = observe(tmux, placement, panes[placement.tmux_socket].get(placement.tmux_pane_id or ""))
            agent_states.record_state(agent.agent_id, seen)
            if seen.state != AgentState.ASKING:
                self._asked.pop(agent.agent_id, None)
            elif (
                agent.kind == AgentKind.MEMBER and placement.director_id is not None
                and self._asked.get(agent.agent_id, "") != seen.question
            ):
                self._asked[agent.agent_id] = seen.question
                text = agent_states.needs_you_text(
                    fleet_command(agent.fleet_id), placement.director_id, agent.agent_id, seen.question or "",
                )
                if agent_states.tell_director(agent, text):
                    self._wake.set()

    def _stamp(self) -> None:
        try:
            couriers.stamp(self.host, self.pid, self.started_at)
        except Exception as exc:  # a busy database: the next round stamps again
            print(f"{utc_now()} stamping the courier row failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def check_out(self) -> None:
        try:
            couriers.check_out(self.host, self.pid)
        except Exception as exc:  # the row then ages out: readers see it as not alive
            print(f"{utc_now()} removing the courier row failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def _reap_dead_spawns(self) -> None:
        try:
            for reaped in reap_dead_spawns():
                print(f"{utc_now()} {reaped.note()}", file=sys.stderr, flush=True)
        except Exception as exc:  # the next round tries again; delivery goes on meanwhile
            print(f"{utc_now()} reaping dead spawns failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    def _server(self, socket: str) -> Tmux:
        with self._lock:
            return self._servers.setdefault(socket, Tmux(socket))

    def _retry_due(self, now: float) -> bool:
        with self._lock:
            return any(at <= now for at in self._retry_at.values())

    def _reason_to_leave(self) -> str | None:
        probes = {probe_tmux(socket) for socket in notifications.live_pane_sockets()}
        if LIVE in probes:
            return None
        if FORBIDDEN in probes:
            return "cannot reach tmux from here (sandboxed?)"
        notifications.settle_unreachable()  # their panes went with their tmux servers
        return f"no agents placed on host {self.host} on a live tmux server"

    def _dispatch(self) -> None:
        jobs = notifications.due_notices()
        by_pane: dict[PaneKey, list[PreviewJob]] = defaultdict(list)
        settled: dict[int, str] = {}
        for job in jobs:
            if job.placement is None:
                settled[job.task_id] = "skipped:no-placement"
            else:
                by_pane[(job.placement.tmux_socket, job.placement.tmux_pane_id or f"pending-{job.recipient_id}")].append(job)
        notifications.record_outcomes(settled)
        now = time.monotonic()
        with self._lock:
            for key, pane_jobs in by_pane.items():
                if key in self._busy or self._retry_at.get(key, 0) > now:
                    continue
                self._busy.add(key)
                self._retry_at.pop(key, None)
                threading.Thread(target=self._deliver_to_pane, args=(key, pane_jobs), daemon=True).start()

    def _deliver_to_pane(self, key: PaneKey, jobs: list[PreviewJob]) -> None:
        try:
            for job in jobs:
                status = self._deliver(job)
                if status != job.status:
                    notifications.record_outcomes({job.task_id: status})
                if status.startswith(notifications.DEFERRED_PREFIX):
                    with self._lock:
                        self._retry_at[key] = time.monotonic() + RETRY_SECONDS.get(status, 1.0)
                    return  # later notices must not overtake this one
        finally:
            with self._lock:
                self._busy.discard(key)
            self._wake.set()

    def _deliver(self, job: PreviewJob) -> str:
        if not job.unread or not notifications.still_unread(job.task_id):
            return "skipped:no-longer-unread"
        placement = job.placement
        if placement is None:
            return "skipped:no-placement"
        if placement.tmux_pane_id is None:
            return "deferred:starting"
        tmux = self._server(placement.tmux_socket)
        text = preview_text(job.task_id, job.sender_name, job.sender_id, job.created_at, job.text)
        try:
            return keystrokes.submit(tmux, placement, text).status
        except Exception as exc:  # one bad pane must not stop the courier; the outcome is recorded
            return f"failed:{type(exc).__name__}: {exc}"


def main() -> int:
    from cafleet.db import open_database

    host = this_host()
    inherited = os.environ.pop(LOCK_FD_VARIABLE, "")
    if inherited.isdigit():
        fd = int(inherited)  # locked by the process that started us
    else:
        fd = open_lock(courier_lock_name())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another courier serves this database on this host
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    open_database()
    signal.signal(signal.SIGTERM, _leave_on_sigterm)
    courier = Courier(host)
    try:
        reason = courier.run()
    except SystemExit:
        reason = "terminated"
    courier.check_out()
    print(f"{utc_now()} courier {os.getpid()} for host {host} left: {reason}", file=sys.stderr, flush=True)
    return 0


def _leave_on_sigterm(_signum, _frame) -> None:
    raise SystemExit(0)  # unwinds into main, which removes the host's row


if __name__ == "__main__":
    sys.exit(main())
