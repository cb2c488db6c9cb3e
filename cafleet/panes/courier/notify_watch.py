"""The courier's notifier thread: it gives each new event a delivery per notifier that wants
it, and sends them, so no CLI call ever waits on the network.

Each notifier has at most one request in flight, in a thread of its own: a slow or failing one
never holds up another, nor the courier's notices. Per notifier at most one request goes out
per `min_interval` (10 s unless set): events that come meanwhile wait and then go together, as
one summary. A failed request is tried again after 2, 4, 8 … s (at most 5 min apart), for
about a day (`MAX_ATTEMPTS`); then it is `failed`, and `doctor` says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from cafleet.broker import notify_events
from cafleet.broker.notify_events import Claimed, OpenClaim
from cafleet.core.notify import Notifier
from cafleet.core.timestamps import parse_stamp, to_stamp, utc_now
from cafleet.panes.processes import process_ended
from cafleet.services.notifier_config import ConfigWatch, NotifyConfig

POLL_SECONDS = 0.25
RECOVER_SECONDS = 2.0
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 300.0
MAX_ATTEMPTS = 300  # about a day at the longest back-off
LEASE_SECONDS = 120.0


def retry_after(attempts: int) -> float | None:
    """Seconds before the next try after `attempts` failed ones; None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20), MAX_RETRY_SECONDS)


def claim_abandoned(claim: OpenClaim) -> bool:
    """Whether the courier that holds `claim` is gone (or, where this process cannot tell, a
    courier on another host, its claim outlived any request's timeout)."""
    pid, _, identity = claim.claim.partition(" ")
    ended = process_ended(int(pid), identity) if pid.isdigit() and identity else None
    if ended is not None:
        return ended
    started = parse_stamp(claim.attempted_at) if claim.attempted_at else None
    return started is None or parse_stamp(utc_now()) - started > timedelta(seconds=LEASE_SECONDS)


class NotifyWatch:
    def __init__(self, claimer: str, stopping: threading.Event, log: Callable[[str], None]):
        self.claimer = claimer
        self._stopping = stopping
        self._log = log
        self._wake = threading.Event()
        self._config = ConfigWatch()
        self._sending: dict[str, threading.Thread] = {}
        self._next_recover = 0.0

    def wake(self) -> None:
        """An event was just recorded: look now rather than at the next poll."""
        self._wake.set()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self.look()
                except Exception as exc:  # a busy database or a bad config: try again next round
                    self._log(f"notifiers: {type(exc).__name__}: {_words(exc)}")
                self._wake.wait(POLL_SECONDS)
                self._wake.clear()
        finally:
            self._finish()

    def look(self) -> None:
        config = self._config.current()
        if time.monotonic() >= self._next_recover:
            self._recover()
            self._next_recover = time.monotonic() + RECOVER_SECONDS
        self._fan_out(config)
        self._start_sends(config)

    def _recover(self) -> None:
        for claim in notify_events.open_claims():
            if claim.claim != self.claimer and claim_abandoned(claim):
                self._take_over(claim)

    def _take_over(self, claim: OpenClaim) -> None:
        status = notify_events.take_over(claim)
        done = "counted as sent (its request had left)" if status == notify_events.SENT else "to be sent again"
        self._log(f"notifiers: took over delivery {claim.delivery_id} to {claim.notifier} from courier {claim.claim}: {done}")

    def _fan_out(self, config: NotifyConfig) -> None:
        events = notify_events.unfanned_events()
        if events:
            plan = {event_id: [n.name for n in config.notifiers if n.wants(kind, fleet)] for event_id, kind, fleet in events}
            notify_events.fan_out(plan)

    def _start_sends(self, config: NotifyConfig) -> None:
        now = utc_now()
        for name, due in notify_events.notifiers_waiting().items():
            thread = self._sending.get(name)
            if thread is not None and thread.is_alive():
                continue
            notifier = config.named(name)
            if notifier is None:
                continue  # `notify remove` drops its deliveries; another host's courier may know it
            if due > now or not self._rate_allows(notifier, now):
                continue
            claimed = notify_events.claim(name, self.claimer, now)
            if not claimed:
                continue
            thread = threading.Thread(target=self._send, args=(notifier, claimed), name=f"courier-notify-{name}", daemon=True)
            self._sending[name] = thread
            thread.start()

    def _rate_allows(self, notifier: Notifier, now: str) -> bool:
        last = notify_events.last_attempt(notifier.name)
        if last is None or notifier.min_interval <= 0:
            return True
        return to_stamp(parse_stamp(last) + timedelta(seconds=notifier.min_interval)) <= now

    def _send(self, notifier: Notifier, claimed: list[Claimed]) -> None:
        from cafleet.services.notify_payloads import notice_of
        from cafleet.services.notify_send import SendFailed, send
        from cafleet.store.db import close_thread_connection

        ids = [c.delivery_id for c in claimed]
        events = ",".join(str(c.event.event_id) for c in claimed)
        try:
            try:
                outcome = send(notifier, notice_of([c.event for c in claimed]), lambda: self._mark_posted(ids, notifier.name))
            except SendFailed as exc:
                waits = {c.delivery_id: retry_after(c.attempts) for c in claimed}
                notify_events.settle_failed(claimed, self.claimer, str(exc), waits)
                self._log(f"notifiers: event(s) {events} to {notifier.name} failed: {exc}")
            else:
                notify_events.settle_sent(ids, self.claimer, outcome)
                self._log(f"notifiers: event(s) {events} sent to {notifier.name}: {outcome}")
        except Exception as exc:  # the database refused the outcome: the claim is taken over later
            self._log(f"notifiers: recording event(s) {events} to {notifier.name} failed: {type(exc).__name__}")
        finally:
            close_thread_connection()
            self._wake.set()

    def _mark_posted(self, ids: list[int], name: str) -> None:
        try:
            notify_events.mark_posted(ids, self.claimer)
        except Exception as exc:  # the request left all the same: its outcome is recorded after it
            self._log(f"notifiers: recording the request to {name} as left failed: {type(exc).__name__}")

    def _finish(self) -> None:
        """Let each request in flight end (bounded by its timeout), then give back what was
        claimed and not sent."""
        for thread in list(self._sending.values()):
            thread.join()
        try:
            released = notify_events.release(self.claimer)
            if released:
                self._log(f"notifiers: gave back {released} delivery(ies) not sent yet")
        except Exception as exc:  # their claims are taken over once this courier is gone
            self._log(f"notifiers: giving back claims failed: {type(exc).__name__}")
        finally:
            from cafleet.store.db import close_thread_connection

            close_thread_connection()


def _words(exc: Exception) -> str:
    # A config error says where the file broke; nothing else is echoed (it may hold secrets).
    from cafleet.core.errors import CafleetError

    return exc.message if isinstance(exc, CafleetError) else ""
