"""`/` in the fleet view: the search dialog, its results, and the jump to a message (older
pages loaded on the way). Snapshots at 80×24 and 200×50 live in snapshots/test_tui_search/."""

from __future__ import annotations

import pytest
from textual.widgets import Input, OptionList

from tests.test_tui_snapshots import app_for, settle, still_frame
from tests.tui_support import build_story, freeze_times
from tests.waiting import until


async def _results(pilot, count: int | None = None, timeout: float = 10.0):
    """Wait until the dialog shows results for what was typed (`count` of them, if given)."""
    import time

    deadline = time.monotonic() + timeout
    screen = pilot.app.screen
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        typed = screen.query_one("#search-input", Input).value
        if screen.searched == typed and (count is None or len(screen.hits) == count):
            break
    await settle(pilot)
    return screen.query_one("#search-results", OptionList)


async def test_slash_in_the_composer_searches_and_enter_jumps(db):
    from cafleet.screens.search import SearchScreen

    story = build_story()
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.focused.id == "composer-input"
        await pilot.press("/")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        assert app.screen.query_one("#search-input", Input).has_focus
        await pilot.press(*"tokenizer")
        results = await _results(pilot, 2)
        assert [o.id for o in results._options] == ["hit-7", "hit-1"]  # "Tokenizer split" is the shorter text
        await pilot.press("down", "down", "enter")  # into the list, to the second hit, open it
        await settle(pilot)
        timeline = app.screen.query_one("#timeline", OptionList)
        assert timeline.has_focus and timeline.highlighted_option.id == "task-1"
        # The composer kept nothing of the `/`.
        assert app.screen.query_one("#composer-input", Input).value == ""


async def burst(pilot, text: str) -> None:
    """`text` as a terminal delivers a write of it (tmux send-keys of the whole string): every
    key queued at once, none waiting for the app to handle the one before."""
    from textual import events

    app = pilot.app
    for char in text:
        key = events.Key("slash" if char == "/" else char, char)
        key.set_sender(app)
        app._driver.send_message(key)
    await pilot.pause()


@pytest.mark.parametrize("how", ["typed", "burst", "pasted"])
async def test_slash_and_words_in_the_empty_composer_search_for_the_words(db, how):
    """`/review` searches for "review" however it arrives: typed key by key, in one burst, or
    pasted; no letter of it is lost or left behind in the composer."""
    from textual import events

    from cafleet.screens.search import SearchScreen

    story = build_story()
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        if how == "typed":
            await pilot.press("/", *"review")
        elif how == "burst":
            await burst(pilot, "/review")
        else:
            app.post_message(events.Paste("/review"))
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search dialog")
        await _results(pilot)
        field = app.screen.query_one("#search-input", Input)
        assert field.value == "review" and field.has_focus and field.cursor_position == len("review")
        assert len(app.screen.hits) == 1  # "Please review PR 42."
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_one("#composer-input", Input).value == ""


async def test_slash_elsewhere_opens_it_and_escape_closes_it(db):
    from cafleet.screens.fleet_view import FleetViewScreen
    from cafleet.screens.search import SearchScreen

    story = build_story()
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+t", "slash")
        await pilot.pause()
        assert isinstance(app.screen, SearchScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, FleetViewScreen)
        # In the middle of a message `/` is just a character.
        await pilot.press("ctrl+n", *"@bob a/b")
        await pilot.pause()
        assert isinstance(app.screen, FleetViewScreen)
        assert app.screen.query_one("#composer-input", Input).value == "@bob a/b"


async def test_a_bad_query_says_why_and_jumps_nowhere(db):
    story = build_story()
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("/", "!", "!")
        await _results(pilot)
        status = str(app.screen.query_one("#search-status").render())
        assert "no words to search for" in status
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "SearchScreen"


async def test_one_hit_is_one_message(db):
    story = build_story()
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("/", *"nits")
        await _results(pilot, 1)
        assert str(app.screen.query_one("#search-status").render()).startswith("1 message, best match first")
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"tokenizer")
        await _results(pilot, 2)
        assert str(app.screen.query_one("#search-status").render()).startswith("2 messages, best match first")


def test_a_body_counts_the_lines_it_leaves_out_in_the_singular_for_one():
    from cafleet.screens.render import body

    assert body("\n".join("abcdefg"), lines=6).endswith("\n… (1 more line)")
    assert body("\n".join("abcdefgh"), lines=6).endswith("\n… (2 more lines)")
    assert body("\n".join("abcdefg"), lines=6, cut=True).endswith("\n… (1+ more lines)")


def test_a_body_ending_in_a_newline_counts_no_line_it_does_not_leave_out():
    from cafleet.screens.render import body

    six = "\n".join("abcdef") + "\n"
    assert body(six, lines=6) == "a\nb\nc\nd\ne\nf"


async def test_jumping_to_a_message_older_than_the_loaded_pages(db, monkeypatch):
    from cafleet.broker.messages import send_message
    from cafleet.screens import fleet_view, timeline_search

    story = build_story()
    for n in range(30):
        send_message(story.fleet_id, story.alice_id, "bob", f"filler {n}")
    send_message(story.fleet_id, story.alice_id, "bob", "the newest")
    freeze_times()
    monkeypatch.setattr(fleet_view, "PAGE", 5)
    monkeypatch.setattr(timeline_search, "PAGE", 5)
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        assert 1 not in timeline.tasks
        await pilot.press("/", *"PR 42", "enter")
        await settle(pilot)
        await pilot.pause(0.2)
        assert timeline.highlighted_option.id == "task-1"
        assert min(timeline.tasks) == 1 and len(timeline.tasks) == 36
        assert not timeline.following


async def test_too_far_back_opens_the_message_instead(db, monkeypatch):
    from cafleet.broker.messages import send_message
    from cafleet.screens import fleet_view, timeline_search
    from cafleet.screens.message_modal import MessageModal

    story = build_story()
    for n in range(30):
        send_message(story.fleet_id, story.alice_id, "bob", f"filler {n}")
    freeze_times()
    monkeypatch.setattr(fleet_view, "PAGE", 5)
    monkeypatch.setattr(timeline_search, "PAGE", 5)
    monkeypatch.setattr(timeline_search, "MAX_PAGES_TO_JUMP", 2)
    app = app_for(story.fleet_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("/", *"PR 42")
        await _results(pilot, 1)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.pause(0.2)
        assert isinstance(app.screen, MessageModal) and app.screen.record.id == 1


# -- snapshots -------------------------------------------------------------------------


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def size(request) -> tuple[int, int]:
    return request.param


def test_search_results(db, snap_compare, size):
    """Two hits with the matches marked, the best one highlighted."""
    story = build_story()

    async def run(pilot):
        await settle(pilot)
        await pilot.press("/", *"tokenizer")
        await _results(pilot, 2)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await still_frame(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)


def test_search_jumped_to_a_message(db, snap_compare, size):
    """After Enter on the second hit: the timeline's cursor on that message."""
    story = build_story()

    async def run(pilot):
        await settle(pilot)
        await pilot.press("/", *"tokenizer")
        await _results(pilot, 2)
        await pilot.press("down", "down", "enter")
        await settle(pilot)
        await still_frame(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)
