"""Where a member's worktree stands, as `member list` reads it, from real repositories."""

from __future__ import annotations

import shutil

from cafleet.core.records import WorktreeRecord
from cafleet.git.worktrees import add_worktree
from cafleet.services.worktree_review import base_of, worktree_status
from tests.git_support import commit, git, head, make_repo


def record_for(repo, path, branch, base_ref="refs/heads/main", base_commit=None) -> WorktreeRecord:
    return WorktreeRecord(
        agent_id=1,
        fleet_id=1,
        director_id=1,
        path=str(path),
        branch=branch,
        base_ref=base_ref,
        base_commit=base_commit or head(repo),
        git_dir=str(repo / ".git"),
        source=str(repo),
        host=None,
        tmux_socket=None,
        created_at="2026-01-01T00:00:00.000000Z",
    )


def test_status_counts_commits_ahead_and_uncommitted_files_and_sees_a_squash(tmp_path):
    repo = make_repo(tmp_path / "repo")
    path = tmp_path / "wt"
    add_worktree(repo, path, "coder", head(repo))
    record = record_for(repo, path, "coder")
    assert worktree_status(record)[:5] == (True, True, 0, True, 0)
    commit(path, {"a.py": "a\n"}, "a")
    commit(path, {"b.py": "b\n"}, "b")
    (path / "wip.txt").write_text("wip\n")
    (path / "a.py").write_text("changed\n")
    assert worktree_status(record)[:5] == (True, True, 2, False, 2)
    git(repo, "merge", "-q", "--squash", "coder")
    git(repo, "commit", "-q", "-m", "squashed")
    assert worktree_status(record)[:5] == (True, True, 2, True, 2)


def test_a_base_branch_that_is_gone_falls_back_to_the_commit_it_named(tmp_path):
    repo = make_repo(tmp_path / "repo")
    git(repo, "branch", "topic")
    start = head(repo)
    commit(repo, {"later.py": "x\n"}, "main moves on")
    path = tmp_path / "wt"
    add_worktree(repo, path, "coder", start)
    record = record_for(repo, path, "coder", base_ref="refs/heads/topic", base_commit=start)
    assert base_of(record) == "refs/heads/topic"
    git(repo, "branch", "-D", "topic")
    assert base_of(record) == start
    assert worktree_status(record).ahead == 0


def test_a_broken_repository_is_a_problem_to_show_not_an_error(tmp_path):
    repo = make_repo(tmp_path / "repo")
    path = tmp_path / "wt"
    add_worktree(repo, path, "coder", head(repo))
    record = record_for(repo, path, "coder")
    shutil.rmtree(repo / ".git" / "refs")
    (repo / ".git" / "HEAD").unlink()
    status = worktree_status(record)
    assert status.problem and "not a git repository" in status.problem
    shutil.rmtree(repo / ".git")
    assert worktree_status(record)[:3] == (True, False, None)
