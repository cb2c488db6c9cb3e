"""Events reach the human's notifiers through the real flow: the stand-in agent in a private
tmux server, the courier that watches it, and a local HTTP server as the webhook or ntfy
server. Each event is sent once (a retry after a 500, a courier killed or stopped while its
request is in flight), and no secret reaches any file the test made but the config."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from tests.notify_support import Receiver, files_holding
from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    couriers_of,
    date_pane_back,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    wait_for,
)

fleet = panes_fleet("notify")
WAIT = 60  # seconds at most for the courier to see a change (it looks every second; at a load of 10 it took 36)
HOOK = "/hooks/T0KEN-s3cr3t-hook"
TOPIC = "/cafleet-topic-5e5e5e"


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


def add(cli, fleet, name, *args):
    added = run_as_human(cli, fleet, "notify", "add", name, "--min-interval", "0", *args)
    assert added.code == 0, added.err


def start(cli, fleet, agents, name):
    member = spawn(cli, fleet, name)
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev), WAIT)
    wait_for(lambda: state(cli, fleet, member) == "ready", WAIT, what=f"{name} to be ready")
    return member


def state(cli, fleet, member):
    shown = run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member).json()["state"]
    return (shown or {}).get("state")


def type_in(cli, fleet, member, text):
    typed = run(cli, fleet, "member", "send-input", "--agent-id", fleet.director_id, "--member-id", member, "--freetext", text)
    assert typed.code == 0, typed.err


def to_human(cli, fleet, text):
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "Administrator", "--text", text, "--quiet")
    assert sent.code == 0, sent.err
    return int(sent.out)


def rows(sql, *args):
    from cafleet.store.db import open_database

    database = open_database()
    return list(database.execute_sql(sql.replace("?", database.param), args).fetchall())


def events(kind):
    return rows("SELECT id, dedupe_key, title FROM notify_events WHERE kind = ? ORDER BY id", kind)


def deliveries(notifier):
    return rows(
        "SELECT event_id, status, attempts, step, outcome FROM notify_deliveries WHERE notifier = ? ORDER BY id", notifier
    )


def courier_stamps(cli, fleet):
    return {c["seen_at"] for c in run_as_human(cli, fleet, "--json", "doctor").json()["hosts"]["couriers"]}


def posted_events(receiver, path):
    """Event id -> how many requests carried it."""
    counted: dict[int, int] = {}
    for request in receiver.at(path):
        for event in request.json()["events"]:
            counted[event["event_id"]] = counted.get(event["event_id"], 0) + 1
    return counted


def test_a_member_asking_reaches_ntfy_once_with_its_title_priority_and_tags(cli, fleet, agents, receiver):
    add(cli, fleet, "phone", "--kind", "ntfy", "--url", receiver.url(TOPIC), "--events", "needs-you")
    member = start(cli, fleet, agents, "coder")
    type_in(cli, fleet, member, "ask: Overwrite config.toml? | yes | no")

    (request,) = wait_for(lambda: receiver.at(TOPIC), WAIT, what="the ntfy post")
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["title"] == f"coder#{member} needs you (fleet {fleet.fleet_id}): Overwrite config.toml?"
    assert (headers["priority"], headers["tags"]) == ("4", "raising_hand")
    assert request.body.decode().startswith("[needs you] Overwrite config.toml? -- answer with: ")
    wait_for(lambda: [d[1] for d in deliveries("phone")] == ["sent"], WAIT, what="the delivery to be recorded")

    # The courier keeps looking at the same question: still one event, one post.
    first = courier_stamps(cli, fleet)
    wait_for(lambda: courier_stamps(cli, fleet) - first, WAIT, what="the courier's next liveness round")
    assert len(events("needs-you")) == 1 and len(receiver.at(TOPIC)) == 1
    assert state(cli, fleet, member) == "asking"


def test_a_message_to_the_administrator_is_posted_again_after_a_500(cli, fleet, agents, receiver):
    add(cli, fleet, "hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--events", "admin-message")
    receiver.statuses.append(500)
    task_id = to_human(cli, fleet, "done: every test passes")

    first, second = wait_for(lambda: len(receiver.at(HOOK)) >= 2 and receiver.at(HOOK), WAIT, what="the retry")
    assert first.body == second.body and first.headers["X-Cafleet-Events"] == second.headers["X-Cafleet-Events"]
    body = second.json()
    assert (body["kind"], body["text"]) == ("admin-message", "done: every test passes")
    assert body["title"] == f"director#{fleet.director_id} wrote to you (fleet {fleet.fleet_id}, message {task_id})"
    assert body["events"][0]["fleet_id"] == fleet.fleet_id and body["events"][0]["agent_id"] == fleet.director_id
    ((_, status, attempts, _, outcome),) = wait_for(
        lambda: (d := deliveries("hook")) and d[0][1] == "sent" and d, WAIT, what="the delivery to be sent"
    )
    assert (status, attempts, outcome) == ("sent", 2, "HTTP 200")
    assert len(receiver.at(HOOK)) == 2 and len(events("admin-message")) == 1
    doctor = run_as_human(cli, fleet, "doctor")
    assert (
        f"hook: webhook http://127.0.0.1:{receiver.server.server_address[1]}/*** (fleet {fleet.fleet_id}); last " in doctor.out
    ), doctor.out
    assert " sent: HTTP 200" in doctor.out


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_courier_stopped_mid_delivery_never_sends_an_event_twice_nor_drops_one(cli, fleet, agents, receiver, how):
    add(cli, fleet, "hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--events", "admin-message")
    receiver.hold.clear()  # the server takes the request and keeps its answer
    to_human(cli, fleet, "first")
    wait_for(lambda: receiver.at(HOOK), WAIT, what="the first post")
    wait_for(lambda: [d[3] for d in deliveries("hook")] == ["posted"], WAIT, what="the request recorded as left")
    (courier,) = couriers_of()
    os.kill(courier, how)
    if how == signal.SIGTERM:
        receiver.hold.set()  # the stopping courier waits for the answer it is owed
    wait_for(lambda: not couriers_of(), WAIT, what="the courier to be gone")
    receiver.hold.set()

    to_human(cli, fleet, "second")  # a new courier starts with this command
    wait_for(lambda: len(posted_events(receiver, HOOK)) == 2, WAIT, what="the second event's post")
    wait_for(lambda: [d[1] for d in deliveries("hook")] == ["sent", "sent"], WAIT, what="both deliveries sent")
    assert list(posted_events(receiver, HOOK).values()) == [1, 1]
    first_outcome = deliveries("hook")[0][4]
    if how == signal.SIGKILL:
        assert first_outcome == "sent; its answer was not seen (the courier stopped)"
    else:
        assert first_outcome == "HTTP 200"


def test_held_idle_and_stalled_members_are_events(cli, fleet, agents, receiver, tmp_path):
    add(cli, fleet, "hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--events", "held,idle-unread,stalled")
    thresholds = cli("notify", "thresholds", "--idle-unread", "1", "--stalled", "2")  # every fleet's
    assert thresholds.out == "idle-unread after 1 s; stalled after 2 s\n"
    idle, held, slow = (start(cli, fleet, agents, name) for name in ("ida", "hal", "sam"))

    # ida gets a message it never acks (the stand-in runs no cafleet): idle with it unread.
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "ida", "--text", "please review")
    assert sent.code == 0, sent.err
    type_in(cli, fleet, held, "limit: usage limit reached | in 300s")
    type_in(cli, fleet, slow, f"take your time until {tmp_path / 'turn-over'}")  # busy, its screen still

    def kinds():
        return {event["kind"]: event for request in receiver.at(HOOK) for event in request.json()["events"]}

    seen = wait_for(lambda: {"held", "idle-unread", "stalled"} <= set(kinds()) and kinds(), WAIT * 2, what="three events")
    assert seen["idle-unread"]["title"] == f"ida#{idle} is idle with 1 unread message (fleet {fleet.fleet_id})"
    assert seen["held"]["title"] == f"hal#{held} is limited (fleet {fleet.fleet_id})"
    assert seen["held"]["text"].startswith(f"[limited] hal#{held} hit its provider's limit: usage limit reached.")
    assert seen["stalled"]["title"] == f"sam#{slow} seems stalled (fleet {fleet.fleet_id})"
    assert f"member capture --agent-id {fleet.director_id} --member-id {slow}" in seen["stalled"]["text"]

    first = courier_stamps(cli, fleet)
    wait_for(lambda: courier_stamps(cli, fleet) - first, WAIT, what="the courier's next liveness round")
    for kind in ("held", "idle-unread", "stalled"):  # one episode, one event, however often it looked
        assert len(events(kind)) == 1, kind
    assert sum(len(r.json()["events"]) for r in receiver.at(HOOK)) == 3
    (tmp_path / "turn-over").touch()


def test_no_secret_reaches_the_database_the_logs_or_any_output(cli, fleet, agents, receiver, tmp_path):
    outputs = []
    for args in (
        ["hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--format", "discord"],
        ["phone", "--kind", "ntfy", "--url", receiver.url(TOPIC), "--token", "tk_S3CRET_token"],
    ):
        added = run_as_human(cli, fleet, "notify", "add", *args, "--min-interval", "0")
        assert added.code == 0, added.err
        outputs.append(added.out + added.err)
    receiver.statuses.append(500)
    member = start(cli, fleet, agents, "coder")
    type_in(cli, fleet, member, "ask: Deploy now? | yes | no")
    to_human(cli, fleet, "ready for review")
    wait_for(lambda: len(receiver.at(TOPIC)) >= 1 and len(receiver.at(HOOK)) >= 2, WAIT, what="the posts")
    wait_for(lambda: {d[1] for n in ("hook", "phone") for d in deliveries(n)} == {"sent"}, WAIT, what="all sent")
    for command in (["notify", "list"], ["--json", "notify", "list"], ["doctor"], ["--json", "doctor"]):
        shown = run_as_human(cli, fleet, *command)
        outputs.append(shown.out + shown.err)
    secrets = [HOOK, TOPIC, "T0KEN-s3cr3t", "cafleet-topic", "tk_S3CRET_token"]
    assert [s for s in secrets if any(s in out for out in outputs)] == []
    config = Path(os.environ["HOME"]) / ".config" / "cafleet" / "notifiers.json"
    assert json.loads(config.read_text())["notifiers"][1]["token"] == "tk_S3CRET_token"
    assert files_holding(tmp_path, secrets, skip={config}) == []
    # A pane never gets one either.
    panes = run(cli, fleet, "member", "capture", "--agent-id", fleet.director_id, "--member-id", member, "--lines", "200")
    assert not any(s in panes.out for s in secrets)


def test_an_agent_cannot_add_or_remove_a_notifier_from_its_pane(cli, fleet):
    refused = run(cli, fleet, "notify", "add", "x", "--kind", "command", "--command", "cat")
    assert refused.code == 1 and "changes the human's notifiers" in refused.err
    assert not (Path(os.environ["HOME"]) / ".config" / "cafleet" / "notifiers.json").exists()


def test_a_member_whose_screen_cannot_be_read_is_an_event_once(cli, fleet, agents, receiver):
    add(cli, fleet, "hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--events", "unreadable")
    (agents.bin / "claude.deaf").touch()  # draws nothing for a minute: no state a reader knows
    ann = spawn(cli, fleet, "ann")

    def restarted():
        polled = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--full").json()
        return [m for m in polled if m["text"].startswith("[restarted]")]

    # Blank since its start, it is first started again (not an event); blank again, unreadable.
    date_pane_back(ann, 120)
    wait_for(restarted, WAIT, what="the member to be started again")
    date_pane_back(ann, 120)
    (request,) = wait_for(lambda: receiver.at(HOOK), WAIT, what="the unreadable event")
    body = request.json()
    assert body["kind"] == "unreadable" and body["title"] == f"ann#{ann}'s screen cannot be read (fleet {fleet.fleet_id})"
    assert body["text"].startswith(f"[unreadable] ann#{ann} runs claude")
    first = courier_stamps(cli, fleet)
    wait_for(lambda: courier_stamps(cli, fleet) - first, WAIT, what="the courier's next liveness round")
    assert len(events("unreadable")) == 1 and len(receiver.at(HOOK)) == 1


def test_a_notifier_that_does_not_answer_holds_up_no_message(cli, fleet, agents, receiver):
    from tests.panes_support import wait_for_notify

    add(cli, fleet, "hook", "--kind", "webhook", "--url", receiver.url(HOOK), "--events", "admin-message")
    member = start(cli, fleet, agents, "coder")
    receiver.hold.clear()  # the webhook takes the request and never answers (until the end)
    to_human(cli, fleet, "first")
    wait_for(lambda: [d[3] for d in deliveries("hook")] == ["posted"], WAIT, what="the request in flight")
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", member, "--text", "go on")
    assert sent.code == 0, sent.err
    assert wait_for_notify(sent.json()["task_id"], WAIT) == "delivered"
    assert [d[1] for d in deliveries("hook")] == ["sending"]
    receiver.hold.set()
    wait_for(lambda: [d[1] for d in deliveries("hook")] == ["sent"], WAIT, what="the late answer recorded")
