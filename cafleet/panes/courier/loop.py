"""The courier: `python -m cafleet.panes.courier`, one per database on each host.

It types every notice due for a pane on its host, exactly once (another host's notices wait,
`pending`, for that host's courier). Each round it reads the head of every pane's queue (a
recipient's oldest due notice), lets the scheduler pick the panes that may go (one delivery
per pane at a time, round-robin, no more than it has workers), claims each picked notice in
one transaction and hands it to a worker thread. The worker records every typing step under
the claim, then settles the claim with the true outcome. A claim left by a courier that died
is taken over and finished from its recorded step (`cafleet.panes.courier.delivery`).

The courier watches for commits (`cafleet.store.changes`), so a commit by any process wakes it
within a poll interval. It leaves when no live fleet has an agent placed on this host on a
tmux server it can reach, when its database file is moved away or replaced, or on SIGTERM
(after its workers finish the notice each is typing; claims not yet typed are given back).
While it runs it stamps its host's row in `couriers` every liveness round, and removes the
row when it leaves.

Once a second it also looks at the pane of every agent placed on this host and records its
state when it changes (the TUI and `agent show` read that), and when a member starts asking
a question it tells the member's Director, once per question; when its provider holds a
member (a usage limit, a long retry, a refused login, a full context), once per hold. Every
few seconds it compares worktree members' branches (`OverlapWatch`) and looks for the
conversations new members' agents saved (`SessionWatch`), which `fleet restore` resumes, and
reads budgeted members' usage to tell their Directors of 80 % and 100 % (`BudgetWatch`).

The human's notifiers (webhook, ntfy, desktop, a command) are sent to from a thread of their
own (`NotifyWatch`): the events the state watch records (a member asking, held, unreadable,
idle with unread messages, stalled), budget crossings, and the messages agents write to the
Administrator.
"""

from __future__ import annotations

import fcntl
import os
import queue
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from cafleet.broker import agent_states, couriers, holds, notifications, notify_sources
from cafleet.broker.notifications import NoticeHead, PreviewJob
from cafleet.core.agent_state import HELD, AgentState, Observation
from cafleet.core.domain import NOTICE_CLAIMED, NOTICE_DEFERRED, NOTICE_HELD, NOTICE_PASTE_NOT_SHOWN, AgentKind
from cafleet.core.hosts import this_host
from cafleet.core.invocation import fleet_command
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.timestamps import parse_stamp, utc_now
from cafleet.panes.courier import delivery
from cafleet.panes.courier.attention import AttentionWatch
from cafleet.panes.courier.log_lines import LogLines
from cafleet.panes.courier.notify_watch import NotifyWatch
from cafleet.panes.courier.schedule import PaneKey, PaneScheduler
from cafleet.panes.courier.start_hangs import StartHangs
from cafleet.panes.courier.unreadable_streaks import UnreadableStreaks
from cafleet.panes.observe import BLANK_REASON, observe
from cafleet.panes.processes import process_ended, process_identity
from cafleet.panes.spawn_recovery import reap_dead_spawns
from cafleet.panes.tmux import Tmux
from cafleet.services.courier_launcher import LOCK_FD_VARIABLE
from cafleet.services.lost_servers import mark_lost
from cafleet.services.tmux_probe import ServerSeen, dead_servers, probe_servers
from cafleet.store.changes import ChangeFeed, open_feed
from cafleet.store.lock_files import courier_lock_name, open_lock

POLL_SECONDS = 0.1
WATCH_SECONDS = 1.0
# How often members' branches are compared for files two of them change (told within 30 s).
OVERLAP_SECONDS = 5.0
RETRY_SECONDS = {
    "deferred:starting": 0.3,
    "deferred:asking": 1.0,
    "deferred:draft": 1.0,
    # A refused agent stays so for seconds (a retry) to hours (a usage limit): look less often.
    **{f"deferred:{state}": 5.0 for state in HELD},
    "deferred:unreadable": 5.0,
    NOTICE_HELD: 2.0,
    # Long enough for a late paste to show (it is then submitted), so it is not pasted twice.
    NOTICE_PASTE_NOT_SHOWN: 5.0,
}
LIVENESS_SECONDS = 5.0
# How often a pane whose head notice another, still running, process holds is looked at again.
HELD_ELSEWHERE_SECONDS = 1.0
# Deliveries in flight at once, each to its own pane: a broadcast reaches this many panes in
# parallel, and the courier holds at most this many database connections (plus two).
WORKERS = 8


class Delivery(NamedTuple):
    """One claimed notice for one pane; `recovering` when a dead courier's claim was taken over."""

    pane: PaneKey
    job: PreviewJob
    recovering: bool


def claimer_id(pid: int) -> str:
    """What a claim records of its courier: the pid, and what tells it from a later process
    given the same pid (see `cafleet.panes.processes.process_identity`)."""
    return f"{pid} {process_identity(pid) or ''}"


def claim_abandoned(job: PreviewJob) -> bool:
    """Whether the courier holding `job`'s claim is gone (or, where this process cannot tell,
    its lease ran out)."""
    pid, _, identity = (job.claim or "").partition(" ")
    if not pid.isdigit() or not identity:
        return notifications.lease_expired(job.lease_until)
    ended = process_ended(int(pid), identity)
    return ended if ended is not None else notifications.lease_expired(job.lease_until)


def pane_key(head: NoticeHead | PreviewJob) -> PaneKey:
    if isinstance(head, NoticeHead):
        socket, pane, recipient = head.tmux_socket, head.tmux_pane_id, head.recipient_id
    else:
        placement = head.placement
        socket, pane, recipient = (
            (placement.tmux_socket, placement.tmux_pane_id, head.recipient_id) if placement else (None, None, head.recipient_id)
        )
    return (socket or "", pane or f"pending-{recipient}")


class Courier:
    def __init__(self, host: str, database_file: Path | None = None):
        self.host = host
        self.pid = os.getpid()
        self.claimer = claimer_id(self.pid)
        self.started_at = utc_now()
        self._database_file = database_file
        self._database_identity = _file_identity(database_file)
        self._servers: dict[str, Tmux] = {}
        self._servers_lock = threading.Lock()
        self._scheduler = PaneScheduler()
        self._deliveries: queue.Queue[Delivery | None] = queue.Queue()
        self._workers = [threading.Thread(target=self._work, name=f"courier-worker-{n}") for n in range(WORKERS)]
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._unrecorded: dict[int, str] = {}  # outcomes typed but not yet stored (the database refused)
        self._unrecorded_lock = threading.Lock()
        self._asked: dict[int, str | None] = {}  # member id -> the question its Director was told about
        self._unreadable = UnreadableStreaks()  # when a member's Director is told its screen cannot be read
        self._start_hangs = StartHangs()  # members whose agent hung starting, started again
        self._served: set[str] | None = None  # the tmux sockets it last found work on
        self._notify = NotifyWatch(self.claimer, self._stopping, _log)
        self._notify_thread = threading.Thread(target=self._notify.run, name="courier-notify")
        self._attention = AttentionWatch()

    def stop(self) -> None:
        """Leave after the deliveries in flight (safe to call from a signal handler)."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> str:
        for worker in self._workers:
            worker.start()
        threading.Thread(target=self._watch_states, daemon=True, name="courier-watch").start()
        threading.Thread(target=self._watch_overlaps, daemon=True, name="courier-overlaps").start()
        threading.Thread(target=self._watch_sessions, daemon=True, name="courier-sessions").start()
        self._notify_thread.start()
        threading.Thread(target=self._watch_budgets, daemon=True, name="courier-budgets").start()
        try:
            return self._loop()
        finally:
            self._finish()

    def _loop(self) -> str:
        feed: ChangeFeed | None = None
        next_liveness = 0.0
        while not self._stopping.is_set():
            now = time.monotonic()
            try:
                if now >= next_liveness:
                    why = self._reason_to_leave()
                    if why:
                        return why
                    self._stamp()
                    self._reap_dead_spawns()
                    next_liveness = now + LIVENESS_SECONDS
                fresh = feed is None
                if feed is None:
                    feed = open_feed()
                if feed.wait(0) or fresh or self._wake.is_set() or self._scheduler.retry_due(now):
                    self._wake.clear()
                    self._dispatch()
            except Exception as exc:  # a busy or briefly unreadable database: try again next round
                why = _unusable_database(exc) or self._stranded(exc)
                if why:
                    return why
                _log(f"dispatch failed: {type(exc).__name__}: {exc}")
                if feed is not None:
                    feed.close()
                feed = None
                self._wake.wait(1)
            self._wake.wait(POLL_SECONDS)
        return "told to stop (SIGTERM)"

    def _finish(self) -> None:
        """Let each worker end the notice it is typing, give back what was claimed but not
        typed, and close."""
        self._stopping.set()
        abandoned: list[Delivery] = []
        while True:
            try:
                item = self._deliveries.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                abandoned.append(item)
        for _ in self._workers:
            self._deliveries.put(None)
        for worker in self._workers:
            worker.join()
        self._record_unrecorded()
        if self._notify_thread.is_alive():
            self._notify_thread.join()  # a request in flight ends within its timeout
        try:
            released = notifications.release(self.claimer)
            if released:
                _log(f"gave back {released} claimed notice(s) not typed yet")
        except Exception as exc:  # their claims age out: a successor sees this courier ended
            _log(f"giving back claims failed: {type(exc).__name__}: {exc}")
        if abandoned:
            _log(f"left {len(abandoned)} notice(s) for the next courier")

    # -- delivering ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        self._record_unrecorded()
        heads = notifications.due_heads()
        self._scheduler.forget({pane_key(head) for head in heads})
        slots = WORKERS - self._scheduler.busy()
        picked = self._scheduler.pick(((pane_key(head), head) for head in heads), slots, time.monotonic())
        if not picked:
            return
        jobs = {job.task_id: job for job in notifications.notice_jobs([head.task_id for _, head in picked])}
        for key, head in picked:
            job = jobs.get(head.task_id)
            taken = self._take(key, job) if job is not None else None
            if taken is not None:
                self._deliveries.put(taken)
            elif job is not None and job.status == NOTICE_CLAIMED and job.claim != self.claimer:
                self._scheduler.done(key, HELD_ELSEWHERE_SECONDS, time.monotonic())  # look again
            else:
                self._scheduler.done(key)

    def _take(self, key: PaneKey, job: PreviewJob) -> Delivery | None:
        """Claim `job` (or take over a dead courier's claim on it); None when it is not ours."""
        if job.status == NOTICE_CLAIMED:
            if job.claim == self.claimer:
                return None  # ours, its outcome not recorded yet
            if not claim_abandoned(job) or not notifications.take_over(job.task_id, job.claim or "", self.claimer):
                return None
            _log(f"took over notice {job.task_id} from courier {job.claim} (it died at step {job.step})")
            return Delivery(key, job, recovering=True)
        if not notifications.claim(job.task_id, self.claimer):
            return None
        return Delivery(key, job, recovering=False)

    def _work(self) -> None:
        try:
            while True:
                item = self._deliveries.get()
                if item is None:
                    return
                self._deliver(item)
        finally:
            from cafleet.store.db import close_thread_connection

            close_thread_connection()

    def _deliver(self, item: Delivery) -> None:
        retry_in = None
        try:
            tmux = self._server(item.job.placement.tmux_socket) if item.job.placement else None
            if tmux is None:
                status = f"skipped:{PaneProblem.NO_PLACEMENT}"
            elif item.recovering:
                status = delivery.recover(tmux, item.job, self.claimer)
            else:
                status = delivery.deliver(tmux, item.job, self.claimer)
        except Exception as exc:  # one bad pane must not stop the courier; the outcome is recorded
            status = f"failed:{type(exc).__name__}: {exc}"
        if status.startswith(NOTICE_DEFERRED):
            retry_in = RETRY_SECONDS.get(status, 1.0)
        self._record(item.job.task_id, status)
        self._scheduler.done(item.pane, retry_in, time.monotonic())
        self._wake.set()

    def _record(self, task_id: int, status: str) -> None:
        try:
            notifications.settle(task_id, self.claimer, status)
        except Exception as exc:  # kept, and stored once the database takes writes again
            _log(f"recording notice {task_id} as {status} failed: {type(exc).__name__}: {exc}")
            with self._unrecorded_lock:
                self._unrecorded[task_id] = status

    def _record_unrecorded(self) -> None:
        with self._unrecorded_lock:
            waiting, self._unrecorded = self._unrecorded, {}
        for task_id, status in waiting.items():
            self._record(task_id, status)

    def _server(self, socket: str) -> Tmux:
        with self._servers_lock:
            return self._servers.setdefault(socket, Tmux(socket))

    # -- staying or leaving ----------------------------------------------------------------

    def _reason_to_leave(self) -> str | None:
        if self._database_file is not None and _file_identity(self._database_file) != self._database_identity:
            return f"database file {self._database_file} was moved, removed or replaced"
        self._served = notifications.live_pane_sockets()
        probes = probe_servers(self._served)
        if ServerSeen.LIVE in probes.values():
            return None
        if ServerSeen.FORBIDDEN in probes.values():
            return "cannot reach tmux from here (sandboxed?)"
        notifications.settle_unreachable(dead_servers(probes))  # their panes went with their servers
        for agent_id in mark_lost(probes):  # no courier watches them once this one leaves
            _log(f"agent {agent_id} is lost: its tmux server is gone")
        return f"no agents placed on host {self.host} on a live tmux server"

    def _stranded(self, exc: Exception) -> str | None:
        """Why to leave while the database cannot be reached: every tmux server it last served
        is gone too, so nothing is left to type into (a cafleet command starts a courier again
        once the database is back)."""
        from cafleet.store.db_faults import FaultKind, fault_of

        fault = fault_of(exc)
        if fault is None or fault.kind != FaultKind.UNREACHABLE or not self._served:
            return None
        if set(probe_servers(self._served).values()) != {ServerSeen.DEAD}:
            return None
        return f"its database cannot be reached ({fault}) and every tmux server it served is gone"

    def _stamp(self) -> None:
        try:
            couriers.stamp(self.host, self.pid, self.started_at)
        except Exception as exc:  # a busy database: the next round stamps again
            _log(f"stamping the courier row failed: {type(exc).__name__}: {exc}")

    def check_out(self) -> None:
        try:
            couriers.check_out(self.host, self.pid)
        except Exception as exc:  # the row then ages out: readers see it as not alive
            _log(f"removing the courier row failed: {type(exc).__name__}: {exc}")

    def _reap_dead_spawns(self) -> None:
        try:
            for reaped in reap_dead_spawns():
                _log(reaped.note())
        except Exception as exc:  # the next round tries again; delivery goes on meanwhile
            _log(f"reaping dead spawns failed: {type(exc).__name__}: {exc}")

    # -- watching agents' states -----------------------------------------------------------

    def _watch_states(self) -> None:
        while not self._stopping.is_set():
            try:
                self._look_at_every_pane()
            except Exception as exc:  # a bad round must not end the watching; say why in the log
                _log(f"state watch failed: {type(exc).__name__}: {exc}")
            self._stopping.wait(WATCH_SECONDS)

    def _watch_overlaps(self) -> None:
        from cafleet.services.worktree_overlaps import OverlapWatch

        watch = OverlapWatch()
        while not self._stopping.is_set():
            try:
                if watch.look(self.host):
                    self._wake.set()  # the Director's notice is due
            except Exception as exc:  # git or the database failed this round; the next tries again
                _log(f"overlap watch failed: {type(exc).__name__}: {exc}")
            self._stopping.wait(OVERLAP_SECONDS)

    def _watch_sessions(self) -> None:
        from cafleet.panes.session_finding import EARLY_EVERY_SECONDS, SessionWatch

        watch = SessionWatch()
        while not self._stopping.is_set():
            try:
                watch.look()
            except Exception as exc:  # an agent's state unreadable this round; the next tries again
                _log(f"session watch failed: {type(exc).__name__}: {exc}")
            self._stopping.wait(EARLY_EVERY_SECONDS)

    def _watch_budgets(self) -> None:
        from cafleet.panes.budget_watch import LOOK_SECONDS, BudgetWatch

        watch = BudgetWatch()
        while not self._stopping.is_set():
            try:
                if watch.look():
                    self._wake.set()  # the Director's notice is due
            except Exception as exc:  # an agent's file or the database unreadable this round; the next tries again
                _log(f"budget watch failed: {type(exc).__name__}: {exc}")
            self._stopping.wait(LOOK_SECONDS)

    def _look_at_every_pane(self) -> None:
        panes: dict[str, dict] = {}
        looks: list[tuple[agent_states.Watched, Observation]] = []
        for agent in agent_states.watched_agents():
            placement = agent.placement
            tmux = self._server(placement.tmux_socket)
            if placement.tmux_socket not in panes:
                tmux.forget_server()
                panes[placement.tmux_socket] = tmux.panes()
            seen = observe(tmux, placement, panes[placement.tmux_socket].get(placement.tmux_pane_id or ""))
            agent_states.record_state(agent.agent_id, seen)
            looks.append((agent, seen))
            self._tell_if_unreadable(agent, seen)
            if seen.state in HELD and agent.kind == AgentKind.MEMBER and holds.tell_of_hold(agent, seen):
                self._wake.set()  # the Director's notice is due
                self._notify.wake()
            if seen.state != AgentState.ASKING:
                self._asked.pop(agent.agent_id, None)
            elif (
                agent.kind == AgentKind.MEMBER
                and placement.director_id is not None
                and self._asked.get(agent.agent_id, "") != seen.question
            ):
                self._asked[agent.agent_id] = seen.question
                text = agent_states.needs_you_text(
                    fleet_command(agent.fleet_id),
                    placement.director_id,
                    agent.agent_id,
                    seen.question or "",
                )
                handle = f"{agent.name}#{agent.agent_id}"
                since = agent_states.state_since(agent.agent_id) or ""
                event = notify_sources.needs_you(handle, agent.fleet_id, agent.agent_id, seen.question or "", since, text)
                if agent_states.tell_director(agent, text, event):
                    self._wake.set()
                self._notify.wake()
        try:
            if self._attention.look(looks):
                self._notify.wake()
        except Exception as exc:  # the notifier config or the database this round; the next looks again
            _log(f"attention watch failed: {type(exc).__name__}")

    def _tell_if_unreadable(self, agent: agent_states.Watched, seen: Observation) -> None:
        """Tell a member's Director once when its screen has been unreadable a while (again
        after it read); a member blank since its pane was made is started again first."""
        director_id = agent.placement.director_id
        if agent.kind != AgentKind.MEMBER or director_id is None:
            return
        pane_made = parse_stamp(agent.placement.created_at)
        if not self._unreadable.tell_now(agent.agent_id, seen.state, pane_made, datetime.now(UTC)):
            return
        if seen.reason == BLANK_REASON and self._unreadable.never_read_in(agent.agent_id, pane_made):
            restart = self._start_hangs.restart(agent)
            if restart.done:
                if agent_states.tell_director(agent, restart.said):
                    self._wake.set()
                return
            _log(f"{agent.name}#{agent.agent_id} hung starting and was not started again: {restart.said}")
        from cafleet.broker.sessions import sessions_of
        from cafleet.panes.unreadable import agent_version, unreadable_text

        session = sessions_of([agent.agent_id]).get(agent.agent_id)
        version = agent_version(agent.placement.coding_agent, session.executable if session else None)
        handle = f"{agent.name}#{agent.agent_id}"
        text = unreadable_text(agent.fleet_id, director_id, agent.agent_id, handle, version)
        since = agent_states.state_since(agent.agent_id) or ""
        event = notify_sources.unreadable(handle, agent.fleet_id, agent.agent_id, since, text)
        if agent_states.tell_director(agent, text, event):
            self._wake.set()
        self._notify.wake()


def _unusable_database(exc: Exception) -> str | None:
    """Why the courier must leave, when `exc` says its database is damaged or gone for good
    (a full disk or a held lock may pass: it tries again instead)."""
    from cafleet.store.db_faults import fault_of

    fault = fault_of(exc)
    return f"its database can no longer be used: {fault}" if fault is not None and fault.kind.permanent else None


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


_log = LogLines()


def main() -> int:
    from cafleet.core.config import PostgresServer, database_target
    from cafleet.store.db import open_database

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
    target = database_target()
    open_database(target)
    courier = Courier(host, None if isinstance(target, PostgresServer) else target)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: courier.stop())
    reason = courier.run()
    courier.check_out()
    _log(f"courier {os.getpid()} for host {host} left: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
