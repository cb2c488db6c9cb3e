"""The human's inbox is unmissable: a badge on every screen while messages to the Administrator
wait, Ctrl+O (or a click on it) leads to them, and a member's question is answered from there."""

from __future__ import annotations

import pytest

from tests.tui_support import build_story, settle


def make_app(fleet_id=None):
    from cafleet.screens.app import build_app

    return build_app(fleet_id, watch_changes=False)


def badge_of(app) -> str:
    from cafleet.screens.human_inbox import InboxBadge

    badge = app.screen.query_one(InboxBadge)
    return str(badge.render()) if badge.display else ""


async def changed(pilot) -> None:
    """What the database watcher does after a commit elsewhere."""
    from cafleet.screens.live import DataChanged

    pilot.app.screen.post_message(DataChanged())
    await settle(pilot)


@pytest.mark.parametrize(
    ("counts", "fleet_id", "words"),
    [
        ({}, None, ""),
        ({}, 1, ""),
        ({1: 2}, None, "✉ 2 for you in fleet 1"),
        ({1: 2, 4: 1}, None, "✉ 3 for you in 2 fleets"),
        ({1: 2}, 1, "✉ 2 for you"),
        ({1: 2, 4: 1}, 1, "✉ 2 for you · 1 in fleet 4"),
        ({1: 2, 4: 1, 5: 3}, 1, "✉ 2 for you · 4 in 2 other fleets"),
        ({4: 1}, 1, "✉ 1 for you in fleet 4"),
    ],
)
def test_the_badge_counts_this_fleet_first_and_names_the_others(counts, fleet_id, words):
    from cafleet.screens.human_inbox import badge_words

    assert badge_words(counts, fleet_id) == words


async def test_every_screen_shows_the_badge_until_the_human_acks(db):
    from cafleet.broker.messages import ack_message
    from cafleet.screens.agent_detail import AgentDetailScreen

    story = build_story()  # bob's question to the Administrator is unread
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert badge_of(app) == f"✉ 1 for you in fleet {story.fleet_id}"  # the fleet picker
        await pilot.press("enter")
        await settle(pilot)
        assert badge_of(app) == "✉ 1 for you"  # the fleet view
        app.push_screen(AgentDetailScreen(story.fleet_id, story.alice_id))
        await settle(pilot)
        assert badge_of(app) == "✉ 1 for you"

        (waiting,) = [t for t in app.screen_stack[-2].inbox_tasks.values() if t.state == "input_required"]
        ack_message(story.fleet_id, story.administrator_id, waiting.id)  # as another process would
        await changed(pilot)
        assert badge_of(app) == ""


async def test_ctrl_o_from_any_screen_opens_the_inbox_of_the_fleet_that_has_mail(db):
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.messages import send_message
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.fleet_view import FleetViewScreen
    from tests.support import FAKE_PANE

    story = build_story()
    quiet = create_fleet(FAKE_PANE._replace(tmux_pane_id="%9"), label="quiet").fleet.id
    app = make_app(quiet)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert app.screen.fleet_id == quiet
        assert badge_of(app) == f"✉ 1 for you in fleet {story.fleet_id}"
        app.push_screen(AgentDetailScreen(story.fleet_id, story.bob_id))
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        # The story's fleet view was not open: a new one, its inbox shown and focused.
        assert isinstance(app.screen, FleetViewScreen) and app.screen.fleet_id == story.fleet_id
        assert app.focused is not None and app.focused.id == "inbox"

        send_message(story.fleet_id, story.alice_id, "Administrator", "A second question for you")
        await changed(pilot)
        assert badge_of(app) == "✉ 2 for you"
        await pilot.press("ctrl+t")  # away from the inbox, then the badge leads back to it
        await settle(pilot)
        await pilot.click("InboxBadge")
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "inbox"
        assert len(app.screen_stack) == 5  # the default, the picker, the quiet fleet, the detail, this view


async def test_a_members_question_to_the_human_is_answered_in_its_pane_view(db):
    from cafleet.broker.agent_states import Watched, needs_you_text, tell_director
    from cafleet.broker.members import register_member
    from cafleet.core.domain import NEEDS_YOU_TAG
    from cafleet.screens.member_pane import MemberPaneScreen

    story = build_story()
    member = register_member(story.fleet_id, story.director_id, "ivy", "asks questions", "claude")
    asking = Watched(member.id, story.fleet_id, "ivy", "member", member.placement)
    tell_director(asking, needs_you_text("cafleet --fleet-id 1", story.director_id, member.id, "Deploy now?"))
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert badge_of(app) == "✉ 2 for you"
        await pilot.press("ctrl+o")
        await settle(pilot)
        question = next(t for t in app.screen.inbox_tasks.values() if t.text.startswith(NEEDS_YOU_TAG))
        other = next(t for t in app.screen.inbox_tasks.values() if not t.text.startswith(NEEDS_YOU_TAG))
        app.screen._open_task(other)
        await settle(pilot)
        assert not app.screen.query("#answer")  # only a member's question is answered in its pane
        app.pop_screen()
        app.screen._open_task(question)
        await settle(pilot)
        await pilot.click("#answer")
        await settle(pilot)
        assert isinstance(app.screen, MemberPaneScreen) and app.screen.member_id == member.id
        assert badge_of(app) == "✉ 2 for you"  # the badge is there too, until it is answered
