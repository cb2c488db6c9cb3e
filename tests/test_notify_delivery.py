"""The courier's notifier thread, driven round by round in this process against local HTTP
servers: a dead courier's claim is finished from its recorded step, a burst goes as one
summary, a slow notifier holds up no other, a removed one's deliveries are dropped, and a
failing one is tried again on a back-off."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from cafleet.broker import notify_events
from cafleet.core.notify import EventKind, Notifier, NotifierKind
from cafleet.panes.courier.loop import claimer_id
from cafleet.panes.courier.notify_watch import NotifyWatch, retry_after
from cafleet.services import notify_send
from cafleet.services.notifier_config import changing
from tests.notify_support import Receiver
from tests.waiting import wait_for


@pytest.fixture
def servers():
    made: list[Receiver] = []
    yield lambda: made.append(Receiver()) or made[-1]
    for server in made:
        server.close()


def use(*notifiers: Notifier) -> None:
    with changing() as box:
        box[0] = box[0]._replace(notifiers=notifiers)


def hook(name: str, server: Receiver, min_interval: float = 0) -> Notifier:
    return Notifier(name, NotifierKind.WEBHOOK, url=server.url(f"/{name}"), min_interval=min_interval)


def event(key: str, kind: EventKind = EventKind.ADMIN_MESSAGE) -> None:
    assert notify_events.record_event(kind, key, f"title {key}", f"body {key}")


def watch() -> NotifyWatch:
    return NotifyWatch(claimer_id(threading.get_native_id()), threading.Event(), lambda line: None)


def statuses(name: str) -> list[tuple]:
    from cafleet.store.models import NotifyDelivery

    return [
        (d.status, d.step) for d in NotifyDelivery.select().where(NotifyDelivery.notifier == name).order_by(NotifyDelivery.id)
    ]


def dead_claimer() -> str:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    claim = claimer_id(child.pid)
    child.kill()
    child.wait()
    return claim


@pytest.mark.parametrize(("posted", "requests"), [(False, 1), (True, 0)])
def test_a_dead_couriers_claim_is_sent_again_only_if_its_request_had_not_left(db, servers, posted, requests):
    server = servers()
    use(hook("hook", server))
    event("e1")
    notify_events.fan_out({1: ["hook"]})
    gone = dead_claimer()
    claimed = notify_events.claim("hook", gone)
    if posted:
        notify_events.mark_posted([c.delivery_id for c in claimed], gone)

    courier = watch()
    courier.look()
    wait_for(lambda: statuses("hook") == [("sent", None)] or statuses("hook")[0][0] == "sent", what="the delivery settled")
    courier.look()  # nothing more to send
    assert len(server.requests) == requests


def test_a_live_couriers_claim_is_left_alone(db, servers):
    server = servers()
    use(hook("hook", server))
    event("e1")
    notify_events.fan_out({1: ["hook"]})
    notify_events.claim("hook", claimer_id(threading.get_native_id()) + "-other-live")
    sibling = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        from cafleet.store.models import NotifyDelivery

        NotifyDelivery.update(claim=claimer_id(sibling.pid)).execute()
        watch().look()
        assert statuses("hook") == [("sending", "claimed")] and server.requests == []
    finally:
        sibling.kill()
        sibling.wait()


def test_a_burst_goes_as_one_summary_and_the_rate_limit_holds_the_next(db, servers):
    server = servers()
    use(hook("hook", server, min_interval=3600))
    for key in ("a", "b", "c"):
        event(key)
    courier = watch()
    courier.look()
    (request,) = wait_for(lambda: server.requests, what="the summary")
    body = request.json()
    assert body["kind"] == "summary" and body["title"] == "cafleet: 3 events"
    assert body["text"] == "- title a\n- title b\n- title c" and [e["title"] for e in body["events"]] == [
        "title a",
        "title b",
        "title c",
    ]
    wait_for(lambda: statuses("hook") == [("sent", "posted")] * 3, what="three sent")

    event("d")
    courier.look()
    courier.look()
    assert len(server.requests) == 1 and statuses("hook")[-1] == ("pending", None)  # within the hour: it waits


def test_a_slow_notifier_holds_up_no_other(db, servers, monkeypatch):
    # Slow, not dead: under load the fast one may take longer than the usual 10 s to be sent,
    # and the slow one must still be waiting on its answer then, not timed out.
    monkeypatch.setattr(notify_send, "TIMEOUT_SECONDS", 300.0)
    slow, fast = servers(), servers()
    slow.hold.clear()
    use(hook("slow", slow), hook("fast", fast))
    event("x")
    courier = watch()
    courier.look()
    wait_for(lambda: slow.requests and fast.requests, timeout=60, what="both requests")
    wait_for(lambda: statuses("fast") == [("sent", "posted")], timeout=60, what="the fast one sent")
    # The slow one records `posted` just after its request left, which the server may see first.
    wait_for(lambda: statuses("slow") == [("sending", "posted")], timeout=60, what="the slow one posted, unanswered")
    slow.hold.set()
    wait_for(lambda: statuses("slow") == [("sent", "posted")], timeout=60, what="the slow one sent")


def test_a_removed_notifiers_deliveries_are_dropped_and_an_unknown_one_is_left_alone(cli, db, servers):
    server = servers()
    use(hook("gone", server, min_interval=3600), hook("kept", server), hook("elsewhere", server))
    event("x")
    courier = watch()
    courier._fan_out(courier._config.current())
    assert cli("notify", "remove", "gone").code == 0
    use(hook("kept", server))  # "elsewhere" lives in another host's config
    courier.look()
    assert statuses("gone") == [("failed", None)] and statuses("elsewhere") == [("pending", None)]
    wait_for(lambda: statuses("kept") == [("sent", "posted")], what="the kept one sent")


def test_a_failure_is_tried_again_on_a_back_off_and_given_up_after_a_day():
    assert [retry_after(n) for n in (1, 2, 3, 8, 9, 299)] == [2, 4, 8, 256, 300, 300]
    assert retry_after(300) is None
