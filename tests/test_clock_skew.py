"""The TUI's change cursor is the fleet's task revision, not a timestamp: a sender whose clock
runs 30 days ahead must not hide the changes that come after it. Every write of a task (and
every change of its state) takes the next revision, in commit order."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from cafleet.broker import messages
from cafleet.broker.reads import latest_change, timeline, timeline_changes
from tests.tui_support import build_story, settle

AHEAD = timedelta(days=30)


def clock_ahead(monkeypatch) -> str:
    """Make this process's broker stamp times 30 days in the future; the stamp it uses."""
    from cafleet.core.timestamps import to_stamp

    future = to_stamp(datetime.now(UTC) + AHEAD)
    monkeypatch.setattr(messages, "utc_now", lambda: future)
    return future


def revisions(*task_ids: int) -> list[int]:
    from cafleet.store.models import Task

    by_id = dict(Task.select(Task.id, Task.revision).where(Task.id.in_(task_ids)).tuples())
    return [by_id[i] for i in task_ids]


def test_an_ack_after_a_message_from_a_clock_30_days_ahead_is_seen(fleet, monkeypatch):
    with monkeypatch.context() as ahead:
        future = clock_ahead(ahead)
        skewed = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "sent from the future")
    assert skewed.state_changed_at == future
    max_id, since = max(e.id for e in timeline(fleet.fleet_id)), latest_change(fleet.fleet_id)

    messages.ack_message(fleet.fleet_id, fleet.bob_id, skewed.id)
    later = messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "a reply at the real time")

    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [(e.id, e.state) for e in changes.changed] == [(skewed.id, "completed")]
    assert [e.id for e in changes.added] == [later.id]
    # ...and the next look starts after all of it, not 30 days from now.
    again = timeline_changes(fleet.fleet_id, changes.max_id, changes.revision)
    assert (again.added, again.changed) == ((), ())


def test_changes_from_a_clock_ahead_are_seen_after_changes_at_the_real_time(fleet, monkeypatch):
    sent = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "at the real time")
    max_id, since = sent.id, latest_change(fleet.fleet_id)
    clock_ahead(monkeypatch)
    messages.ack_message(fleet.fleet_id, fleet.bob_id, sent.id)
    changes = timeline_changes(fleet.fleet_id, max_id, since)
    assert [(e.id, e.state) for e in changes.changed] == [(sent.id, "completed")]


def test_every_write_takes_the_next_revision_of_its_fleet(fleet):
    """Sends, broadcasts, acks and cancels: each write is after every earlier one; the rows one
    transaction writes share its revision (they become visible together)."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from tests.support import OTHER_PANE

    first = messages.send_message(fleet.fleet_id, fleet.alice_id, "bob", "one")
    second = messages.send_message(fleet.fleet_id, fleet.bob_id, "alice", "two")
    assert revisions(second.id)[0] > revisions(first.id)[0]

    sent = messages.broadcast_message(fleet.fleet_id, fleet.director_id, "all hands")
    group = revisions(sent.summary.id, *(d.id for d in sent.deliveries))
    assert len(set(group)) == 1 and group[0] > revisions(second.id)[0]

    messages.ack_message(fleet.fleet_id, fleet.bob_id, first.id)
    assert revisions(first.id)[0] > group[0]
    messages.cancel_message(fleet.fleet_id, fleet.bob_id, second.id)
    assert revisions(second.id)[0] > revisions(first.id)[0]
    messages.cancel_message(fleet.fleet_id, fleet.director_id, sent.summary.id)
    canceled = revisions(*(d.id for d in sent.deliveries))
    assert len(set(canceled)) == 1 and canceled[0] > revisions(second.id)[0]
    assert latest_change(fleet.fleet_id) == canceled[0]

    # Another fleet counts on its own.
    other = create_fleet(OTHER_PANE)
    register_agent(other.fleet.id, "carol", "elsewhere")
    elsewhere = messages.send_message(other.fleet.id, other.director.id, "carol", "hello")
    assert revisions(elsewhere.id) == [1]
    assert latest_change(fleet.fleet_id) == canceled[0]


def test_a_question_the_director_is_told_of_takes_the_next_revision(fleet):
    from cafleet.broker.agent_states import Watched, tell_director
    from cafleet.broker.members import attach_pane, register_member

    before = latest_change(fleet.fleet_id)
    member = register_member(fleet.fleet_id, fleet.director_id, "ivy", "asks questions", "claude")
    attach_pane(member.id, "%9")
    from cafleet.broker.agent_reads import agent_detail

    placement = agent_detail(fleet.fleet_id, member.id).agent.placement
    created = tell_director(Watched(member.id, fleet.fleet_id, "ivy", "member", placement), "[needs you] merge?")
    assert created and set(revisions(*created)) == {before + 1}


def test_a_revision_is_only_handed_out_inside_a_write_transaction(fleet):
    from cafleet.broker.revisions import next_revision

    with pytest.raises(RuntimeError, match="outside a write transaction"):
        next_revision(fleet.fleet_id)


async def test_the_live_tui_shows_an_ack_that_follows_a_message_from_a_clock_ahead(db, monkeypatch):
    """The fleet view opens on a fleet whose newest message was stamped 30 days ahead; an ack
    made afterwards by another process at the real time must reach the screen."""
    from cafleet.screens.app import build_app

    story = build_story()
    with monkeypatch.context() as ahead:
        clock_ahead(ahead)
        skewed = messages.send_message(story.fleet_id, story.alice_id, "bob", "sent from the future")
    app = build_app(story.fleet_id, watch_changes=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline_view = app.screen.query_one("#timeline")
        assert timeline_view.tasks[skewed.id].state == "input_required"
        subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "from cafleet.store.db import open_database; open_database()\n"
                    "from cafleet.broker.messages import ack_message\n"
                    f"ack_message({story.fleet_id}, {story.bob_id}, {skewed.id})"
                ),
            ],
            check=True,
        )
        for _ in range(200):
            if timeline_view.tasks[skewed.id].state == "completed":
                break
            await pilot.pause(0.05)
        assert timeline_view.tasks[skewed.id].state == "completed"
        assert "✓" in str(timeline_view.get_option(f"task-{skewed.id}").prompt).splitlines()[0]
