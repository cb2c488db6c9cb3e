"""The review services a face other than the CLI calls: every active worktree member's status at
once, a merge's plan without the merge, and refusals that carry their reason as data (the
CLI's sentence unchanged). Real repositories, members made by the worktree services."""

from __future__ import annotations

import pytest

from cafleet.services.worktree_refusals import Blocker, ReviewRefused
from tests.git_support import commit, git, head, status
from tests.tui_support import build_worktree_story


@pytest.fixture
def worktrees(db, tmp_path):
    return build_worktree_story(tmp_path / "home")


def test_fleet_worktrees_reads_each_active_members_status(worktrees):
    from cafleet.broker.agents import deregister_agent
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.services.worktree_review import WorktreeStatus, fleet_worktrees
    from cafleet.store.models import Worktree

    story = worktrees.story
    plain = register_member(story.fleet_id, story.director_id, "plain", "no worktree", "claude").id
    attach_pane(plain, "%9")
    read = {item.member.id: item for item in fleet_worktrees(story.fleet_id)}
    assert set(read) == {worktrees.coder_id, worktrees.reviewer_id}
    assert read[worktrees.coder_id].status == WorktreeStatus(True, True, 2, False, 1)
    assert read[worktrees.reviewer_id].status == WorktreeStatus(True, True, 0, True, 0)
    assert read[worktrees.coder_id].worktree.branch == f"cafleet/{story.fleet_id}/coder"

    Worktree.update(host="another-host").where(Worktree.agent == worktrees.reviewer_id).execute()
    deregister_agent(story.fleet_id, worktrees.coder_id)  # its worktree is kept, but it is no member any more
    (item,) = fleet_worktrees(story.fleet_id)
    assert item.member.id == worktrees.reviewer_id and item.status is None  # git cannot look on another host


def test_a_merge_plan_says_what_would_be_merged_and_changes_nothing(worktrees):
    from cafleet.services.worktree_review import plan_merge

    story, repo = worktrees.story, worktrees.repo
    before = head(repo)
    plan = plan_merge(story.fleet_id, story.director_id, worktrees.coder_id)
    assert (plan.root, plan.into, plan.branch_ref) == (repo, "main", "refs/heads/main")
    assert plan.tip == head(repo, f"cafleet/{story.fleet_id}/coder")
    assert [c.subject for c in plan.commits] == ["Renumber notes", "Add the lexer"]
    assert {f.path: (f.status, f.added, f.deleted) for f in plan.files} == {"lexer.py": ("A", 5, 0), "notes.txt": ("M", 1, 1)}
    assert head(repo) == before and status(repo) == ""


def test_refusals_keep_the_clis_sentence_and_carry_their_reason(worktrees):
    from cafleet.services.worktree_review import plan_merge

    story, repo = worktrees.story, worktrees.repo
    branch = f"cafleet/{story.fleet_id}/reviewer"
    commit(worktrees.worktree("reviewer"), {"notes.txt": "ONE\n", "shared.py": "1\n"}, "Reviewer's notes")
    commit(repo, {"notes.txt": "uno\n", "shared.py": "2\n"}, "Main's notes")
    with pytest.raises(ReviewRefused) as conflict:
        plan_merge(story.fleet_id, story.director_id, worktrees.reviewer_id)
    error = conflict.value
    assert (error.blocker, error.paths, error.into, error.branch) == (
        Blocker.CONFLICT,
        ("notes.txt", "shared.py"),
        "main",
        branch,
    )
    assert error.member.id == worktrees.reviewer_id and error.exit_code == 1
    assert error.message == (
        f"merging {branch} into main would conflict in 2 files: notes.txt, shared.py; nothing was changed. "
        f"Have member reviewer#{worktrees.reviewer_id} merge main into its branch and resolve them, then merge again"
    )

    (repo / "src" / "app.py").write_text("print('mine')\n")
    with pytest.raises(ReviewRefused) as dirty:
        plan_merge(story.fleet_id, story.director_id, worktrees.coder_id)
    assert (dirty.value.blocker, dirty.value.paths, dirty.value.where) == (Blocker.DIRTY, ("src/app.py",), str(repo))
    assert dirty.value.message.startswith(f"your work tree {repo} has uncommitted changes (src/app.py); commit or stash")

    git(repo, "checkout", "-q", "--detach")
    with pytest.raises(ReviewRefused) as detached:
        plan_merge(story.fleet_id, story.director_id, worktrees.coder_id)
    assert detached.value.blocker is Blocker.DETACHED_HEAD and detached.value.where == str(repo)


def test_a_merge_of_a_branch_that_moved_since_its_preview_is_refused(worktrees):
    from cafleet.services.worktree_review import merge_member, plan_merge

    story, repo = worktrees.story, worktrees.repo
    before = head(repo)
    plan = plan_merge(story.fleet_id, story.director_id, worktrees.coder_id)
    commit(worktrees.worktree("coder"), {"late.py": "late\n"}, "Late")
    with pytest.raises(ReviewRefused) as moved:
        merge_member(story.fleet_id, story.director_id, worktrees.coder_id, expected_tip=plan.tip)
    assert moved.value.blocker is Blocker.BRANCH_MOVED and head(repo) == before and status(repo) == ""

    merged = merge_member(
        story.fleet_id, story.director_id, worktrees.coder_id, expected_tip=head(repo, f"cafleet/{story.fleet_id}/coder")
    )
    assert merged.into == "main" and len(merged.commits) == 3 and head(repo) == merged.head != before
