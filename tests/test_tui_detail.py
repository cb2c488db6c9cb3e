"""Agent detail and member pane screens, driven with Pilot: on the temp database, and against a
private tmux server with stand-in agents for the member pane."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList, Static, Switch

from tests.panes_support import PanesFleet as TmuxFleet
from tests.panes_support import create_panes_fleet, inputs, make_fake_agents
from tests.support import FAKE_PANE
from tests.tui_support import build_story, settle
from tests.waiting import until


def make_app(fleet_id=None):
    from cafleet.screens.app import build_app

    return build_app(fleet_id, watch_changes=False)


def record_notices(app) -> list[tuple[str, str]]:
    """Every notify() of the app as (severity, message)."""
    notices: list[tuple[str, str]] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        notices.append((kwargs.get("severity", "information"), str(message)))
        return original(message, *args, **kwargs)

    app.notify = notify
    return notices


def text_of(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).content)


def prompts(options: OptionList) -> list[str]:
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


def reopen_database():
    """Rows written by other connections (workers, the CLI) are visible to a fresh read."""
    from cafleet.store.db import open_database

    open_database()


# -- agent detail ------------------------------------------------------------------------


async def test_enter_on_a_roster_entry_opens_its_profile_and_inbox(db):
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.fleet_view import FleetViewScreen
    from cafleet.screens.message_modal import MessageModal

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        roster = app.screen.query_one("#roster", OptionList)
        roster.focus()
        roster.highlighted = roster.get_option_index(f"agent-{story.bob_id}")
        await pilot.press("enter")
        await settle(pilot)

        screen = app.screen
        assert isinstance(screen, AgentDetailScreen) and screen.agent_id == story.bob_id
        profile = text_of(screen, "#agent-profile")
        assert f"bob#{story.bob_id}" in profile and "Reviews every change" in profile
        assert "active" in profile and "registered   2026-11-20 09:00:" in profile and "1✉ unread" in profile
        assert "no pane" in text_of(screen, "#agent-placement")

        inbox = screen.query_one("#agent-inbox", OptionList)
        listed = prompts(inbox)
        assert len(listed) == 2
        assert "Standup in 5 minutes" in listed[0] and f"director#{story.director_id}" in listed[0]
        assert "Please review PR 42." in listed[1] and f"alice#{story.alice_id}" in listed[1]
        assert str(screen.query_one("#agent-tabs").get_tab("agent-inbox-tab").label) == "Inbox (2)"
        commands = [c.title for c in app.get_system_commands(screen)]
        assert "Edit monitor schedule" in commands and "Member pane" not in commands  # bob has no pane

        await pilot.press("o")  # the Sent tab
        await pilot.pause()
        sent = screen.query_one("#agent-sent", OptionList)
        assert sent.has_focus
        assert [("Need a human decision" in p, "Looks good" in p) for p in prompts(sent)] == [(True, False), (False, True)]

        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageModal)
        assert "keep the old AST?" in str(app.screen.query_one("#message-text", Static).content)
        assert not app.screen.query("#ack") and not app.screen.query("#reply")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen

        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetViewScreen)


async def test_the_detail_follows_database_changes(db):
    from cafleet.broker.messages import send_message
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.live import DataChanged

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(AgentDetailScreen(story.fleet_id, story.alice_id))
        await settle(pilot)
        inbox = app.screen.query_one("#agent-inbox", OptionList)
        before = inbox.option_count
        send_message(story.fleet_id, story.bob_id, "alice", "One more nit: rename tok.")
        app.screen.post_message(DataChanged())
        await until(pilot, lambda: inbox.option_count == before + 1, "the new message in the inbox")
        assert "One more nit" in prompts(inbox)[0]


async def test_editing_the_schedule_updates_monitor_config(db):
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.dialogs import ScheduleModal
    from cafleet.store.models import MonitorConfig

    story = build_story()
    assert MonitorConfig.get_or_none(MonitorConfig.agent == story.bob_id) is None
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(AgentDetailScreen(story.fleet_id, story.bob_id))
        await settle(pilot)
        assert "no schedule yet" in text_of(app.screen, "#agent-schedule")

        await pilot.press("s")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, ScheduleModal)
        field = modal.query_one("#schedule-interval", Input)
        assert field.has_focus and field.value == "300"

        await pilot.press("ctrl+u", "0", "enter")  # rejected: at least 1 second
        await pilot.pause()
        assert app.screen is modal
        assert "at least 1 second" in text_of(modal, "#schedule-error")

        await pilot.press("ctrl+u", *"45", "tab", "space")
        assert modal.query_one("#schedule-enabled", Switch).value is False
        await pilot.press("enter")  # Enter on the switch saves
        await settle(pilot)
        assert isinstance(app.screen, AgentDetailScreen)

        reopen_database()
        config = MonitorConfig.get(MonitorConfig.agent == story.bob_id)
        assert (config.interval_seconds, config.enabled) == (45, False)
        await until(pilot, lambda: "every 45s" in text_of(app.screen, "#agent-schedule"), "the new schedule shown")
        assert "disabled" in text_of(app.screen, "#agent-schedule")

        await pilot.press("s")  # Escape leaves the schedule as it is
        await pilot.pause()
        assert app.screen.query_one("#schedule-interval", Input).value == "45"
        await pilot.press("ctrl+u", *"10", "escape")
        await settle(pilot)
        assert MonitorConfig.get(MonitorConfig.agent == story.bob_id).interval_seconds == 45


async def test_schedule_errors_are_notices_not_crashes(db):
    from cafleet.broker.fleets import delete_fleet
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.dialogs import ScheduleModal

    story = build_story()
    app = make_app(story.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(AgentDetailScreen(story.fleet_id, story.administrator_id))
        await settle(pilot)
        await pilot.press("s")  # the Administrator has no schedule: a warning, no dialog
        await pilot.pause()
        assert not isinstance(app.screen, ScheduleModal)
        assert notices[-1][0] == "warning" and "never wakes it" in notices[-1][1]

        app.pop_screen()
        await app.push_screen(AgentDetailScreen(story.fleet_id, story.alice_id))
        await settle(pilot)
        await pilot.press("s")
        await pilot.pause()
        delete_fleet(story.fleet_id)  # deleted behind the dialog's back
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: notices and notices[-1][0] == "error", "the error notice")
        assert "was deleted" in notices[-1][1]
        assert isinstance(app.screen, AgentDetailScreen)


# -- member pane: no tmux --------------------------------------------------------------


async def test_member_pane_without_tmux_says_the_pane_is_gone(db):
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.screens.member_pane import MemberPaneScreen

    created = create_fleet(FAKE_PANE, label="offline")
    fleet_id, director_id = created.fleet.id, created.director.id
    member = register_member(fleet_id, director_id, "zed", "works offline", "claude")
    attach_pane(member.id, "%7")
    app = make_app(fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(MemberPaneScreen(fleet_id, director_id, member.id))
        screen = app.screen
        await until(pilot, lambda: "gone" in text_of(screen, "#pane-status"), "the pane-gone message")
        assert "tmux-server-gone" in text_of(screen, "#pane-status")
        assert "The pane of zed is gone" in text_of(screen, "#pane-mirror")
        await pilot.press("p")
        await until(pilot, lambda: any(s == "error" for s, _ in notices), "the ping refusal")
        assert any("nothing was typed" in m for s, m in notices if s == "error")
        assert app.screen is screen


# -- member pane: a real tmux server and a stand-in agent --------------------------------


@pytest.fixture
def agents(tmp_path):
    return make_fake_agents(tmp_path)


@pytest.fixture
def tmux_fleet(tmux_server, agents, cli):
    return create_panes_fleet(cli, tmux_server, agents, "tui")


def spawn(cli, fleet: TmuxFleet, name: str) -> int:
    result = cli(
        "--fleet-id",
        fleet.fleet_id,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        name,
        "--description",
        f"{name} helps",
        "--quiet",
        env=fleet.env,
    )
    assert result.code == 0, result.err
    return int(result.out)


def member_state(member_id: int):
    from cafleet.store.models import Agent, Placement

    reopen_database()
    return Agent.get_by_id(member_id).status, Placement.get_or_none(Placement.agent == member_id)


def panes(tmux_server) -> list[str]:
    return tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").stdout.split()


async def test_member_pane_mirrors_and_steers_the_member(db, cli, tmux_fleet, agents, tmux_server):
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.dialogs import ConfirmModal, TextPromptModal
    from cafleet.screens.member_pane import MemberPaneScreen

    member_id = spawn(cli, tmux_fleet, "ann")
    agents.wait_for("ann", lambda ev: any(e["event"] == "ready" for e in ev))
    pane_id = member_state(member_id)[1].tmux_pane_id
    app = make_app(tmux_fleet.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await app.push_screen(AgentDetailScreen(tmux_fleet.fleet_id, member_id))
        await settle(pilot)
        detail = app.screen
        assert f"{pane_id}  ● alive" in text_of(detail, "#agent-placement")
        assert f"director #{tmux_fleet.director_id}" in text_of(detail, "#agent-placement")
        await pilot.press("m")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, MemberPaneScreen) and screen.director_id == tmux_fleet.director_id

        def mirror() -> str:
            return text_of(screen, "#pane-mirror")

        await until(pilot, lambda: "stand-in agent ann ready" in mirror(), "the stand-in's banner in the mirror")
        assert f"pane {pane_id}" in text_of(screen, "#pane-status")
        commands = [c.title for c in app.get_system_commands(screen)]
        assert {"Ping member", "Exec in member pane", "Choose option 2", "Delete member"} <= set(commands)

        await pilot.press("p")
        from cafleet.backends import poll_command

        poll = poll_command(tmux_fleet.fleet_id, member_id)
        await until(pilot, lambda: poll in inputs(agents.log_of("ann")), "the poll command typed by ping")

        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        await pilot.press("enter")  # empty: refused inside the dialog
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal) and "Type a shell command" in text_of(app.screen, "#prompt-error")
        await pilot.press(*"echo tui-$((6*7))", "enter")
        await pilot.pause()
        assert app.screen is screen
        await until(pilot, lambda: "! echo tui-$((6*7))" in inputs(agents.log_of("ann")), "the exec'd command")
        await until(pilot, lambda: "tui-42" in mirror(), "the command's output in the mirror")

        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextPromptModal)
        await pilot.press(*"ask: pick one | A | B", "enter")
        await until(pilot, lambda: "? pick one" in mirror(), "the stand-in's menu in the mirror")
        await pilot.press("2")
        await until(pilot, lambda: [e for e in agents.log_of("ann") if e["event"] == "choice"], "the choice")
        await pilot.press("t")
        await pilot.pause()
        await pilot.press(*"done", "enter")
        await until(pilot, lambda: "done" in inputs(agents.log_of("ann")), "the answer")

        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is detail, "the pane screen to close after the delete", timeout=20)
        assert "/exit" in inputs(agents.log_of("ann"))
        assert pane_id not in panes(tmux_server)
        status, placement = member_state(member_id)
        assert status == "deregistered" and placement is None
        assert not [m for s, m in notices if s == "error"]
        await until(pilot, lambda: "deregistered" in text_of(detail, "#agent-profile"), "the detail to show the deregistration")


async def test_a_killed_pane_shows_gone_and_delete_still_deregisters(db, cli, tmux_fleet, agents, tmux_server):
    from cafleet.screens.member_pane import MemberPaneScreen

    member_id = spawn(cli, tmux_fleet, "bea")
    agents.wait_for("bea", lambda ev: any(e["event"] == "ready" for e in ev))
    pane_id = member_state(member_id)[1].tmux_pane_id
    app = make_app(tmux_fleet.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(MemberPaneScreen(tmux_fleet.fleet_id, tmux_fleet.director_id, member_id))
        screen = app.screen
        await until(pilot, lambda: "stand-in agent bea ready" in text_of(screen, "#pane-mirror"), "the banner")
        tmux_server.tmux("kill-pane", "-t", pane_id)
        await until(pilot, lambda: "pane-gone" in text_of(screen, "#pane-status"), "the pane-gone message")
        assert screen.query_one("#pane-status").has_class("gone")
        await pilot.press("d", "enter")
        await until(pilot, lambda: app.screen is not screen, "the screen to close")
        assert member_state(member_id) == ("deregistered", None)


async def test_an_agent_that_ignores_exit_is_force_killed_after_confirmation(
    db, cli, tmux_fleet, agents, tmux_server, monkeypatch
):
    from cafleet.screens import member_pane
    from cafleet.screens.dialogs import ConfirmModal

    monkeypatch.setattr(member_pane, "DELETE_TIMEOUT", 1.0)
    (agents.bin / "claude.deaf").touch()
    member_id = spawn(cli, tmux_fleet, "gus")
    pane_id = member_state(member_id)[1].tmux_pane_id
    app = make_app(tmux_fleet.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(member_pane.MemberPaneScreen(tmux_fleet.fleet_id, tmux_fleet.director_id, member_id))
        screen = app.screen
        await pilot.press("d", "enter")
        offer = await until(pilot, lambda: isinstance(app.screen, ConfirmModal) and app.screen, "the offer to force", timeout=15)
        assert "still open after 1s" in str(offer.message)
        assert member_state(member_id)[0] == "active"
        await pilot.press("escape")  # declined: nothing happens
        await settle(pilot)
        assert app.screen is screen and pane_id in panes(tmux_server)

        await pilot.press("d", "enter")
        await until(
            pilot,
            lambda: isinstance(app.screen, ConfirmModal) and "did not exit" in app.screen.title_text,
            "the second offer",
            timeout=15,
        )
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is not screen, "the screen to close", timeout=15)
        assert pane_id not in panes(tmux_server)
        assert member_state(member_id) == ("deregistered", None)


async def test_the_roster_shows_each_members_state_and_who_needs_you(db, cli, tmux_fleet, agents):
    from cafleet.screens.app import build_app
    from cafleet.screens.roster import RosterView

    member_id = spawn(cli, tmux_fleet, "ivy")
    agents.wait_for("ivy", lambda ev: any(e["event"] == "ready" for e in ev))
    app = build_app(tmux_fleet.fleet_id, watch_changes=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)

        def roster() -> str:
            return "\n".join(prompts(app.screen.query_one(RosterView)))

        await until(pilot, lambda: "○ ivy" in roster() and " ready" in roster(), "ivy shown ready")
        asked = cli(
            "--fleet-id",
            tmux_fleet.fleet_id,
            "member",
            "send-input",
            "--agent-id",
            tmux_fleet.director_id,
            "--member-id",
            member_id,
            "--freetext",
            "ask: rebase or merge? | rebase | merge",
            env=tmux_fleet.env,
        )
        assert asked.code == 0, asked.err
        await until(pilot, lambda: "⚠ ivy" in roster() and "needs you" in roster(), "the attention mark")
        assert "? rebase or merge?" in roster()


async def test_a_failing_broker_call_is_a_notification_and_the_app_keeps_running(db):
    """A fleet that does not exist makes the fleet view's loading worker fail."""
    app = make_app(999)
    notices = record_notices(app)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: [m for s, m in notices if s == "error"], "the error notification")
        assert app.is_running and app.return_code is None
        assert any("999" in m for s, m in notices if s == "error")
        await pilot.press("escape")  # and the user carries on
        await settle(pilot)
        assert app.is_running


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_a_directors_schedule_says_the_monitor_skips_its_pane_while_it_shows_the_tui(
    db, cli, tmux_fleet, tmux_server, size, tmp_path
):
    """The monitor never types into a pane that shows the TUI: the Director's schedule must not
    read as if it were pinged there (what `cafleet demo` once showed: "every 60s, enabled")."""
    from cafleet.core.domain import TUI_PANE_OPTION
    from cafleet.screens.agent_detail import AgentDetailScreen

    app = make_app(tmux_fleet.fleet_id)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.push_screen(AgentDetailScreen(tmux_fleet.fleet_id, tmux_fleet.director_id))
        await settle(pilot)
        schedule = lambda: text_of(app.screen, "#agent-schedule")  # noqa: E731
        await until(pilot, lambda: "every 120s" in schedule(), "the Director's schedule")
        assert "skipped" not in schedule() and "while unread" not in schedule()  # pinged every interval

        tmux_server.tmux("set-option", "-p", "-t", tmux_server.pane_id, TUI_PANE_OPTION, "1")
        await until(pilot, lambda: "skipped: its pane shows the TUI" in schedule(), "the skip reason", timeout=15)
        assert "shows the cafleet TUI" in text_of(app.screen, "#agent-placement")
        await settle(pilot)
        assert app.screen.query_one("#agent-info").region.height >= 9  # room for every line of it
        app.save_screenshot(str(tmp_path / f"skipped-{size[0]}x{size[1]}.svg"))
