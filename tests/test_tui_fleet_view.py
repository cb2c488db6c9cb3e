"""Driving the real app with Pilot: navigation, the composer, live updates, the human's inbox."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from textual.widgets import DataTable, OptionList

from tests.tui_support import build_story, settle


def make_app(fleet_id=None, watch_changes=False):
    from cafleet.screens.app import build_app

    return build_app(fleet_id, watch_changes=watch_changes)


async def reply_to_first_inbox_message(pilot) -> None:
    """Open the human's inbox, its first message, and press Reply."""
    await pilot.press("ctrl+o", "enter")
    await settle(pilot)
    await pilot.click("#reply")
    await settle(pilot)


async def wait_until(pilot, condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


async def test_picker_opens_a_fleet_and_escape_returns(db):
    from cafleet.screens.fleet_picker import FleetPickerScreen
    from cafleet.screens.fleet_view import FleetViewScreen

    story = build_story()
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, FleetPickerScreen)
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, FleetViewScreen) and app.screen.fleet_id == story.fleet_id
        timeline = app.screen.query_one("#timeline")
        assert set(timeline.tasks) == {1, 2, 3, 6, 7}  # broadcast deliveries 4 and 5 are shown once, as #3
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, FleetPickerScreen)


async def test_with_no_fleet_the_palette_offers_none_to_open(db):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "Open fleet" not in {c.title for c in app.get_system_commands(app.screen)}
        build_story()
        app.screen.load()
        assert await wait_until(pilot, lambda: app.screen.query_one(DataTable).row_count == 1)
        assert "Open fleet" in {c.title for c in app.get_system_commands(app.screen)}


async def test_composer_sends_unicast_and_broadcast_as_administrator(db):
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press(*"@bo", "right", *"ship it", "enter")  # → completes @bob
        await settle(pilot)
        await pilot.press(*"@all wrap up", "enter")
        await settle(pilot)
        unicast = Task.select().where(Task.text == "ship it").get()
        assert (unicast.sender_id, unicast.recipient_id, unicast.kind) == (story.administrator_id, story.bob_id, "unicast")
        summary = Task.select().where((Task.text == "wrap up") & (Task.kind == "broadcast_summary")).get()
        deliveries = Task.select().where((Task.origin == summary.id) & (Task.kind == "broadcast"))
        assert summary.sender_id == story.administrator_id
        assert sorted(d.recipient_id for d in deliveries) == [story.director_id, story.alice_id, story.bob_id]
        assert app.screen.query_one("#composer-input").value == ""


async def test_composer_errors_change_nothing(db):
    from cafleet.store.models import Task

    story = build_story()
    before = Task.select().count()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        for line, message in [
            ("@nobody hi", "no active agent named @nobody"),
            ("@all @bob hi", "cannot be mixed"),
            ("@bob", "is empty"),
            ("hello", "start with @name"),
        ]:
            field = app.screen.query_one("#composer-input")
            field.value = line
            await pilot.press("enter")
            await settle(pilot)
            assert message in str(app.screen.query_one("#composer-error").render())
            assert field.value == line  # kept for fixing
    assert Task.select().count() == before


async def test_a_composer_error_goes_with_its_text_and_on_a_tab_change(db):
    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        error = app.screen.query_one("#composer-error")
        await pilot.press(*"hello", "enter")
        await settle(pilot)
        assert error.has_class("visible") and "start with @name" in str(error.render())
        await pilot.press(*["backspace"] * 4)
        assert error.has_class("visible")  # still about the text being fixed
        await pilot.press("backspace")
        await settle(pilot)
        assert not error.has_class("visible") and str(error.render()) == ""

        await pilot.press(*"@nobody hi", "enter")
        await settle(pilot)
        assert error.has_class("visible")
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert not error.has_class("visible")
        assert app.screen.query_one("#composer-input").value == "@nobody hi"  # the text stays to fix


async def test_a_message_from_another_process_appears_within_a_second(db):
    story = build_story()
    app = make_app(story.fleet_id, watch_changes=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        sender = subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "from cafleet.store.db import open_database; open_database()\n"
                    "from cafleet.broker.messages import send_message\n"
                    f"print(send_message({story.fleet_id}, {story.alice_id}, 'bob', 'from elsewhere').id)"
                ),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        committed = time.monotonic()
        task_id = int(sender.stdout)
        assert await wait_until(pilot, lambda: task_id in timeline.tasks, timeout=3)
        assert time.monotonic() - committed < 1.0


async def test_an_ack_elsewhere_updates_the_broadcast_marks(db):
    from cafleet.broker.messages import ack_message

    story = build_story()
    app = make_app(story.fleet_id, watch_changes=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        assert [d.state for d in timeline.tasks[story.broadcast_id].deliveries] == ["completed", "input_required"]
        bob_delivery = timeline.tasks[story.broadcast_id].deliveries[1].id
        subprocess.run(
            [
                sys.executable,
                "-c",
                (
                    "from cafleet.store.db import open_database; open_database()\n"
                    "from cafleet.broker.messages import ack_message\n"
                    f"ack_message({story.fleet_id}, {story.bob_id}, {bob_delivery})"
                ),
            ],
            check=True,
        )
        assert await wait_until(
            pilot, lambda: [d.state for d in timeline.tasks[story.broadcast_id].deliveries] == ["completed", "completed"]
        )
        assert ack_message  # imported to show which broker call the subprocess makes


async def test_administrator_inbox_counts_and_acks(db):
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        tabs = app.screen.query_one("#fleet-tabs")
        assert str(tabs.get_tab("inbox-tab").label) == "Inbox (1)"
        await pilot.press("ctrl+o")
        await settle(pilot)
        inbox = app.screen.query_one("#inbox", OptionList)
        assert inbox.option_count == 1 and inbox.has_focus
        await pilot.press("enter")  # open the message
        await settle(pilot)
        await pilot.click("#ack")
        await settle(pilot)
        task = Task.get(Task.recipient == story.administrator_id)
        assert task.state == "completed"
        await pilot.pause(0.3)
        await settle(pilot)
        assert str(tabs.get_tab("inbox-tab").label) == "Inbox"


async def test_in_the_message_dialog_tab_then_enter_acks(db):
    """Ack, the dialog's primary action, comes first: Tab+Enter acks an unread message. On a
    message there is nothing to ack, the first Tab goes to Reply."""
    from cafleet.store.models import Task

    story = build_story()
    question = Task.get(Task.recipient == story.administrator_id)
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o", "enter")
        await settle(pilot)
        buttons = [b.id for b in app.screen.query("#message-actions Button")]
        assert buttons == ["ack", "reply", "close"]
        await pilot.press("tab")
        assert app.focused.id == "ack"
        await pilot.press("enter")
        assert await wait_until(pilot, lambda: Task.get_by_id(question.id).state == "completed")
        assert app.screen.query_one("#composer").reply_to is None
        await settle(pilot)
        await pilot.press("ctrl+o", "enter")  # acked now: only Reply and Close
        await settle(pilot)
        await pilot.press("tab")
        assert app.focused.id == "reply"


async def test_reply_from_the_message_modal_links_the_thread(db):
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await reply_to_first_inbox_message(pilot)
        field = app.screen.query_one("#composer-input")
        assert field.value == "@bob " and field.has_focus
        await pilot.press(*"keep it", "enter")
        await settle(pilot)
        reply = Task.get(Task.text == "keep it")
        question = Task.get(Task.recipient == story.administrator_id)
        assert (reply.recipient_id, reply.reply_to_id) == (story.bob_id, question.id)


async def test_ten_thousand_messages_open_fast_and_page_on_demand(db):
    from cafleet.store.models import Task, database

    story = build_story()
    rows = [
        dict(
            fleet=story.fleet_id,
            owner=story.bob_id,
            sender=story.alice_id,
            recipient=story.bob_id,
            kind="unicast",
            state="completed",
            created_at=f"2026-11-21T10:{i // 600 % 60:02d}:{i % 60:02d}.{i:06d}Z",
            state_changed_at="2026-11-21T10:00:00.000000Z",
            text=f"bulk message {i}",
        )
        for i in range(10_000)
    ]
    with database.atomic():
        for start in range(0, len(rows), 500):
            Task.insert_many(rows[start : start + 500]).execute()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        assert len(timeline.tasks) == 500 and timeline.has_older
        timeline.focus()
        timeline.highlighted = 0
        await pilot.press("enter")  # "older messages" row
        await settle(pilot)
        assert len(timeline.tasks) == 1000


async def test_every_view_numbers_a_reply_to_a_broadcast_as_the_timeline_does(db):
    """The timeline shows a broadcast once, as its summary: a reply to one recipient's copy
    says `re #<summary>` in the timeline, the human's inbox, the message dialog, the agent's
    detail (inbox and sent) and search; the copy's own number, never shown, appears nowhere."""
    from cafleet.broker.messages import broadcast_message, send_message
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.search import SearchScreen

    story = build_story()
    sent = broadcast_message(story.fleet_id, story.administrator_id, "Freeze the API today?")
    alices_copy = next(d for d in sent.deliveries if d.to_agent_id == story.alice_id)
    reply = send_message(story.fleet_id, story.alice_id, "Administrator", "yes, frozen", reply_to=alices_copy.id)
    shown, hidden = f"re #{sent.summary.id}", f"#{alices_copy.id}"

    def says_the_summary(text) -> None:
        plain = text.plain if hasattr(text, "plain") else str(text)
        assert shown in plain.replace("re       #", "re #") and hidden not in plain, plain

    app = make_app(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        says_the_summary(app.screen.query_one("#timeline").get_option(f"task-{reply.id}").prompt)
        says_the_summary(app.screen.query_one("#inbox", OptionList).get_option(f"inbox-{reply.id}").prompt)
        await pilot.press("ctrl+o", "enter")
        await settle(pilot)
        says_the_summary(app.screen.query_one("#message-meta").render())
        await pilot.press("escape")
        await settle(pilot)

        await app.push_screen(SearchScreen(story.fleet_id, story.administrator_id, "frozen"))
        await wait_until(pilot, lambda: app.screen.hits)
        await settle(pilot)
        says_the_summary(app.screen.query_one("#search-results", OptionList).get_option(f"hit-{reply.id}").prompt)
        await pilot.press("escape")
        await settle(pilot)

        for agent_id, box, option in (
            (story.alice_id, "#agent-sent", f"out-{reply.id}"),
            (story.administrator_id, "#agent-inbox", f"in-{reply.id}"),
        ):
            await app.push_screen(AgentDetailScreen(story.fleet_id, agent_id))
            await wait_until(pilot, lambda: app.screen.detail is not None)
            await settle(pilot)
            says_the_summary(app.screen.query_one(box, OptionList).get_option(option).prompt)
            await pilot.press("escape")
            await settle(pilot)


async def test_the_timeline_keeps_following_after_a_composer_error(db):
    from cafleet.broker.messages import send_message

    story = build_story()
    for n in range(15):  # more than a screenful, so the view is scrolled to its end
        send_message(story.fleet_id, story.bob_id, "alice", f"earlier {n}")
    app = make_app(story.fleet_id, watch_changes=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        assert timeline.max_scroll_y > 0 and timeline.scroll_y == timeline.max_scroll_y
        await pilot.press(*"@nobody hello", "enter")  # an error line appears and the timeline shrinks
        await settle(pilot)
        assert app.screen.query_one("#composer-error").has_class("visible")
        sent = [send_message(story.fleet_id, story.alice_id, "bob", f"update {n}").id for n in range(10)]
        assert await wait_until(pilot, lambda: sent[-1] in timeline.tasks, timeout=3)
        await settle(pilot)
        await pilot.pause(0.2)
        assert timeline.scroll_y == timeline.max_scroll_y > 0  # the newest message is in view


async def test_a_reply_shows_its_marker_escape_cancels_it_and_it_never_sticks(db):
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await reply_to_first_inbox_message(pilot)
        marker = app.screen.query_one("#composer-reply")
        question = Task.get(Task.recipient == story.administrator_id)
        assert marker.has_class("visible") and f"replying to #{question.id}" in str(marker.content)
        await pilot.press("escape")  # cancels the reply, stays on the fleet view
        await settle(pilot)
        assert not marker.has_class("visible") and app.screen.query_one("#composer").reply_to is None
        await pilot.press(*"keep it", "enter")
        await settle(pilot)
        assert Task.get(Task.text == "@bob keep it".split(" ", 1)[1]).reply_to_id is None

        await reply_to_first_inbox_message(pilot)
        field = app.screen.query_one("#composer-input")
        field.value = "@alice unrelated"  # the user re-addresses it: no longer a reply
        await pilot.press("enter")
        await settle(pilot)
        assert Task.get(Task.text == "unrelated").reply_to_id is None
        await pilot.press("escape")  # no reply pending: back to the fleets
        await settle(pilot)
        assert type(app.screen).__name__ == "FleetPickerScreen"


async def test_one_key_acks_the_highlighted_inbox_message(db):
    from cafleet.broker.messages import send_message
    from cafleet.store.models import Task

    story = build_story()
    second = send_message(story.fleet_id, story.alice_id, "Administrator", "Also: the CI is red.")
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+o")
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause(0.3)
        await settle(pilot)
        unread = Task.select().where((Task.recipient == story.administrator_id) & (Task.state == "input_required")).count()
        assert unread == 1
        await pilot.press("down", "a")
        await pilot.pause(0.3)
        await settle(pilot)
        assert Task.get_by_id(second.id).state == "completed"
        assert not Task.select().where((Task.recipient == story.administrator_id) & (Task.state == "input_required")).exists()
        await pilot.press("ctrl+n", "a")  # in the composer `a` is a letter
        await settle(pilot)
        assert app.screen.query_one("#composer-input").value == "a"


async def test_typing_right_after_a_focus_change_loses_nothing(db):
    """Keys typed at once after Ctrl+T / Ctrl+N, Ctrl+O / Ctrl+N or Reply all reach the composer."""
    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        field = app.screen.query_one("#composer-input")
        for hops in (["ctrl+t", "ctrl+n"], ["ctrl+o", "ctrl+n"], ["ctrl+r", "ctrl+n"]):
            field.value = ""
            await pilot.press(*hops, *"@alice quick")  # no pause between the hop and the typing
            assert field.value == "@alice quick", (hops, field.value)
        field.value = ""
        await pilot.press("ctrl+o", "enter")
        await settle(pilot)
        await pilot.click("#reply")
        await pilot.press(*"right away")
        assert field.value == "@bob right away"


async def test_unread_only_filter_jump_to_newest_and_the_palette_lists_them(db):
    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        everything = {o.id for o in timeline._options if o.id and o.id.startswith("task-")}
        await pilot.press("ctrl+f")
        await settle(pilot)
        unread = {o.id for o in timeline._options if o.id and o.id.startswith("task-")}
        assert unread < everything and unread
        assert all(
            timeline.tasks[int(i[5:])].state == "input_required" or timeline.tasks[int(i[5:])].kind == "broadcast_summary"
            for i in unread
        )
        assert "unread" in str(app.screen.query_one("#fleet-tabs").get_tab("timeline-tab").label)
        await pilot.press("ctrl+f")
        await settle(pilot)
        assert {o.id for o in timeline._options if o.id and o.id.startswith("task-")} == everything
        await pilot.press("home", "ctrl+g")
        await settle(pilot)
        assert timeline.has_focus and timeline.highlighted == timeline.option_count - 1
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Jump to the newest message", "Unread only / all messages"} <= set(titles)


async def test_the_palette_offers_ack_and_cancel_the_reply_only_where_they_apply(db):
    from textual.command import CommandList

    from cafleet.broker.messages import ack_message
    from cafleet.store.models import Task

    story = build_story()
    app = make_app(story.fleet_id)

    def offered() -> set[str]:
        return {c.title for c in app.get_system_commands(app.screen)}

    ack, cancel = "Ack the highlighted inbox message", "Cancel the reply"
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert ack not in offered() and cancel not in offered()  # the timeline; no reply pending
        await pilot.press("ctrl+o")
        await settle(pilot)
        assert ack in offered()  # the inbox, its cursor on an unread message
        await pilot.press("ctrl+n")
        await settle(pilot)
        assert ack in offered()  # the inbox still shown, the focus in the composer
        await reply_to_first_inbox_message(pilot)
        assert cancel in offered()
        await pilot.press("escape")
        await settle(pilot)
        assert cancel not in offered()
        ack_message(story.fleet_id, story.administrator_id, Task.get(Task.recipient == story.administrator_id).id)
        app.screen.refresh_live()
        assert await wait_until(pilot, lambda: ack not in offered())  # its cursor on an acked message
        await pilot.press("ctrl+p", *"ack")  # the palette itself lists no ack either
        await settle(pilot)
        await pilot.pause(0.3)
        shown = [str(o.prompt) for o in app.screen.query_one(CommandList).options]
        assert not any("Ack the highlighted" in prompt for prompt in shown), shown


def newest_line_in_view(timeline) -> bool:
    """Whether the last line of the timeline's last entry is inside the visible region."""
    last = timeline.option_count - 1
    bottom = timeline._index_to_line[last] + timeline._heights[last]
    return timeline.scroll_offset.y + timeline.scrollable_content_region.height >= bottom


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
async def test_the_newest_line_stays_in_view_after_a_burst_whose_acks_grow_entries(db, size):
    """At 80×24 an ack's time can wrap an entry's header onto a line of its own: the entry
    grows after the view scrolled to its end, and the view must follow the growth."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.messages import ack_message, send_message

    story = build_story()
    register_agent(story.fleet_id, "implementer-one", "Writes code")
    reviewer = register_agent(story.fleet_id, "reviewer-number-two", "Reviews it").id
    app = make_app(story.fleet_id)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        burst = [
            send_message(story.fleet_id, story.alice_id, "reviewer-number-two", f"step {n} is ready for review").id
            for n in range(12)
        ]
        app.screen.refresh_live()
        await settle(pilot)
        assert burst[-1] in timeline.tasks
        assert await wait_until(pilot, lambda: newest_line_in_view(timeline), timeout=2)
        for task_id in burst:
            ack_message(story.fleet_id, reviewer, task_id)
        app.screen.refresh_live()
        assert await wait_until(pilot, lambda: timeline.tasks[burst[-1]].state == "completed")
        # Only the entry of the last message to grow is enough to hide its last line.
        assert await wait_until(pilot, lambda: newest_line_in_view(timeline), timeout=2)


async def test_a_burst_while_the_inbox_is_shown_is_in_view_back_on_the_timeline(db):
    from cafleet.broker.messages import send_message

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        await pilot.press("ctrl+o")
        await settle(pilot)
        burst = [send_message(story.fleet_id, story.alice_id, "bob", f"note {n}").id for n in range(12)]
        app.screen.refresh_live()
        assert await wait_until(pilot, lambda: burst[-1] in timeline.tasks)
        await settle(pilot)
        await pilot.press("ctrl+t")
        assert await wait_until(pilot, lambda: newest_line_in_view(timeline), timeout=2)
        assert timeline.following


def entry_in_view(timeline, task_id: int) -> bool:
    """Whether every line of `task_id`'s entry is inside the visible region."""
    index = timeline.get_option_index(f"task-{task_id}")
    top = timeline._index_to_line[index]
    shown_from = timeline.scroll_offset.y
    return shown_from <= top and top + timeline._heights[index] <= shown_from + timeline.scrollable_content_region.height


async def test_a_message_sent_from_the_composer_comes_into_view(db):
    """After a jump to a search hit far up (the view stops following), or on the inbox tab,
    the message just sent shows in the timeline, under the cursor, and the composer keeps
    the focus."""
    from cafleet.broker.messages import send_message
    from cafleet.store.models import Task

    story = build_story()
    for n in range(30):
        send_message(story.fleet_id, story.bob_id, "alice", f"earlier {n}")
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        field = app.screen.query_one("#composer-input")
        for detour, text in ((("ctrl+n",), "after the search"), (("ctrl+o", "ctrl+n"), "from the inbox tab")):
            app.screen._jump_to(1)  # what choosing a search hit does
            await settle(pilot)
            assert not timeline.following and not entry_in_view(timeline, max(timeline.tasks))
            await pilot.press(*detour, *f"@bob {text}", "enter")
            assert await wait_until(pilot, lambda text=text: Task.get_or_none(Task.text == text))
            sent = Task.get(Task.text == text).id
            assert await wait_until(pilot, lambda sent=sent: sent in timeline.tasks)
            assert await wait_until(pilot, lambda sent=sent: entry_in_view(timeline, sent), timeout=2)
            assert app.screen.query_one("#fleet-tabs").active == "timeline-tab"
            assert timeline.highlighted_option.id == f"task-{sent}" and timeline.following
            assert field.has_focus


async def test_the_footer_shows_jump_to_newest_and_every_key_fits_in_80_columns(db):
    from textual.widgets._footer import FooterKey

    story = build_story()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for focus in ("ctrl+n", "ctrl+t", "ctrl+o", "ctrl+r"):  # the inbox adds `a Ack`
            await pilot.press(focus)
            await settle(pilot)
            keys = list(app.screen.query(FooterKey))
            palette = next(k for k in keys if k.has_class("-command-palette"))
            shown = {k.key: k for k in keys if k is not palette}
            assert "ctrl+g" in shown and shown["ctrl+g"].description == "Newest"
            assert all(k.region.right <= palette.region.x for k in shown.values()), (focus, [k.key for k in shown.values()])
            assert ("a" in shown) == (focus == "ctrl+o")
