"""The TUI at scale: a roster of tens of thousands of agents draws only what is on screen and
redraws only what changed; list entries hold a bounded part of a huge message, and opening the
message shows all of it. (bench/tui_scale_bench.py measures the same at 100,000 agents and
500 messages of 1 MiB.)"""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter

import pytest

from cafleet.broker.reads import ENTRY_TEXT_CHARS, RosterEntry
from cafleet.core.records import PlacementRecord, RosterAgent
from tests.tui_support import BASE_DAY, Story, build_story, settle

STAMP = f"{BASE_DAY}T09:00:00.000000Z"


def add_agents(fleet_id: int, count: int, name=lambda i: f"agent-{i:06d}") -> list[int]:
    """`count` registered agents (no pane), inserted in bulk; their ids in order."""
    from cafleet.store.models import Agent, database

    rows = [
        dict(fleet=fleet_id, name=name(i), description="one of many", kind="agent", registered_at=STAMP) for i in range(count)
    ]
    with database.atomic():
        for start in range(0, count, 2000):
            Agent.insert_many(rows[start : start + 2000]).execute()
    added = Agent.select(Agent.id).where((Agent.fleet == fleet_id) & (Agent.description == "one of many"))
    return [a.id for a in added.order_by(Agent.id)]


def run_elsewhere(code: str) -> str:
    """Run broker `code` in another process (the TUI notices commits of other connections)."""
    done = subprocess.run(
        [sys.executable, "-c", "from cafleet.store.db import open_database; open_database()\n" + code],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def until(pilot, condition, what: str, timeout: float = 15.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    assert condition(), f"timed out waiting for {what}"


def count_renders(monkeypatch) -> Counter:
    """Agent id -> how often its roster entry was rendered from here on."""
    import cafleet.screens.roster as roster_module

    calls: Counter = Counter()
    render = roster_module.roster_entry

    def counting(entry, *args, **kwargs):
        calls[entry.agent.id] += 1
        return render(entry, *args, **kwargs)

    monkeypatch.setattr(roster_module, "roster_entry", counting)
    return calls


def open_fleet(story: Story, watch: bool = True):
    from cafleet.screens.app import build_app

    return build_app(story.fleet_id, watch_changes=watch)


# -- the layout ----------------------------------------------------------------------------------


def test_the_line_index_answers_like_a_list_of_heights():
    from cafleet.screens.roster_layout import LineIndex

    rng = random.Random(7)
    heights = [rng.randint(1, 7) for _ in range(300)]
    index = LineIndex(heights)
    for _ in range(400):
        action = rng.random()
        if action < 0.4:
            at = rng.randrange(len(heights))
            heights[at] = rng.randint(1, 7)
            index.set_height(at, heights[at])
        elif action < 0.6:
            heights.append(rng.randint(1, 7))
            index.append(heights[-1])
        at = rng.randrange(len(heights))
        assert index.first_line(at) == sum(heights[:at])
        line = rng.randrange(sum(heights))
        entry, offset = index.at_line(line)
        assert sum(heights[:entry]) + offset == line and 0 <= offset < heights[entry]
        assert index.total == sum(heights) and len(index) == len(heights)


def test_the_roster_layout_puts_active_agents_first_each_run_by_id():
    from cafleet.screens.roster_layout import RosterLayout

    layout = RosterLayout()
    heights = {1: 3, 4: 2, 9: 2, 2: 2, 7: 5}
    layout.rebuild([1, 4, 9], [2, 7], heights.__getitem__)
    assert [layout.id_at(i) for i in range(len(layout))] == [1, 4, 9, 2, 7]
    assert [layout.first_line(i) for i in range(5)] == [0, 3, 5, 7, 9]
    assert layout.at_line(6) == (2, 1) and layout.at_line(8) == (3, 1) and layout.at_line(13) == (4, 4)
    with pytest.raises(IndexError):
        layout.at_line(14)
    assert layout.append_active(12, 4)
    assert [layout.id_at(i) for i in range(len(layout))] == [1, 4, 9, 12, 2, 7]
    assert layout.first_line(4) == 11 and layout.total_lines == 18
    assert not layout.append_active(10, 2)  # not the highest id: the caller lays out again
    assert layout.index_of(2) == 4 and layout.index_of(5) is None


def _entries() -> list[tuple]:
    from cafleet.broker.agent_states import SeenState
    from cafleet.core.agent_state import AgentState
    from cafleet.screens.hosts import HostMark

    placed = PlacementRecord(5, 1, "/tmp/s", 1, "main", "@1", "%5", "claude", STAMP, "host-b")
    pending = placed._replace(tmux_pane_id=None)
    asking = SeenState(5, AgentState.ASKING, "", "Keep the old AST as a shim, or drop it now?", STAMP)
    busy = SeenState(5, AgentState.BUSY, "", None, STAMP)
    host = HostMark("host-b", False)
    return [
        (RosterEntry(RosterAgent(5, "bob", "agent", "active"), 0, None, False), None, None),
        (RosterEntry(RosterAgent(5, "bob", "agent", "active"), 3, 300, True), None, None),
        (RosterEntry(RosterAgent(5, "bob", "agent", "deregistered", placed), 0, 300, True), busy, host),
        (RosterEntry(RosterAgent(5, "ivy", "member", "active", placed), 2, 300, False), busy, None),
        (RosterEntry(RosterAgent(5, "ivy", "member", "active", placed), 0, 300, True), asking, host),
        (RosterEntry(RosterAgent(5, "ivy", "member", "active", pending), 0, None, False), None, host),
        (RosterEntry(RosterAgent(5, "ivy", "member", "active", pending), 0, 120, True), asking, None),
    ]


@pytest.mark.parametrize("case", range(7))
def test_an_entry_is_estimated_at_the_lines_it_renders(case):
    from cafleet.screens.fleet_data import PaneLook, PaneMark
    from cafleet.screens.render import roster_entry, roster_height

    entry, seen, host = _entries()[case]
    rendered = roster_entry(entry, PaneMark(PaneLook.ALIVE), seen, host)
    assert roster_height(entry, seen, host) == len(rendered.plain.split("\n"))


# -- a big roster in the app ----------------------------------------------------------------------


async def test_twenty_thousand_agents_open_and_only_what_is_on_screen_is_rendered(db, monkeypatch):
    story = build_story()
    ids = add_agents(story.fleet_id, 20_000)
    renders = count_renders(monkeypatch)
    app = open_fleet(story, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        roster = app.screen.query_one("#roster")
        assert roster.option_count == 20_004  # the story's Director, Administrator, alice and bob, and 20,000
        assert roster.highlighted == 0
        assert sum(renders.values()) < 40, "only the entries on screen (and the one highlighted) are rendered"

        await pilot.press("ctrl+r", "end")
        await settle(pilot)
        assert roster.highlighted == 20_003 and roster.highlighted_option.id == f"agent-{ids[-1]}"
        shown = "\n".join(roster.render_line(y).text for y in range(roster.scrollable_content_region.height))
        assert "agent-019999" in shown
        assert len(renders) < 80, "jumping to the end rendered only the entries passed on screen"
        await pilot.press("pageup")
        await settle(pilot)
        assert roster.highlighted < 20_003
        assert roster.names()[-1] == "agent-019999" and len(roster.names()) == 20_003  # not the Administrator


async def test_a_change_elsewhere_reads_and_redraws_only_the_agents_it_touched(db, monkeypatch):
    from cafleet.broker import reads

    story = build_story()
    ids = add_agents(story.fleet_id, 20_000)
    middle = ids[10_000]
    asked: list[set[int]] = []
    entries_of = reads._roster_entries

    def recording(query, unread, ids=None):
        if ids is not None:
            asked.append(set(ids))
        return entries_of(query, unread, ids=ids)

    monkeypatch.setattr(reads, "_roster_entries", recording)
    app = open_fleet(story)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        roster = app.screen.query_one("#roster")
        renders = count_renders(monkeypatch)
        asked.clear()
        run_elsewhere(
            "from cafleet.broker.messages import send_message\n"
            f"send_message({story.fleet_id}, {story.alice_id}, '{middle}', 'for one of twenty thousand')"
        )
        await until(pilot, lambda: roster.entries[middle].unread == 1, "the unread mark of the recipient")
        assert set().union(*asked) == {middle}, "the refresh read the recipient's entry only"
        assert set(renders) <= {middle}, "nothing else was rendered again"
        assert roster.option_count == 20_004

        # Registration (at the end of the active agents) and deregistration (into the muted run).
        roster.highlighted = roster.get_option_index(f"agent-{ids[5]}")
        newcomer = int(
            run_elsewhere(
                "from cafleet.broker.agents import register_agent\n"
                f"print(register_agent({story.fleet_id}, 'newcomer', 'joins late').id)"
            )
        )
        await until(pilot, lambda: newcomer in roster.entries, "the new agent")
        assert roster.get_option_index(f"agent-{newcomer}") == 20_004
        run_elsewhere(f"from cafleet.broker.agents import deregister_agent\nderegister_agent({story.fleet_id}, {ids[0]})")
        await until(pilot, lambda: roster.entries[ids[0]].agent.status == "deregistered", "the deregistration")
        assert roster.get_option_index(f"agent-{ids[0]}") == 20_004  # the last one, after every active agent
        assert roster.highlighted_option.id == f"agent-{ids[5]}"  # the highlight stayed on its agent
        assert "deregistered" in str(roster.get_option(f"agent-{ids[0]}").prompt)
        assert "agent-000000" not in roster.names() and "newcomer" in roster.names()


async def test_entries_that_wrap_are_measured_when_they_come_on_screen(db):
    """Long names wrap: entries far down the roster are estimated until they are drawn, then
    laid out at their drawn height, so nothing on screen overlaps or is cut."""
    from cafleet.screens.roster import MEASURE_ALL_UP_TO

    story = build_story()
    count = MEASURE_ALL_UP_TO + 1000
    ids = add_agents(story.fleet_id, count, name=lambda i: f"a-rather-long-agent-name-that-wraps-{i:06d}")
    app = open_fleet(story, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        roster = app.screen.query_one("#roster")
        target = roster.get_option_index(f"agent-{ids[count - 500]}")
        roster.focus()
        roster.highlighted = target
        await settle(pilot)
        await pilot.pause()
        height = roster.scrollable_content_region.height
        top = int(roster.scroll_offset.y)
        index, _ = roster._layout.at_line(top)
        while roster._layout.first_line(index) < top + height:
            option = roster.get_option_at_index(index)
            drawn = len(roster._get_option_render(option, roster.get_visual_style("option-list--option")))
            assert roster._layout.height(index) == drawn > 3, index
            index += 1
        first = roster._layout.first_line(target)
        assert top <= first and first + roster._layout.height(target) <= top + height, "the highlighted entry is whole on screen"


# -- huge messages --------------------------------------------------------------------------------


async def test_a_huge_message_is_held_cut_in_the_lists_and_whole_in_its_modal(db):
    from cafleet.broker import reads
    from cafleet.broker.messages import broadcast_message, send_message
    from cafleet.core.terminal import block

    story = build_story()
    text = "".join(f"line {i}: {'x' * 60}\n" for i in range(10_000))  # 700 KB, 10,000 lines
    huge = send_message(story.fleet_id, story.alice_id, "Administrator", text)
    everyone = broadcast_message(story.fleet_id, story.director_id, text)

    page = {t.id: t for t in reads.timeline(story.fleet_id)}
    assert len(page[huge.id].text) == ENTRY_TEXT_CHARS and page[huge.id].text_truncated
    assert text.startswith(page[huge.id].text)
    assert all(d.text == "" for d in page[everyone.summary.id].deliveries)
    assert [len(t.text) for t in reads.agent_inbox(story.administrator_id) if t.id == huge.id] == [ENTRY_TEXT_CHARS]
    assert all(len(t.text) <= ENTRY_TEXT_CHARS for t in reads.sent(story.director_id))
    assert reads.message_text(story.fleet_id, huge.id) == text

    app = open_fleet(story, watch=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        shown = str(timeline.get_option(f"task-{huge.id}").prompt)
        assert shown.endswith("+ more lines)") and len(shown) < 1000
        await pilot.press("ctrl+o")  # the human's inbox: the huge message is the newest
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        from textual.widgets import Static

        await until(
            pilot,
            lambda: str(app.screen.query_one("#message-text", Static).content) == block(text),
            "the whole text in the modal",
        )


def test_a_message_within_the_bound_is_held_whole(fleet):
    from cafleet.broker import reads
    from cafleet.broker.messages import send_message

    text = "é" * ENTRY_TEXT_CHARS  # characters, not bytes
    sent = send_message(fleet.fleet_id, fleet.alice_id, "bob", text)
    [entry] = [t for t in reads.timeline(fleet.fleet_id) if t.id == sent.id]
    assert (entry.text, entry.text_truncated) == (text, False)


def test_the_placement_columns_follow_the_record():
    from cafleet.broker.reads import _PLACEMENT_COLUMNS

    assert [c.column_name for c in _PLACEMENT_COLUMNS] == list(PlacementRecord._fields)


async def test_a_broadcast_to_many_carries_its_first_deliveries_and_counts_all(db):
    """Each ack of a broadcast to thousands would otherwise read and draw every recipient again."""
    from cafleet.broker.messages import ack_message, broadcast_message
    from cafleet.broker.reads import ENTRY_DELIVERIES

    story = build_story()
    add_agents(story.fleet_id, ENTRY_DELIVERIES + 50)
    sent = broadcast_message(story.fleet_id, story.director_id, "all hands at ten")
    total = len(sent.deliveries)
    assert total == ENTRY_DELIVERIES + 52  # alice and bob too
    ack_message(story.fleet_id, sent.deliveries[0].to_agent_id, sent.deliveries[0].id)

    app = open_fleet(story)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        timeline = app.screen.query_one("#timeline")
        entry = timeline.tasks[sent.summary.id]
        assert len(entry.deliveries) == ENTRY_DELIVERIES
        assert entry.delivery_totals == (total, 1, total - 1)
        shown = str(timeline.get_option(f"task-{sent.summary.id}").prompt)
        assert f"→ all ({total})" in shown and f"1/{total} acked" in shown and "… 52 more" in shown

        last = sent.deliveries[-1]  # beyond the ones the entry holds
        run_elsewhere(
            f"from cafleet.broker.messages import ack_message\nack_message({story.fleet_id}, {last.to_agent_id}, {last.id})"
        )
        await until(pilot, lambda: timeline.tasks[sent.summary.id].delivery_totals.acked == 2, "the second ack")
        assert f"2/{total} acked" in str(timeline.get_option(f"task-{sent.summary.id}").prompt)
        assert len(timeline.tasks[sent.summary.id].deliveries) == ENTRY_DELIVERIES

        timeline.focus()
        timeline.highlighted = timeline.get_option_index(f"task-{sent.summary.id}")
        await pilot.press("enter")
        await settle(pilot)
        from textual.widgets import Static

        meta = str(app.screen.query_one("#message-meta", Static).content)
        assert f"… and 52 more; of all {total}: 2 acked, {total - 2} unread" in meta
