"""How the TUI words a worktree member's state: the roster's mark (always one line at the
roster's width), the diff view's lines, and refused reviews and merges (never in the CLI's words)."""

from __future__ import annotations

import re

import pytest

from cafleet.broker.reads import RosterAgent, RosterEntry
from cafleet.core.records import AgentRecord, WorktreeRecord
from cafleet.git.review import Commit, FileChange
from cafleet.screens.diff_text import SHOWN_LINES, diff_page
from cafleet.screens.fleet_data import PaneLook, PaneMark
from cafleet.screens.render import ROSTER_TEXT_WIDTH, roster_entry, roster_height, worktree_line
from cafleet.screens.review_words import review_refusal_text
from cafleet.screens.worktree_marks import WorktreeLook, WorktreeMark, worktree_mark
from cafleet.services.worktree_refusals import Blocker, ReviewRefused
from cafleet.services.worktree_review import MemberDiff, MemberWorktree, WorktreeStatus
from tests.test_error_faces import CLI_WORDS
from tests.test_roster_pane_marks import placement

STAMP = "2026-11-20T09:00:00.000000Z"
BRANCH = "cafleet/12/coder"
MEMBER = AgentRecord(
    id=7,
    fleet_id=12,
    name="coder",
    description="builds",
    kind="member",
    status="active",
    registered_at=STAMP,
    deregistered_at=None,
)


def worktree(**changes) -> WorktreeRecord:
    record = WorktreeRecord(
        agent_id=7,
        fleet_id=12,
        director_id=1,
        path="/home/dev/.cafleet-worktrees/repo/cafleet-12-coder",
        branch=BRANCH,
        base_ref="refs/heads/main",
        base_commit="0" * 40,
        git_dir="/home/dev/repo/.git",
        source="/home/dev/repo",
        host=None,
        tmux_socket=None,
        created_at=STAMP,
    )
    return record._replace(**changes)


@pytest.mark.parametrize(
    "mark, shown",
    [
        (WorktreeMark(BRANCH, WorktreeLook.READ), "⌥ cafleet/12/coder"),
        (WorktreeMark(BRANCH, WorktreeLook.READ, ahead=2, uncommitted=1), "⌥ cafle…coder ↑2 ±1"),
        (WorktreeMark(BRANCH, WorktreeLook.READ, ahead=12, merged=True), "⌥ cafle…/coder ↑12✓"),
        (WorktreeMark(BRANCH, WorktreeLook.READ, uncommitted=3), "⌥ caflee…2/coder ±3"),
        (WorktreeMark(BRANCH, WorktreeLook.UNREADABLE), "⌥ cafleet…2/coder ?"),
        (WorktreeMark(BRANCH, WorktreeLook.ELSEWHERE), "⌥ cafleet/12/coder"),
        (WorktreeMark(BRANCH, WorktreeLook.BRANCH_GONE, uncommitted=2), "⌥ caf…der ✗ gone ±2"),
        (WorktreeMark(BRANCH, WorktreeLook.DIRECTORY_GONE, ahead=1), "⌥ caf…oder ↑1 ✗ dir"),
        (WorktreeMark(BRANCH, WorktreeLook.READ, ahead=1, overlaps_with=("tester",)), "⌥ cafle…/coder ↑1 ⚠"),
    ],
)
def test_the_roster_line_cuts_the_branch_to_leave_room_for_the_counts(mark, shown):
    assert worktree_line(mark).plain == shown
    assert len(shown) <= ROSTER_TEXT_WIDTH


def test_a_wider_roster_shows_more_of_the_branch():
    mark = WorktreeMark("feature/a-rather-long-branch-name", WorktreeLook.READ, ahead=2)
    assert worktree_line(mark, 40).plain == "⌥ feature/a-rather-long-branch-name ↑2"
    assert worktree_line(mark, ROSTER_TEXT_WIDTH).plain == "⌥ featur…ch-name ↑2"


def test_a_worktree_member_gets_one_more_line_and_its_height_counts_it():
    entry = RosterEntry(RosterAgent(7, "coder", "member", "active", placement(7, "%5")), 0, None, False)
    mark = WorktreeMark(BRANCH, WorktreeLook.READ, ahead=2, uncommitted=1)
    for width in (None, 21, 35):
        lines = roster_entry(entry, PaneMark(PaneLook.ALIVE), None, None, mark, width).plain.split("\n")
        assert lines[:3] == ["coder#7", "  member · alive", "  %5"] and lines[3].startswith("  ⌥ ")
        assert len(lines) == roster_height(entry, None, None, mark) == roster_height(entry) + 1
        assert len(lines[3]) <= max(width or 0, ROSTER_TEXT_WIDTH + 2)


@pytest.mark.parametrize(
    "status, mark",
    [
        (None, WorktreeMark(BRANCH, WorktreeLook.ELSEWHERE)),
        (WorktreeStatus(True, True, 2, False, 1), WorktreeMark(BRANCH, WorktreeLook.READ, 2, False, 1)),
        (WorktreeStatus(True, True, 2, True, 0), WorktreeMark(BRANCH, WorktreeLook.READ, 2, True, 0)),
        (WorktreeStatus(True, False, None, None, 3), WorktreeMark(BRANCH, WorktreeLook.BRANCH_GONE, uncommitted=3)),
        (WorktreeStatus(False, True, 1, False, None), WorktreeMark(BRANCH, WorktreeLook.DIRECTORY_GONE, 1)),
        (WorktreeStatus(True, False, None, None, None, "fatal: bad object"), WorktreeMark(BRANCH, WorktreeLook.UNREADABLE)),
    ],
)
def test_a_status_becomes_its_mark(status, mark):
    assert worktree_mark(MemberWorktree(MEMBER, worktree(), status)) == mark


def test_an_overlap_is_marked_in_the_roster_and_worded_in_the_detail():
    from cafleet.broker.worktree_overlaps import OverlapWith
    from cafleet.screens.worktree_marks import worktree_text

    item = MemberWorktree(MEMBER, worktree(), WorktreeStatus(True, True, 1, False, 0), (OverlapWith(9, "tester#9", ("a.py",)),))
    assert worktree_mark(item).overlaps_with == ("tester",)
    assert worktree_text(item).plain.splitlines()[-1] == "⚠ also changed by tester#9 a.py"


# -- refusals in the TUI's words -----------------------------------------------------------------


def refusal(blocker: Blocker, **data) -> ReviewRefused:
    return ReviewRefused(
        "the CLI's sentence: run `member merge` in your work tree", blocker, member=MEMBER, branch=BRANCH, **data
    )


@pytest.mark.parametrize("blocker", list(Blocker))
def test_every_refusal_has_tui_words_without_the_clis(blocker, monkeypatch):
    monkeypatch.setenv("HOME", "/home/dev")
    error = refusal(blocker, into="main", where="/home/dev/repo", paths=("notes.txt",), detail="not inside a git repository")
    text = review_refusal_text(error)
    assert text != error.message and not CLI_WORDS.search(text) and "your work tree" not in text, text
    assert re.search(r"coder#7|main|cafleet/12/coder|~/repo", text), text


def test_a_conflict_names_its_files_and_who_can_resolve_them():
    paths = tuple(f"src/f{i}.py" for i in range(7))
    text = review_refusal_text(refusal(Blocker.CONFLICT, into="main", paths=paths))
    assert text == (
        "merging cafleet/12/coder into main would conflict in 7 files: src/f0.py, src/f1.py, src/f2.py, src/f3.py, "
        "src/f4.py and 2 more. Nothing was changed. Ask coder#7 (@coder in the fleet's composer) to merge main into "
        "its branch and resolve them, then merge again"
    )


def test_paths_and_values_from_git_reach_the_screen_escaped():
    text = review_refusal_text(refusal(Blocker.DIRTY, into="main", where="/srv/re\x1bpo", paths=("a\rb",)))
    assert "\x1b" not in text and "\r" not in text and "/srv/re\\x1bpo" in text and "a\\rb" in text


# -- the diff view's lines -----------------------------------------------------------------------


def member_diff(text: str, uncommitted: bool = False, commits=(), files=()) -> MemberDiff:
    return MemberDiff(MEMBER, worktree(), uncommitted, list(commits), list(files), text)


def test_a_diff_page_has_the_commits_and_files_then_the_patch_with_where_each_file_starts():
    patch = (
        "diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-old\n+new\n"
        "diff --git a/b.bin b/b.bin\nBinary files differ\n"
    )
    commits = [Commit("a" * 40, "Change a"), Commit("b" * 40, "Add b")]
    files = [FileChange("a.py", "M", None, 1, 1), FileChange("b.bin", "A"), FileChange("new.py", "R", "old.py", 0, 0)]
    page = diff_page(member_diff(patch, commits=commits, files=files), "cafleet … member diff")
    lines = [line.plain for line in page.lines]
    assert lines[:8] == [
        "Commits",
        "  aaaaaaa Change a",
        "  bbbbbbb Add b",
        "Files",
        "  M  a.py             +1 −1",
        "  A  b.bin            binary",
        "  R  old.py → new.py  +0 −0",
        "",
    ]
    assert lines[8:] == patch.rstrip("\n").split("\n") and page.hidden == 0
    assert page.file_starts == [8, 14]
    assert page.title.plain == "coder#7  committed on cafleet/12/coder since main  2 commits 3 files +1 −1"
    styles = {line.plain: {str(span.style) for span in line.spans} for line in page.lines[8:]}
    assert styles["-old"] == {"red"} and styles["+new"] == {"green"} and "cyan" in styles["@@ -1 +1 @@"]


def test_control_characters_in_a_patch_are_shown_escaped_and_tabs_expanded():
    page = diff_page(member_diff("+\x1b]52;c;aGk=\x07\tx\r\n"), "cmd")
    (line,) = [line.plain for line in page.lines]
    assert line == "+\\x1b]52;c;aGk=\\x07 x\\r"


def test_a_long_patch_is_cut_and_names_the_command_that_prints_it_all():
    patch = "".join(f"+line {i}\n" for i in range(SHOWN_LINES + 1234))
    page = diff_page(member_diff(patch), "cafleet --fleet-id 1 member diff --agent-id 2 --member-id 7")
    assert page.hidden == 1234 and len(page.lines) == SHOWN_LINES + 2
    assert (
        page.lines[-1].plain
        == "… 1,234 more lines not shown: `cafleet --fleet-id 1 member diff --agent-id 2 --member-id 7` prints them all"
    )


@pytest.mark.parametrize(
    "uncommitted, said",
    [
        (False, "No commits on cafleet/12/coder that main lacks."),
        (True, "Nothing uncommitted: its worktree is as its last commit left it."),
    ],
)
def test_an_empty_diff_says_there_is_nothing(uncommitted, said):
    page = diff_page(member_diff("", uncommitted), "cmd")
    assert [line.plain for line in page.lines] == [said] and page.file_starts == []
