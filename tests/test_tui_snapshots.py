"""SVG snapshots of every screen at 80×24 and 200×50 (baselines in snapshots/). Data and clocks
are frozen. Review a changed baseline by eye: render it with `rsvg-convert x.svg -o x.png`."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from tests.tui_support import add_member, build_story, freeze_times
from tests.tui_support import settle as settle_workers
from tests.waiting import until

# The TUI's look: the rows it shows are read by the queries that the fleet-view, detail and
# search tests run on PostgreSQL.
pytestmark = pytest.mark.engine_neutral


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def size(request) -> tuple[int, int]:
    return request.param


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
    from textual.css.query import NoMatches

    def loaded():
        try:
            return ready(pilot.app.screen)
        except (NoMatches, AttributeError):  # the screen is not composed, or not loaded, yet
            return False

    await until(pilot, loaded, "the screen to load", timeout)
    await settle(pilot)
    await still_frame(pilot)


async def still_frame(pilot) -> None:
    """Wait until two frames in a row are the same: a tab underline slides for a moment after
    its label changes, and a footer redraws once its bindings are refreshed."""
    previous = None
    for _ in range(40):
        frame = pilot.app.export_screenshot()
        if frame == previous:
            break
        previous = frame
        await pilot.pause(0.1)


def pressing(*keys: str):
    """A `run_before` that waits for the screen, presses `keys`, and waits again."""

    async def run(pilot):
        await settle(pilot)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)
        await still_frame(pilot)

    return run


async def open_agent(pilot, fleet_id: int, agent_id: int) -> None:
    from cafleet.screens.agent_detail import AgentDetailScreen

    await settle(pilot)
    await pilot.app.push_screen(AgentDetailScreen(fleet_id, agent_id))
    await until_loaded(pilot, lambda screen: screen.detail is not None)
    # Textual re-measures a relabelled tab's underline racily; switching tabs redraws it.
    await pilot.press("o", "i")
    await until_loaded(pilot, lambda screen: True)


async def open_member_pane(pilot, fleet_id: int, director_id: int, member_id: int) -> None:
    from cafleet.screens.member_pane import MemberPaneScreen

    await settle(pilot)
    await pilot.app.push_screen(MemberPaneScreen(fleet_id, director_id, member_id))
    await until_loaded(pilot, lambda screen: screen.problem is not None)


# -- fleet picker ----------------------------------------------------------------------


def test_fleet_picker(db, snap_compare, size):
    from cafleet.broker.fleets import create_fleet
    from tests.support import OTHER_PANE

    build_story()
    create_fleet(OTHER_PANE, label="docs sweep")
    freeze_times()
    assert snap_compare(app_for(), terminal_size=size, run_before=pressing())


def test_fleet_picker_empty_state(db, snap_compare, size):
    assert snap_compare(app_for(), terminal_size=size, run_before=pressing())


# -- fleet view ------------------------------------------------------------------------


def test_fleet_view(db, snap_compare, size):
    """The timeline with a reply thread, a partly acked broadcast and a day separator."""
    story = build_story()
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing())


def test_fleet_view_with_agent_states(db, snap_compare, size):
    """The roster's state marks, panes and schedules, with an agent that needs the human."""
    from cafleet.broker.agent_states import record_state
    from cafleet.core.agent_state import AgentState, Observation

    story = build_story()
    coder = add_member(story)
    record_state(story.director_id, Observation(AgentState.READY))
    record_state(story.alice_id, Observation(AgentState.ASKING, question="Keep the old AST as a shim?"))
    record_state(story.bob_id, Observation(AgentState.BUSY))
    record_state(coder, Observation(AgentState.STARTING))
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing())


def test_fleet_view_with_lost_members(db, snap_compare, size):
    """After a reboot: the Director's and members' panes went with their tmux server (a member
    last seen ready too), a member still being spawned stays `starting`, and a warning names
    `fleet restore`."""
    from cafleet.broker.agent_states import record_state
    from cafleet.broker.members import register_member
    from cafleet.core.agent_state import AgentState, Observation
    from cafleet.core.pane_problem import PaneProblem
    from cafleet.store.models import Placement

    story = build_story()
    coder = add_member(story)
    add_member(story, "tester", "%8")
    docs = register_member(story.fleet_id, story.director_id, "docs", "Writes the guide", "claude").id
    record_state(coder, Observation(AgentState.READY))  # the last look before the reboot
    record_state(docs, Observation(AgentState.STARTING, PaneProblem.PENDING_PLACEMENT))
    Placement.update(created_at="2000-01-01T00:00:00.000000Z").execute()  # before this machine booted
    freeze_times()
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing())


def test_composer_error(db, snap_compare, size):
    story = build_story()
    run = pressing(*"@re hello", "enter")
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)


def test_administrator_inbox(db, snap_compare, size):
    story = build_story()
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing("ctrl+o"))


def test_a_burst_whose_acks_wrap_their_headers(db, snap_compare, size):
    """Twelve messages arrive, then their acks: at 80 columns each ack's time wraps onto a line
    of its own (the mark with it), and the newest message's last line is still in view."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.messages import ack_message, send_message

    story = build_story()
    reviewer = register_agent(story.fleet_id, "reviewer-number-two", "Reviews it").id
    freeze_times()

    async def burst(pilot):
        await settle(pilot)
        sent = [send_message(story.fleet_id, story.alice_id, str(reviewer), f"step {n} is ready").id for n in range(12)]
        freeze_times()
        pilot.app.screen.refresh_live()
        await settle(pilot)
        for task_id in sent:
            ack_message(story.fleet_id, reviewer, task_id)
        freeze_times()
        pilot.app.screen.refresh_live()
        await until(pilot, lambda: pilot.app.screen.query_one("#timeline").tasks[sent[-1]].state == "completed")
        await settle(pilot)
        await still_frame(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=burst)


def test_message_modal(db, snap_compare, size):
    """The Administrator's message opened from the inbox: Ack, Reply and Close."""
    story = build_story()
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing("ctrl+o", "enter"))


def test_a_long_message_after_a_resize(db, snap_compare):
    """Its last line stays visible when the timeline narrows and grows a scrollbar."""
    from cafleet.broker.messages import send_message

    story = build_story()
    send_message(story.fleet_id, story.alice_id, "bob", "Notes on the split: " + "token " * 70 + "THE END.")
    freeze_times()

    async def resize(pilot):
        await settle(pilot)
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=(80, 24), run_before=resize)


# -- agent detail and its dialogs -----------------------------------------------------


def test_agent_detail(db, snap_compare, size):
    story = build_story()

    async def open_bob(pilot):
        await open_agent(pilot, story.fleet_id, story.bob_id)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=open_bob)


def test_agent_detail_of_a_member(db, snap_compare, size):
    """A placed member: its pane (gone: no tmux in tests) and its monitor schedule."""
    story = build_story()
    coder = add_member(story)

    async def open_coder(pilot):
        await open_agent(pilot, story.fleet_id, coder)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=open_coder)


def test_schedule_dialog(db, snap_compare, size):
    story = build_story()
    coder = add_member(story)

    async def edit_schedule(pilot):
        await open_agent(pilot, story.fleet_id, coder)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=edit_schedule)


# -- member pane and its dialogs -------------------------------------------------------


@pytest.mark.parametrize("keys", [(), ("d",), ("x",)], ids=["pane_gone", "confirm_delete", "exec_prompt"])
def test_member_pane(db, snap_compare, size, keys):
    """The pane of a member whose tmux server is gone (no tmux needed), and the dialogs its
    keys open: the delete confirmation and the text prompt."""
    story = build_story()
    coder = add_member(story)

    async def open_pane(pilot):
        await open_member_pane(pilot, story.fleet_id, story.director_id, coder)
        if keys:
            await pilot.press(*keys)
            await settle(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=open_pane)


def test_fleet_view_across_two_hosts(db, snap_compare, size, monkeypatch):
    """Each placed agent's host in the roster, and the warning for host-b, whose notices wait
    without a courier."""
    from tests.tui_support import spread_over_two_hosts

    # The TUI would settle the notices of panes it cannot reach (there is no tmux here).
    monkeypatch.setattr("cafleet.services.courier_launcher.ensure_courier", lambda always=False: False)
    story = build_story()
    spread_over_two_hosts(story, add_member(story))
    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=pressing())


# -- worktree members: the roster's marks, the diff view, the merge dialog ----------------


@pytest.fixture
def worktrees(monkeypatch, tmp_path):
    """The story with two worktree members (tests/tui_support.py), its commits' hashes fixed."""
    from tests.tui_support import GIT_DATES, build_worktree_story

    for name, value in GIT_DATES.items():
        monkeypatch.setenv(name, value)
    return build_worktree_story(tmp_path / "home")


async def until_worktrees_read(pilot) -> None:
    await until_loaded(pilot, lambda screen: screen.query_one("#roster")._worktrees)


def test_fleet_view_with_worktree_members(db, worktrees, snap_compare, size):
    """Each worktree member's branch (cut in the middle to fit), commits ahead and uncommitted files."""
    assert snap_compare(app_for(worktrees.story.fleet_id), terminal_size=size, run_before=until_worktrees_read)


async def open_worktree_member(pilot, worktrees) -> None:
    await open_agent(pilot, worktrees.story.fleet_id, worktrees.coder_id)
    await until_loaded(pilot, lambda screen: screen.worktree is not None)


def test_agent_detail_of_a_worktree_member(db, worktrees, snap_compare, size):
    """Its branch and where it stands, its worktree's path, and the d and M keys."""

    async def run(pilot):
        await open_worktree_member(pilot, worktrees)

    assert snap_compare(app_for(worktrees.story.fleet_id), terminal_size=size, run_before=run)


@pytest.mark.parametrize("uncommitted", [False, True], ids=["committed", "uncommitted"])
def test_worktree_diff(db, worktrees, snap_compare, size, uncommitted):
    """The commits and files, then the coloured patch; `u` shows what is not committed."""

    async def run(pilot):
        await open_worktree_member(pilot, worktrees)
        await pilot.press("d", *(["u"] if uncommitted else []))
        await until_loaded(pilot, lambda screen: screen.page is not None and screen.uncommitted == uncommitted)

    assert snap_compare(app_for(worktrees.story.fleet_id), terminal_size=size, run_before=run)


@pytest.mark.parametrize("conflict", [False, True], ids=["preview", "conflict"])
def test_merge_dialog(db, worktrees, snap_compare, size, conflict):
    """What the merge would bring, or (main changed the same file) why it cannot be done."""
    from tests.git_support import commit

    if conflict:
        commit(worktrees.repo, {"notes.txt": "ONE\n"}, "Main edits the notes")

    async def run(pilot):
        from cafleet.screens.worktree_merge import MergeModal

        await open_worktree_member(pilot, worktrees)
        await pilot.press("M")
        await until_loaded(pilot, lambda screen: isinstance(screen, MergeModal))

    assert snap_compare(app_for(worktrees.story.fleet_id), terminal_size=size, run_before=run)


@pytest.fixture
def overlapping(worktrees):
    """The worktree story where reviewer has also changed notes.txt, as the courier saw it."""
    from cafleet.core.hosts import this_host
    from cafleet.services.worktree_overlaps import OverlapWatch
    from cafleet.store.models import Task
    from tests.git_support import commit

    commit(worktrees.worktree("reviewer"), {"notes.txt": "one\ntwo\n3\n"}, "Renumber the last note")
    told = OverlapWatch().look(this_host())
    assert told  # the Director was told
    # On the story's clock, its notice typed as the story's others were: the picture must not
    # move with the time of the run, nor show this machine's courier.
    stamp = "2026-11-21T09:00:30.000000Z"
    Task.update(created_at=stamp, state_changed_at=stamp, notify_status="delivered", notified_at=stamp).where(
        Task.id.in_(told)
    ).execute()
    return worktrees


@pytest.mark.parametrize("view", ["roster", "detail"])
def test_members_whose_branches_overlap(db, overlapping, snap_compare, size, view):
    """⚠ after each one's counts in the roster; the agent detail names the other member and the file."""

    async def run(pilot):
        await until_worktrees_read(pilot)
        if view == "detail":
            await open_worktree_member(pilot, overlapping)

    assert snap_compare(app_for(overlapping.story.fleet_id), terminal_size=size, run_before=run)


# -- a member its provider holds -----------------------------------------------------------


@pytest.mark.parametrize("view", ["roster", "detail"])
def test_a_member_at_its_usage_limit(db, snap_compare, size, view):
    """⊘ and `resets 23:32` under its state in the roster; the state, the reset and what the
    agent says in its detail."""
    from datetime import UTC, datetime

    from cafleet.broker.agent_states import record_state
    from cafleet.core.agent_state import AgentState, Observation

    story = build_story()
    coder = add_member(story)
    limit = Observation(AgentState.LIMITED, "You've hit your 5-hour limit", resets="11:32pm", box_open=True)
    record_state(coder, limit, datetime(2026, 11, 20, 21, 22, tzinfo=UTC))

    async def run(pilot):
        if view == "detail":
            await open_agent(pilot, story.fleet_id, coder)
        else:
            await pressing()(pilot)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)
