"""The Director's review loop in the TUI: the roster's worktree marks, a member's diff view and
merging its branch, driven with Pilot against real git repositories in temp directories.

Members are made by `member create --worktree` in a private tmux server (stand-in agents that
commit through `member exec`), or, where no pane is needed, by the same services that command
calls (tests/tui_support.py `add_worktree_member`)."""

from __future__ import annotations

import threading

import pytest
from textual.widgets import OptionList

from tests.git_support import commit, git, head, make_repo, status
from tests.panes_support import agents, create_panes_fleet, run, run_as_human  # noqa: F401 (agents is a fixture)
from tests.tui_support import build_worktree_story, settle
from tests.waiting import until
from tests.worktree_support import member_commits, spawn_member


def make_app(fleet_id: int):
    from cafleet.screens.app import build_app

    app = build_app(fleet_id, watch_changes=False)
    app.animation_level = "none"
    return app


def record_notices(app) -> list[tuple[str, str]]:
    notices: list[tuple[str, str]] = []
    original = app.notify

    def notify(message, *args, **kwargs):
        notices.append((kwargs.get("severity", "information"), str(message)))
        return original(message, *args, **kwargs)

    app.notify = notify
    return notices


def roster_lines(app, agent_id: int) -> list[str]:
    roster = app.screen.query_one("#roster", OptionList)
    return str(roster.get_option(f"agent-{agent_id}").prompt).split("\n")


def merged_records(fleet_id: int) -> list[str]:
    from cafleet.broker import reads
    from cafleet.store.db import open_database

    open_database()  # rows written by the worker's connection
    return [t.text for t in reads.timeline(fleet_id, limit=100) if t.text.startswith("[merged]")]


async def open_detail(pilot, fleet_id: int, member_id: int):
    from cafleet.screens.agent_detail import AgentDetailScreen

    await settle(pilot)
    await pilot.app.push_screen(AgentDetailScreen(fleet_id, member_id))
    await until(pilot, lambda: pilot.app.screen.worktree is not None, "the member's worktree in its detail")
    return pilot.app.screen


# -- with real members: `member create --worktree` in a private tmux server ------------------


@pytest.fixture
def fleet(tmux_server, agents, cli):
    return create_panes_fleet(cli, tmux_server, agents, "tui-worktrees")


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "home" / "repo", {"src/app.py": "print('hi')\n", "notes.txt": "one\ntwo\nthree\n"})


async def test_the_roster_marks_worktree_members_and_follows_their_commits(db, cli, fleet, agents, repo, monkeypatch):
    import cafleet.screens.fleet_view as fleet_view
    from cafleet.screens.render import worktree_line
    from cafleet.screens.worktree_marks import WorktreeLook, WorktreeMark

    monkeypatch.setattr(fleet_view, "WORKTREES_RECHECK_SECONDS", 0.2)  # the cadence, shortened
    coder = spawn_member(cli, fleet, agents, repo, "coder", "--worktree")
    plain = spawn_member(cli, fleet, agents, repo, "plain")
    branch = f"cafleet/{fleet.fleet_id}/coder"
    member_commits(cli, fleet, repo, coder, branch, {"lexer.py": "tokens = []\n"}, "Add the lexer")
    worktree = repo.parent / ".cafleet-worktrees" / "repo" / branch.replace("/", "-")
    (worktree / "scratch.txt").write_text("wip\n")

    app = make_app(fleet.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        roster = app.screen.query_one("#roster")
        await until(pilot, lambda: coder in roster._worktrees, "the worktree marks")
        assert roster._worktrees == {coder: WorktreeMark(branch, WorktreeLook.READ, ahead=1, uncommitted=1)}
        assert roster_lines(app, coder)[-1] == "  " + worktree_line(roster._worktrees[coder]).plain
        assert roster_lines(app, coder)[-1].endswith(" ↑1 ±1") and len(roster_lines(app, coder)[-1]) <= 21
        assert not any("⌥" in line for line in roster_lines(app, plain))

        # A commit changes no row: the cadence alone notices it (`git add -A` took scratch.txt too).
        member_commits(cli, fleet, repo, coder, branch, {"notes.txt": "one\n2\nthree\n"}, "Renumber notes")
        await until(pilot, lambda: roster._worktrees[coder].ahead == 2, "the second commit in the roster")
        assert roster._worktrees[coder] == WorktreeMark(branch, WorktreeLook.READ, ahead=2, uncommitted=0)
        await until(pilot, lambda: roster_lines(app, coder)[-1].endswith(" ↑2"), "the roster to redraw the entry")


async def test_the_director_reads_the_diff_and_merges_from_the_agent_detail(db, cli, fleet, agents, repo):
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.worktree_diff import WorktreeDiffScreen
    from cafleet.screens.worktree_merge import MergeModal

    coder = spawn_member(cli, fleet, agents, repo, "coder", "--worktree")
    branch = f"cafleet/{fleet.fleet_id}/coder"
    member_commits(cli, fleet, repo, coder, branch, {"lexer.py": "tokens = []\n"}, "Add the lexer")
    tip = member_commits(cli, fleet, repo, coder, branch, {"notes.txt": "one\n2\nthree\n"}, "Renumber notes")
    (repo.parent / ".cafleet-worktrees" / "repo" / branch.replace("/", "-") / "scratch.txt").write_text("wip\n")
    before = head(repo)

    app = make_app(fleet.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        detail = await open_detail(pilot, fleet.fleet_id, coder)
        shown = str(detail.query_one("#agent-worktree").render())
        assert f"Worktree {branch} from main · 2 commits ahead · 1 uncommitted file" in shown
        assert {"Worktree diff", "Merge worktree branch"} <= {c.title for c in app.get_system_commands(detail)}

        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, WorktreeDiffScreen) and app.screen.page is not None, "the diff")
        diff = app.screen
        lines = [line.plain for line in diff.page.lines]
        assert lines[:4] == ["Commits", f"  {tip[:7]} Renumber notes", lines[2], "Files"] and lines[2].endswith(" Add the lexer")
        assert [line.split() for line in lines[4:6]] == [["A", "lexer.py", "+1", "−0"], ["M", "notes.txt", "+1", "−1"]]
        assert "+tokens = []" in lines and "-two" in lines and "+2" in lines and "+wip" not in lines
        assert diff.page.title.plain == f"coder#{coder}  committed on {branch} since main  2 commits 2 files +2 −1"
        assert [lines[i] for i in diff.page.file_starts] == [
            "diff --git a/lexer.py b/lexer.py",
            "diff --git a/notes.txt b/notes.txt",
        ]

        await pilot.press("u")
        await until(
            pilot,
            lambda: diff.page.lines and diff.uncommitted and "+wip" in [x.plain for x in diff.page.lines],
            "the uncommitted view",
        )
        assert "uncommitted" in diff.page.title.plain and "+tokens = []" not in [x.plain for x in diff.page.lines]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AgentDetailScreen), "the detail again")

        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, MergeModal), "the merge dialog")
        summary = str(app.screen.query_one("#merge-summary").render())
        assert f"{branch} → main in ~/repo" in summary
        assert "Renumber notes" in summary and "Add the lexer" in summary and "lexer.py" in summary and "2 files" in summary
        assert head(repo) == before  # nothing happens until it is confirmed
        await pilot.press("enter")
        await until(pilot, lambda: any(m.startswith("Merged ") for _, m in notices), "the merge's notice")

        note = next(m for _, m in notices if m.startswith("Merged "))
        assert note.startswith(f"Merged coder#{coder}'s branch {branch} into main: 2 commits, 2 files (merge commit ")
        assert git(repo, "log", "-1", "--format=%P").split() == [before, tip] and status(repo) == ""
        (record,) = merged_records(fleet.fleet_id)
        assert record.startswith(f"[merged] coder#{coder}'s branch {branch} into main (merge commit {head(repo)[:7]})")
        assert "recorded in the timeline as message #" in note
        await until(pilot, lambda: "0 commits ahead" in str(detail.query_one("#agent-worktree").render()), "the merged state")
        assert not [m for s, m in notices if s == "error"]


# -- with the services' members (no panes needed) ---------------------------------------------


@pytest.fixture
def worktrees(db, tmp_path):
    return build_worktree_story(tmp_path / "home")


async def test_a_conflicting_merge_is_refused_naming_the_files_and_changes_nothing(worktrees):
    from cafleet.screens.worktree_merge import MergeModal

    story, repo = worktrees.story, worktrees.repo
    commit(worktrees.worktree("reviewer"), {"notes.txt": "ONE\n", "shared.py": "1\n"}, "Reviewer's notes")
    commit(repo, {"notes.txt": "uno\n", "shared.py": "2\n"}, "Main's notes")
    before, tips = head(repo), (head(repo, f"cafleet/{story.fleet_id}/reviewer"), head(repo, f"cafleet/{story.fleet_id}/coder"))

    app = make_app(story.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, story.fleet_id, worktrees.reviewer_id)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, MergeModal), "the merge dialog")
        modal = app.screen
        assert modal.plan is None and not modal.query("#merge") and not modal.query("#squash")
        refusal = str(modal.query_one("#merge-refusal").render())
        assert (
            f"✗ merging cafleet/{story.fleet_id}/reviewer into main would conflict in 2 files: notes.txt, shared.py. Nothing was changed. "
            f"Ask reviewer#{worktrees.reviewer_id} (@reviewer in the fleet's composer) to merge main into its branch"
            in " ".join(refusal.split())
        )
        await pilot.press("enter")  # Close is focused: nothing to confirm
        await until(pilot, lambda: app.screen is not modal, "the dialog to close")
    assert head(repo) == before and status(repo) == "" and not (repo / ".git" / "MERGE_HEAD").exists()
    assert (head(repo, f"cafleet/{story.fleet_id}/reviewer"), head(repo, f"cafleet/{story.fleet_id}/coder")) == tips
    assert merged_records(story.fleet_id) == [] and not [m for s, m in notices if s == "error"]


async def test_a_dirty_work_tree_is_refused_in_the_tuis_words(worktrees):
    from cafleet.screens.worktree_merge import MergeModal

    story, repo = worktrees.story, worktrees.repo
    (repo / "notes.txt").write_text("the Director's own edit\n")
    before = head(repo)
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, story.fleet_id, worktrees.coder_id)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, MergeModal), "the merge dialog")
        refusal = " ".join(str(app.screen.query_one("#merge-refusal").render()).split())
    assert refusal == (
        "✗ the work tree to merge into, ~/repo (on main), has uncommitted changes (notes.txt): "
        "commit or stash them there first; nothing was merged"
    )
    assert "--" not in refusal and "member merge" not in refusal and "your work tree" not in refusal
    assert head(repo) == before and (repo / "notes.txt").read_text() == "the Director's own edit\n"


async def test_a_branch_that_moves_after_the_preview_is_not_merged(worktrees):
    from cafleet.screens.worktree_merge import MergeModal

    story, repo = worktrees.story, worktrees.repo
    before = head(repo)
    app = make_app(story.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, story.fleet_id, worktrees.coder_id)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, MergeModal), "the merge dialog")
        commit(worktrees.worktree("coder"), {"late.py": "late\n"}, "A commit the dialog did not show")
        await pilot.press("enter")
        await until(pilot, lambda: [m for s, m in notices if s == "error"], "the refusal")
    (refusal,) = [m for s, m in notices if s == "error"]
    assert refusal == (
        f"coder#{worktrees.coder_id}'s branch cafleet/{story.fleet_id}/coder gained commits since the merge was shown: "
        "look again (M); nothing was merged"
    )
    assert head(repo) == before and merged_records(story.fleet_id) == []


async def test_s_squashes_the_branch_into_one_commit(worktrees):
    from cafleet.screens.worktree_merge import MergeModal

    story, repo = worktrees.story, worktrees.repo
    before = head(repo)
    app = make_app(story.fleet_id)
    notices = record_notices(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, story.fleet_id, worktrees.coder_id)
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, MergeModal), "the merge dialog")
        await pilot.press("s")
        await until(pilot, lambda: any(m.startswith("Merged ") for _, m in notices), "the merge's notice")
    assert git(repo, "log", "-1", "--format=%P").split() == [before]
    assert git(repo, "log", "-1", "--format=%B").strip().splitlines()[-2:] == ["- Add the lexer", "- Renumber notes"]
    assert "(squashed into commit" in next(m for _, m in notices if m.startswith("Merged "))
    (record,) = merged_records(story.fleet_id)
    assert "squashed into one commit" in record


async def test_a_diff_of_ten_thousand_lines_is_cut_and_names_the_command_for_the_rest(worktrees):
    from cafleet.screens.diff_text import SHOWN_LINES
    from cafleet.screens.worktree_diff import WorktreeDiffScreen

    story = worktrees.story
    generated = {f"gen/f{i:03}.py": "".join(f"value_{i}_{j} = {j}\n" for j in range(100)) for i in range(100)}
    commit(worktrees.worktree("reviewer"), generated, "Generate 10,000 lines")
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_detail(pilot, story.fleet_id, worktrees.reviewer_id)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, WorktreeDiffScreen) and app.screen.page is not None, "the diff")
        screen = app.screen
        page, view = screen.page, screen.query_one("#diff")
        patch_lines = 100 * 106  # per file: diff, new file mode, index, ---, +++, @@ and 100 lines
        assert page.hidden == patch_lines - SHOWN_LINES
        assert page.lines[-1].plain == (
            f"… {page.hidden:,} more lines not shown: `cafleet --fleet-id {story.fleet_id} member diff "
            f"--agent-id {story.director_id} --member-id {worktrees.reviewer_id}` prints them all"
        )
        assert len(page.file_starts) == SHOWN_LINES // 106 + 1
        await pilot.pause()
        # Only what is on screen was drawn (a line more before the horizontal scrollbar came),
        # however long the diff.
        assert 0 < len(view._strips) <= view.size.height + 1
        starts = page.file_starts
        for key, line in (("n", starts[0]), ("n", starts[1]), ("n", starts[2]), ("p", starts[1]), ("p", starts[0]), ("p", 0)):
            await pilot.press(key)
            await until(pilot, lambda line=line: view.scroll_offset.y == line, f"{key} to scroll to line {line}")
        await pilot.press("end")
        await until(pilot, lambda: view.scroll_offset.y == view.max_scroll_y, "the end of the diff")
        await pilot.pause()
        # Seven screens were shown: as many lines were drawn, not the 5,000.
        assert len(page.lines) - 1 in view._strips.keys() and len(view._strips) <= 7 * view.size.height


async def test_git_runs_in_a_worker_on_its_own_cadence_never_on_a_refresh(worktrees, monkeypatch):
    import cafleet.services.worktree_review as review
    from cafleet.screens.fleet_view import FleetViewScreen
    from cafleet.screens.live import DataChanged

    calls: list[str] = []
    release = threading.Event()
    real = review.fleet_worktrees

    def counted(fleet_id, *args, **kwargs):
        calls.append(threading.current_thread().name)
        if len(calls) > 1:
            release.wait(20)  # a slow git: the later turns must not pile reads up
        return real(fleet_id, *args, **kwargs)

    monkeypatch.setattr(review, "fleet_worktrees", counted)
    monkeypatch.setattr("cafleet.screens.fleet_view.WORKTREES_RECHECK_SECONDS", 3600)  # turns come only when called
    ticks: list[int] = []
    recheck = FleetViewScreen.recheck_worktrees

    def ticking(self):
        ticks.append(1)
        recheck(self)

    monkeypatch.setattr(FleetViewScreen, "recheck_worktrees", ticking)
    app = make_app(worktrees.story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#roster")._worktrees, "the first read")
        assert len(calls) == 1 and calls[0] != threading.main_thread().name
        for _ in range(10):  # database changes: the timeline and roster refresh, git does not run
            screen.post_message(DataChanged())
            await settle(pilot)
        assert len(calls) == 1

        screen.recheck_worktrees()  # a turn comes (as every RECHECK_SECONDS): one read, blocked
        await until(pilot, lambda: len(calls) == 2, "the second read")
        first_tick = len(ticks)
        try:
            for _ in range(5):
                screen.recheck_worktrees()
            assert len(ticks) == first_tick + 5 and len(calls) == 2  # turns while it runs start none
        finally:
            release.set()
        await until(pilot, lambda: not screen.reading_worktrees, "the read to finish")
        screen.recheck_worktrees()
        await until(pilot, lambda: len(calls) == 3, "the next turn's read")
        assert threading.main_thread().name not in calls
