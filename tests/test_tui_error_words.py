"""The TUI shows a broker refusal in its own terms: the composer's @mention and → key, the
fleet list's Escape; never a CLI flag or command."""

from __future__ import annotations

from tests.tui_support import build_story, settle
from tests.waiting import until


def make_app(fleet_id):
    from cafleet.screens.app import build_app

    return build_app(fleet_id, watch_changes=False)


async def test_the_composer_words_an_unknown_recipient_with_its_keys(db):
    from cafleet.broker.agents import deregister_agent
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        deregister_agent(story.fleet_id, story.bob_id)  # the roster the composer completes from is now stale
        before = Task.select().count()
        await pilot.press(*"@bob hello", "enter")
        await settle(pilot)
        error = app.screen.query_one("#composer-error")
        await until(pilot, lambda: error.has_class("visible"), "the composer's error line")
        shown = str(error.render())
        assert shown == f"✗ no active agent named 'bob' in fleet {story.fleet_id}; type @ and a name (→ completes it)", shown
        assert Task.select().count() == before


async def test_a_fleet_deleted_behind_the_composer_points_to_the_fleet_list(db):
    from cafleet.broker.fleets import delete_fleet

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        delete_fleet(story.fleet_id)
        await pilot.press(*"@alice hello", "enter")
        await settle(pilot)
        error = app.screen.query_one("#composer-error")
        await until(pilot, lambda: error.has_class("visible"), "the composer's error line")
        shown = str(error.render())
        assert shown.startswith(f"✗ fleet {story.fleet_id} was deleted at "), shown
        assert shown.endswith("; go back to the fleet list (Escape) and pick a live one"), shown


async def test_saving_a_schedule_of_a_deleted_fleet_says_what_to_do_in_the_tui(db):
    from cafleet.broker.fleets import delete_fleet
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.dialogs import ScheduleModal

    story = build_story()
    app = make_app(story.fleet_id)
    notices: list[tuple[str, str]] = []
    shown = app.notify

    def notify(message, *args, **kwargs):
        notices.append((kwargs.get("severity", "information"), str(message)))
        return shown(message, *args, **kwargs)

    app.notify = notify
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await app.push_screen(AgentDetailScreen(story.fleet_id, story.alice_id))
        await settle(pilot)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ScheduleModal), "the schedule dialog")
        delete_fleet(story.fleet_id)
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: notices and notices[-1][0] == "error", "the error notice")
        message = notices[-1][1]
        assert message.startswith(f"fleet {story.fleet_id} was deleted at "), message
        assert message.endswith("; go back to the fleet list (Escape) and pick a live one"), message
