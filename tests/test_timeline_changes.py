"""`timeline_changes`: what the TUI learns on each refresh (new entries, entries whose state moved)."""

from __future__ import annotations

from cafleet.broker import messages
from cafleet.broker.reads import latest_change, timeline, timeline_changes


def look(fleet_id: int):
    """What a TUI that has just loaded the timeline remembers."""
    entries = timeline(fleet_id)
    return max((e.id for e in entries), default=0), latest_change(fleet_id)


def test_nothing_happened(fleet):
    messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "one")
    max_id, since = look(fleet.fleet_id)
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert (changes.added, changes.changed, changes.max_id, changes.revision) == ((), (), max_id, since)


def test_new_messages_are_added_in_order_and_move_the_high_water_mark(fleet):
    max_id, since = look(fleet.fleet_id)
    first = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "one")
    second = messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "two")
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [e.id for e in changes.added] == [first.id, second.id]
    assert changes.changed == ()
    assert changes.max_id == second.id


def test_an_ack_of_an_older_message_changes_its_entry(fleet):
    sent = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "please review")
    max_id, since = look(fleet.fleet_id)
    messages.ack_message(fleet.fleet_id, fleet.bob_id, sent.id)
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert changes.added == ()
    assert [(e.id, e.state) for e in changes.changed] == [(sent.id, "completed")]
    assert changes.revision > since


def test_a_delivery_ack_changes_its_broadcast_entry_once(fleet):
    sent = messages.broadcast_message(fleet.fleet_id, fleet.director_id, "standup")
    max_id, since = look(fleet.fleet_id)
    for delivery in sent.deliveries:
        recipient = delivery.to_agent_id
        if recipient in (fleet.alice_id, fleet.bob_id):
            messages.ack_message(fleet.fleet_id, recipient, delivery.id)
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [e.id for e in changes.changed] == [sent.summary.id]
    acked = {d.to_agent_id for d in changes.changed[0].deliveries if d.state == "completed"}
    assert acked == {fleet.alice_id, fleet.bob_id}


def test_an_entry_added_and_acked_since_the_last_look_is_only_added(fleet):
    max_id, since = look(fleet.fleet_id)
    sent = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "quick")
    messages.ack_message(fleet.fleet_id, fleet.bob_id, sent.id)
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [(e.id, e.state) for e in changes.added] == [(sent.id, "completed")]
    assert changes.changed == ()


def test_deliveries_never_appear_as_entries_of_their_own(fleet):
    max_id, since = look(fleet.fleet_id)
    sent = messages.broadcast_message(fleet.fleet_id, fleet.director_id, "all hands")
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [e.id for e in changes.added] == [sent.summary.id]
    assert len(changes.added[0].deliveries) == len(sent.deliveries)


def test_changes_of_another_fleet_are_not_seen(fleet):
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from tests.support import OTHER_PANE

    max_id, since = look(fleet.fleet_id)
    other = create_fleet(OTHER_PANE)
    carol = register_agent(other.fleet.id, "carol", "elsewhere")
    messages.send_message(other.fleet.id, other.director.id, "carol", "not yours")
    assert carol.id
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert (changes.added, changes.changed) == ((), ())


def test_a_change_committed_while_the_page_is_read_is_seen_by_the_next_refresh(fleet, monkeypatch):
    """The page and its revision come from one snapshot: an ack that lands between the two
    reads must not be taken as already seen."""
    import threading

    from cafleet.broker import reads

    sent = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "racing")
    read_page = reads.timeline

    def page_then_someone_acks(*args, **kwargs):
        page = read_page(*args, **kwargs)
        acker = threading.Thread(target=messages.ack_message, args=(fleet.fleet_id, fleet.bob_id, sent.id))
        acker.start()
        acker.join()
        return page

    monkeypatch.setattr(reads, "timeline", page_then_someone_acks)
    page, since = reads.timeline_page(fleet.fleet_id, limit=50)
    assert [(e.id, e.state) for e in page] == [(sent.id, "input_required")]
    changes = timeline_changes(fleet.fleet_id, sent.id, since)
    assert [(e.id, e.state) for e in changes.changed] == [(sent.id, "completed")]
