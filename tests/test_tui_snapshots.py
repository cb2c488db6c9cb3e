"""SVG snapshots of the main screens (baselines in snapshots/). Data and clocks are frozen."""

from __future__ import annotations

import time

from textual.widgets import Input, TabbedContent

from tests.tui_support import build_story
from tests.tui_support import settle as settle_workers

SIZE = (100, 30)


def app_for(fleet_id=None):
    from cafleet.screens.app import build_app

    app = build_app(fleet_id, watch_changes=False)
    app.animation_level = "none"  # a tab underline caught mid-slide is not a regression
    return app


async def settle(pilot) -> None:
    """Let the loading workers finish, and stop the cursor blinking."""
    await settle_workers(pilot)
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def until_loaded(pilot, ready, timeout=10.0) -> None:
    """Screens load in workers started by events; wait for what the snapshot must show."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        try:
            if ready(pilot.app.screen):
                break
        except Exception:  # not composed yet
            continue
    await settle(pilot)
    # Wait for a still frame: a tab underline slides for a moment after its label changes.
    previous = None
    for _ in range(40):
        frame = pilot.app.export_screenshot()
        if frame == previous:
            break
        previous = frame
        await pilot.pause(0.1)


def test_fleet_picker(db, snap_compare):
    build_story()
    from cafleet.broker.fleets import create_fleet
    from tests.conftest import FAKE_PANE
    from tests.tui_support import freeze_times

    create_fleet(FAKE_PANE, label="docs sweep")
    freeze_times()
    assert snap_compare(app_for(), terminal_size=SIZE, run_before=settle)


def test_fleet_picker_empty_state(db, snap_compare):
    assert snap_compare(app_for(), terminal_size=SIZE, run_before=settle)


def test_fleet_view_with_broadcast_and_acks(db, snap_compare):
    story = build_story()
    assert snap_compare(app_for(story.fleet_id), terminal_size=SIZE, run_before=settle)


def test_fleet_view_at_80x24(db, snap_compare):
    story = build_story()
    assert snap_compare(app_for(story.fleet_id), terminal_size=(80, 24), run_before=settle)


def test_composer_error(db, snap_compare):
    story = build_story()

    async def type_bad_mention(pilot):
        await settle(pilot)
        await pilot.press(*"@re hello", "enter")
        await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=SIZE, run_before=type_bad_mention)


def test_administrator_inbox(db, snap_compare):
    story = build_story()

    async def open_inbox(pilot):
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=SIZE, run_before=open_inbox)


def test_agent_detail(db, snap_compare):
    story = build_story()

    async def open_bob(pilot):
        from cafleet.screens.agent_detail import AgentDetailScreen

        await settle(pilot)
        await pilot.app.push_screen(AgentDetailScreen(story.fleet_id, story.bob_id))
        await until_loaded(pilot, lambda screen: "Inbox (2)" in str(screen.query_one(TabbedContent).get_tab("agent-inbox-tab").label))
        # Textual re-measures a relabelled tab's underline racily; switching tabs redraws it.
        await pilot.press("o", "i")
        await until_loaded(pilot, lambda screen: True)

    assert snap_compare(app_for(story.fleet_id), terminal_size=SIZE, run_before=open_bob)


def test_member_pane_when_the_pane_is_gone(db, snap_compare):
    from cafleet.broker.members import attach_pane, register_member
    from tests.tui_support import freeze_times

    story = build_story()
    member = register_member(story.fleet_id, story.director_id, "coder", "Implements the steps", "claude")
    attach_pane(member.id, "%7")
    freeze_times()

    async def open_pane(pilot):
        from cafleet.screens.member_pane import MemberPaneScreen

        await settle(pilot)
        await pilot.app.push_screen(MemberPaneScreen(story.fleet_id, story.director_id, member.id))
        await pilot.pause(1.5)  # one mirror refresh
        await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=SIZE, run_before=open_pane)


def test_fleet_view_shows_agent_states_at_80x24(db, snap_compare):
    """The roster's state marks, with a member that needs the human."""
    from cafleet.agent_state import AgentState, Observation
    from cafleet.broker.agent_states import record_state

    story = build_story()
    record_state(story.director_id, Observation(AgentState.READY))
    record_state(story.alice_id, Observation(AgentState.ASKING, question="Keep the old AST as a shim?"))
    record_state(story.bob_id, Observation(AgentState.BUSY))
    assert snap_compare(app_for(story.fleet_id), terminal_size=(80, 24), run_before=settle)
