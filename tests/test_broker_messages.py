"""Messages: unicast, broadcast fan-out, ack / cancel / show rules, and the inbox."""

import subprocess
import sys
import time

import pytest

from cafleet.broker import agents, fleets, inbox, messages
from cafleet.core.errors import InvalidInput, NotFound, Refused
from cafleet.store.models import Task
from tests.support import FAKE_PANE, OTHER_PANE


def test_send_by_id_or_any_case_name(fleet):
    by_id = messages.send_message(fleet.fleet_id, fleet.alice_id, str(fleet.bob_id), "hi")
    by_name = messages.send_message(fleet.fleet_id, fleet.alice_id, "BoB", "hi again")
    for task in (by_id, by_name):
        assert (task.kind, task.state, task.owner_id, task.to_agent_id) == (
            "unicast",
            "input_required",
            fleet.bob_id,
            fleet.bob_id,
        )
        assert (task.from_agent_id, task.from_name, task.to_name) == (fleet.alice_id, "alice", "bob")
        assert task.acked_at is None and task.notify_status == "skipped:no-placement"


def test_text_is_stored_whole(fleet):
    text = "- bullet\n" + "é" * 5000
    task = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", text)
    assert Task.get_by_id(task.id).text == text


def test_send_to_unknown_or_deregistered_agent(fleet):
    with pytest.raises(NotFound, match="no active agent named 'carol'"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, "carol", "hi")
    with pytest.raises(NotFound, match="agent 999 not found"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, "999", "hi")
    agents.deregister_agent(fleet.fleet_id, fleet.bob_id)
    with pytest.raises(Refused, match="deregistered and cannot receive"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, str(fleet.bob_id), "hi")
    assert Task.select().count() == 0


def test_send_across_fleets_is_not_found(fleet):
    other = fleets.create_fleet(OTHER_PANE)
    with pytest.raises(NotFound):
        messages.send_message(fleet.fleet_id, fleet.alice_id, str(other.director.id), "psst")
    with pytest.raises(NotFound):
        messages.send_message(other.fleet.id, fleet.alice_id, "director", "psst")


@pytest.mark.parametrize("text", ["", "   \n\t"])
def test_empty_text_is_refused(fleet, text):
    with pytest.raises(InvalidInput, match="empty"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", text)


def test_oversized_text_is_refused(fleet):
    with pytest.raises(InvalidInput, match="over the 1,048,576-byte limit"):
        messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "x" * (1024 * 1024 + 1))
    assert Task.select().count() == 0


def test_reply_to_links_a_visible_task(fleet):
    question = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "why?")
    answer = messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "because", reply_to=question.id)
    assert answer.reply_to_id == question.id
    private = messages.send_message(fleet.fleet_id, fleet.alice_id, "director", "secret")
    with pytest.raises(NotFound, match=f"task {private.id} not found"):
        messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "snoop", reply_to=private.id)


def test_a_reply_names_the_entry_it_answers(fleet):
    """A reply to one recipient's copy of a broadcast answers the broadcast: its summary is the
    entry fleet-wide lists show. Any other reply answers what it names."""
    from cafleet.broker import reads

    sent = messages.broadcast_message(fleet.fleet_id, fleet.alice_id, "standup")
    bobs_copy = next(d for d in sent.deliveries if d.to_agent_id == fleet.bob_id)
    to_copy = messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "no blockers", reply_to=bobs_copy.id)
    to_reply = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "thanks", reply_to=to_copy.id)
    plain = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "unrelated")
    assert (to_copy.reply_to_id, to_copy.reply_to_entry_id) == (bobs_copy.id, sent.summary.id)
    assert (to_reply.reply_to_id, to_reply.reply_to_entry_id) == (to_copy.id, to_copy.id)
    assert plain.reply_to_entry_id is None
    # Every read carries it: the timeline's, the inboxes', search's.
    listed = {t.id: t.reply_to_entry_id for t in reads.timeline(fleet.fleet_id)}
    assert listed[to_copy.id] == sent.summary.id
    assert {t.id: t.reply_to_entry_id for t in reads.agent_inbox(fleet.alice_id)}[to_copy.id] == sent.summary.id
    assert inbox.poll_inbox(fleet.fleet_id, fleet.alice_id).tasks[0].reply_to_entry_id == sent.summary.id


def test_the_administrator_can_receive_unicast(fleet):
    task = messages.send_message(fleet.fleet_id, fleet.alice_id, "administrator", "done, human")
    assert task.to_agent_id == fleet.administrator_id


def test_broadcast_fans_out_to_everyone_but_sender_and_administrator(fleet):
    sent = messages.broadcast_message(fleet.fleet_id, fleet.director_id, "standup")
    summary = sent.summary
    assert (summary.kind, summary.to_agent_id, summary.owner_id, summary.origin_task_id) == (
        "broadcast_summary",
        None,
        fleet.director_id,
        summary.id,
    )
    assert [d.to_agent_id for d in sent.deliveries] == [fleet.alice_id, fleet.bob_id]
    assert {(d.kind, d.state, d.origin_task_id, d.from_agent_id) for d in sent.deliveries} == {
        ("broadcast", "input_required", summary.id, fleet.director_id)
    }


def test_broadcast_with_nobody_to_receive_is_refused(db):
    created = fleets.create_fleet(FAKE_PANE)
    with pytest.raises(Refused, match="no other active agents"):
        messages.broadcast_message(created.fleet.id, created.director.id, "anyone?")
    assert Task.select().count() == 0


def test_ack_only_by_recipient_only_once(fleet):
    task = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "review this")
    with pytest.raises(Refused, match="only its recipient can ack"):
        messages.ack_message(fleet.fleet_id, fleet.alice_id, task.id)
    with pytest.raises(NotFound):
        messages.ack_message(fleet.fleet_id, fleet.director_id, task.id)
    acked = messages.ack_message(fleet.fleet_id, fleet.bob_id, task.id)
    assert acked.state == "completed" and acked.acked_at == acked.state_changed_at
    with pytest.raises(Refused, match="already acked"):
        messages.ack_message(fleet.fleet_id, fleet.bob_id, task.id)
    with pytest.raises(Refused, match="already acked"):
        messages.cancel_message(fleet.fleet_id, fleet.alice_id, task.id)


def test_cancel_only_by_sender_before_ack(fleet):
    task = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "never mind")
    with pytest.raises(Refused, match="only its sender can cancel"):
        messages.cancel_message(fleet.fleet_id, fleet.bob_id, task.id)
    canceled = messages.cancel_message(fleet.fleet_id, fleet.alice_id, task.id)
    assert canceled.state == "canceled" and canceled.acked_at is None
    with pytest.raises(Refused, match="canceled by its sender"):
        messages.ack_message(fleet.fleet_id, fleet.bob_id, task.id)


def test_cancel_a_broadcast_cancels_its_unread_deliveries(fleet):
    sent = messages.broadcast_message(fleet.fleet_id, fleet.director_id, "fire drill")
    first, second = sent.deliveries
    messages.ack_message(fleet.fleet_id, fleet.alice_id, first.id)
    summary = messages.cancel_message(fleet.fleet_id, fleet.director_id, sent.summary.id)
    assert [d.state for d in summary.deliveries] == ["completed", "canceled"]
    with pytest.raises(Refused, match="nothing to cancel"):
        messages.cancel_message(fleet.fleet_id, fleet.director_id, sent.summary.id)
    with pytest.raises(Refused, match="broadcast's summary"):
        messages.ack_message(fleet.fleet_id, fleet.director_id, sent.summary.id)


def test_show_is_for_sender_or_recipient_only(fleet):
    task = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "between us")
    assert messages.show_message(fleet.fleet_id, fleet.alice_id, task.id).id == task.id
    assert messages.show_message(fleet.fleet_id, fleet.bob_id, task.id).id == task.id
    with pytest.raises(NotFound):
        messages.show_message(fleet.fleet_id, fleet.director_id, task.id)
    other = fleets.create_fleet(OTHER_PANE)
    with pytest.raises(NotFound):
        messages.show_message(other.fleet.id, other.director.id, task.id)


def test_poll_returns_unread_oldest_first_with_paging(fleet):
    sent = [messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", f"m{i}") for i in range(5)]
    messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "not for bob")

    page = inbox.poll_inbox(fleet.fleet_id, fleet.bob_id, page_size=2)
    assert [t.text for t in page.tasks] == ["m0", "m1"]
    assert page.remaining == 3 and page.next_since == sent[2].created_at

    messages.ack_message(fleet.fleet_id, fleet.bob_id, sent[0].id)
    messages.cancel_message(fleet.fleet_id, fleet.alice_id, sent[1].id)
    assert [t.text for t in inbox.poll_inbox(fleet.fleet_id, fleet.bob_id).tasks] == ["m2", "m3", "m4"]
    everything = inbox.poll_inbox(fleet.fleet_id, fleet.bob_id, include_read=True)
    assert [(t.text, t.state) for t in everything.tasks][:2] == [("m0", "completed"), ("m1", "canceled")]


def test_poll_since_filters_by_creation_time(fleet):
    old = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "old")
    time.sleep(0.002)
    new = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "new")
    page = inbox.poll_inbox(fleet.fleet_id, fleet.bob_id, since=new.created_at)
    assert [t.id for t in page.tasks] == [new.id]
    assert old.created_at < new.created_at


def test_poll_shows_broadcast_deliveries_not_summaries(fleet):
    messages.broadcast_message(fleet.fleet_id, fleet.alice_id, "hello all")
    assert inbox.poll_inbox(fleet.fleet_id, fleet.alice_id, include_read=True).tasks == ()
    (delivery,) = inbox.poll_inbox(fleet.fleet_id, fleet.bob_id).tasks
    assert delivery.kind == "broadcast"


def test_poll_by_deregistered_agent_is_refused(fleet):
    agents.deregister_agent(fleet.fleet_id, fleet.bob_id)
    with pytest.raises(Refused, match="register again"):
        inbox.poll_inbox(fleet.fleet_id, fleet.bob_id)


def test_wait_returns_at_once_when_mail_is_there(fleet):
    messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "ready")
    started = time.monotonic()
    page = inbox.wait_for_inbox(fleet.fleet_id, fleet.bob_id, wait_seconds=10)
    assert len(page.tasks) == 1 and time.monotonic() - started < 1


def test_wait_times_out_empty(fleet):
    started = time.monotonic()
    page = inbox.wait_for_inbox(fleet.fleet_id, fleet.bob_id, wait_seconds=0.3)
    assert page.tasks == () and 0.3 <= time.monotonic() - started < 2


def test_wait_wakes_promptly_when_another_process_sends(fleet, cli):
    sender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import time; time.sleep(0.5)\n"
                "from cafleet.store.db import open_database; open_database()\n"
                "from cafleet.broker.messages import send_message\n"
                f"send_message({fleet.fleet_id}, {fleet.alice_id}, 'bob', 'wake up')\n"
                "print(time.time())"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    page = inbox.wait_for_inbox(fleet.fleet_id, fleet.bob_id, wait_seconds=20)
    woke = time.time()
    committed = float(sender.communicate(timeout=20)[0])
    assert [t.text for t in page.tasks] == ["wake up"]
    assert woke - committed < 0.5
