"""Members in git worktrees, end to end: real repositories in temp directories, a private tmux
server, the stand-in agent committing through `member exec`, and the Director's review loop
(`member list`, `member diff`, `member merge`) and clean-up (`member delete`, `fleet delete`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.git_support import branches, commit, git, head, make_repo, status, worktree_paths
from tests.panes_support import agents, panes_fleet, run, run_as_human, wait_for  # noqa: F401 (agents is a fixture)
from tests.worktree_support import member_commits, spawn_member

fleet = panes_fleet("worktrees")


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(tmp_path / "repo", {"src/app.py": "print('hi')\n", "notes.txt": "one\ntwo\nthree\n"}, ignore=".env\n")


def worktree_of(repo: Path, branch: str) -> Path:
    return repo.parent / ".cafleet-worktrees" / repo.name / branch.replace("/", "-")


def create(cli, fleet, repo: Path, name: str, *extra, cwd: Path | None = None):
    return run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        name,
        "--description",
        f"{name} builds",
        "--worktree",
        *extra,
        cwd=cwd or repo,
    )


def spawn_in_worktree(cli, fleet, agents, repo: Path, name: str, *extra) -> int:
    return spawn_member(cli, fleet, agents, repo, name, "--worktree", *extra)


def member_cli(cli, fleet, repo: Path, verb: str, member_id: int, *extra):
    return run(cli, fleet, "member", verb, "--agent-id", fleet.director_id, "--member-id", member_id, *extra, cwd=repo)


def listed(cli, fleet, repo: Path) -> list[dict]:
    return run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, cwd=repo).json()


def agent_ids(cli, fleet) -> list[int]:
    return [a["agent_id"] for a in run(cli, fleet, "--json", "agent", "list", "--agent-id", fleet.director_id).json()]


def pane_count(tmux_server) -> int:
    return len(tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").stdout.split())


def test_a_worktree_member_starts_in_its_own_worktree_with_its_include_files(cli, fleet, agents, repo, tmux_server):
    (repo / ".worktreeinclude").write_text(".env\nlocal.txt\n")
    commit(repo, {".worktreeinclude": ".env\nlocal.txt\n"}, "include rules")
    (repo / ".env").write_text("TOKEN=secret\n")
    (repo / "local.txt").write_text("not ignored\n")

    created = create(cli, fleet, repo, "coder", cwd=repo / "src")
    assert created.code == 0, created.err
    member_id = int(created.out.splitlines()[0])
    path = worktree_of(repo, f"cafleet/{fleet.fleet_id}/coder")
    assert f"  worktree: {path} (branch cafleet/{fleet.fleet_id}/coder from main at {head(repo)[:7]})" in created.out
    assert "  copied from .worktreeinclude: .env" in created.out
    assert "not copied (git does not ignore them, so the member could commit them): local.txt" in created.out
    assert (path / ".env").read_text() == "TOKEN=secret\n" and not (path / "local.txt").exists()
    assert head(repo, f"cafleet/{fleet.fleet_id}/coder") == head(repo) and str(path) in worktree_paths(repo)

    start = agents.wait_for("coder", lambda ev: ev)[0]
    assert f"You work in a git worktree of your own, {path}, on branch cafleet/{fleet.fleet_id}/coder" in start["argv"][-1]
    pane = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()[0]["placement"]["tmux_pane_id"]
    cwd = tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_current_path}").stdout.strip()
    assert Path(cwd) == path / "src"  # the directory the Director was in, inside the worktree

    (member,) = listed(cli, fleet, repo)
    assert member["agent_id"] == member_id
    assert member["worktree"] == {
        "path": str(path),
        "branch": f"cafleet/{fleet.fleet_id}/coder",
        "base": "main",
        "base_commit": head(repo),
        "present": True,
        "branch_present": True,
        "ahead": 0,
        "merged": True,
        "uncommitted": 0,
        "problem": None,
        "overlaps": [],
    }
    text = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id).out.splitlines()
    assert text[1] == f"  worktree {path}: branch cafleet/{fleet.fleet_id}/coder, 0 commits ahead of main, 0 uncommitted files"


def test_each_backend_may_edit_and_commit_in_its_worktree_and_says_so(cli, fleet, agents, repo):
    git_dir = repo / ".git"
    codex = create(cli, fleet, repo, "cx", "--coding-agent", "codex", "--branch", "cx-work")
    assert codex.code == 0, codex.err
    path = worktree_of(repo, "cx-work")
    own = git_dir / "worktrees" / path.name
    dirs = [own, git_dir / "objects", git_dir / "refs" / "heads", git_dir / "logs" / "refs" / "heads"]
    argv = agents.wait_for("cx", lambda ev: ev)[0]["argv"]
    added = [argv[i + 1] for i, arg in enumerate(argv) if arg == "--add-dir"]
    assert added[1:] == [str(d) for d in dirs]  # after the database directory
    assert "  writable for commits: " + ", ".join(map(str, dirs)) in codex.out

    claude = create(cli, fleet, repo, "cl", "--branch", "team/cl")
    assert claude.code == 0, claude.err
    argv = agents.wait_for("cl", lambda ev: ev)[0]["argv"]
    rules = json.loads(argv[argv.index("--settings") + 1])["permissions"]["allow"]
    cl_path = worktree_of(repo, "team/cl")
    assert rules[-4:] == [f"Edit(/{cl_path}/**)", "Bash(git add *)", "Bash(git commit *)", "Bash(git status *)"]

    opencode = create(cli, fleet, repo, "oc", "--coding-agent", "opencode", "--branch", "oc")
    assert opencode.code == 0, opencode.err
    permission = json.loads(agents.wait_for("oc", lambda ev: ev)[0]["env_opencode_permission"])
    assert permission["edit*"] == {"*": "allow", "../*": "ask"}
    assert {"git add *", "git commit *", "git status *"} <= {k for k, v in permission["bash*"].items() if v == "allow"}
    assert "edits inside its worktree" in opencode.out


def test_a_member_without_worktree_behaves_as_before(cli, fleet, agents, repo):
    created = run(
        cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "plain", "--description", "x", cwd=repo
    )
    assert created.code == 0, created.err
    assert "worktree" not in created.out
    argv = agents.wait_for("plain", lambda ev: ev)[0]["argv"]
    assert "worktree" not in argv[-1] and "Edit(" not in " ".join(argv)
    member_id = int(created.out.splitlines()[0])
    assert listed(cli, fleet, repo)[0]["worktree"] is None
    assert len(run(cli, fleet, "member", "list", "--agent-id", fleet.director_id).out.splitlines()) == 1
    refused = member_cli(cli, fleet, repo, "diff", member_id)
    assert refused.code == 1 and "has no worktree (it was created without --worktree)" in refused.err
    deleted = member_cli(cli, fleet, repo, "delete", member_id, "--force")
    assert deleted.code == 0 and deleted.out == f"Deleted member plain#{member_id}.\n"
    assert branches(repo) == ["main"]


def test_the_director_reviews_and_merges_a_members_commits(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "coder")
    branch = f"cafleet/{fleet.fleet_id}/coder"
    member_commits(cli, fleet, repo, member_id, branch, {"lexer.py": "tokens = []\n"}, "Add the lexer")
    tip = member_commits(cli, fleet, repo, member_id, branch, {"notes.txt": "one\n2\nthree\n"}, "Renumber notes")
    path = worktree_of(repo, branch)
    (path / "scratch.txt").write_text("wip\n")

    (member,) = listed(cli, fleet, repo)
    assert (member["worktree"]["ahead"], member["worktree"]["uncommitted"], member["worktree"]["merged"]) == (2, 1, False)

    diff = member_cli(cli, fleet, repo, "diff", member_id)
    assert diff.code == 0 and "+tokens = []" in diff.out and "-two\n+2" in diff.out and "scratch" not in diff.out
    stat = member_cli(cli, fleet, repo, "diff", member_id, "--stat")
    assert "lexer.py" in stat.out and "2 files changed" in stat.out and "+tokens" not in stat.out
    document = run(cli, fleet, "--json", "member", "diff", "--agent-id", fleet.director_id, "--member-id", member_id).json()
    assert [c["subject"] for c in document["commits"]] == ["Renumber notes", "Add the lexer"]
    assert document["commits"][0]["sha"] == tip and document["base"] == "main" and not document["uncommitted"]
    assert {f["path"]: (f["status"], f["added"], f["deleted"]) for f in document["files"]} == {
        "lexer.py": ("A", 1, 0),
        "notes.txt": ("M", 1, 1),
    }
    assert "+tokens = []" in document["diff"]
    wip = run(cli, fleet, "--json", "member", "diff", "--agent-id", fleet.director_id, "--member-id", member_id, "--uncommitted")
    assert [(f["path"], f["status"]) for f in wip.json()["files"]] == [("scratch.txt", "A")] and "+wip" in wip.json()["diff"]

    before = head(repo)
    merged = member_cli(cli, fleet, repo, "merge", member_id)
    assert merged.code == 0, merged.err
    assert merged.out.startswith(f"Merged coder#{member_id}'s branch {branch} into main: 2 commits, 2 files (merge commit ")
    assert git(repo, "log", "-1", "--format=%P").split() == [before, tip]
    assert (repo / "lexer.py").read_text() == "tokens = []\n" and status(repo) == ""
    assert git(repo, "log", "-1", "--format=%s").strip() == f"Merge branch '{branch}' of member coder#{member_id}"

    timeline = run_as_human(cli, fleet, "--json", "message", "poll", "--agent-id", member_id, "--all", "--full").json()
    (record,) = [t for t in timeline if t["text"].startswith("[merged]")]
    assert record["from_agent_id"] == fleet.director_id and record["state"] == "completed"
    assert record["notify_status"] == "skipped:record"
    assert (
        f"[merged] coder#{member_id}'s branch {branch} into main (merge commit {head(repo)[:7]}): 2 commits (" in record["text"]
    )
    assert "Add the lexer" in record["text"] and "2 files (lexer.py, notes.txt)" in record["text"]
    assert not any(e["text"].startswith("[cafleet msg") for e in agents.log_of("coder") if e["event"] == "input")

    (member,) = listed(cli, fleet, repo)
    assert member["worktree"]["ahead"] == 0 and member["worktree"]["merged"]
    again = member_cli(cli, fleet, repo, "merge", member_id)
    assert again.code == 1 and "main already has every commit" in again.err


def test_a_squash_merge_is_one_commit_and_the_branch_then_counts_as_merged(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "sq")
    branch = f"cafleet/{fleet.fleet_id}/sq"
    member_commits(cli, fleet, repo, member_id, branch, {"a.py": "a\n"}, "First")
    member_commits(cli, fleet, repo, member_id, branch, {"b.py": "b\n"}, "Second")
    before = head(repo)
    merged = run(
        cli, fleet, "--json", "member", "merge", "--agent-id", fleet.director_id, "--member-id", member_id, "--squash", cwd=repo
    )
    assert merged.code == 0, merged.err
    document = merged.json()
    assert document["squash"] and document["into"] == "main" and document["head"] == head(repo)
    assert [c["subject"] for c in document["commits"]] == ["Second", "First"]
    assert git(repo, "log", "-1", "--format=%P").split() == [before]
    assert git(repo, "log", "-1", "--format=%B").strip().splitlines()[-2:] == ["- First", "- Second"]
    (member,) = listed(cli, fleet, repo)
    assert member["worktree"]["ahead"] == 2 and member["worktree"]["merged"]
    text = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id).out
    assert "2 commits ahead of main (all merged)" in text

    deleted = member_cli(cli, fleet, repo, "delete", member_id)
    assert deleted.code == 0, deleted.err
    assert f"  Removed its worktree {worktree_of(repo, branch)} and its branch {branch}." in deleted.out
    assert branches(repo) == ["main"] and not worktree_of(repo, branch).exists()


def test_a_conflicting_merge_is_refused_naming_the_files_and_changes_nothing(cli, fleet, agents, repo):
    one = spawn_in_worktree(cli, fleet, agents, repo, "one")
    two = spawn_in_worktree(cli, fleet, agents, repo, "two")
    member_commits(cli, fleet, repo, one, f"cafleet/{fleet.fleet_id}/one", {"notes.txt": "ONE\n", "shared.py": "1\n"}, "One")
    member_commits(cli, fleet, repo, two, f"cafleet/{fleet.fleet_id}/two", {"notes.txt": "TWO\n", "shared.py": "2\n"}, "Two")
    assert member_cli(cli, fleet, repo, "merge", one).code == 0
    before = head(repo)
    refused = member_cli(cli, fleet, repo, "merge", two)
    assert refused.code == 1 and refused.out == ""
    assert (
        f"Error: merging cafleet/{fleet.fleet_id}/two into main would conflict in 2 files: notes.txt, shared.py; "
        "nothing was changed." in refused.err
    )
    assert head(repo) == before and status(repo) == "" and (repo / "notes.txt").read_text() == "ONE\n"
    assert not (repo / ".git" / "MERGE_HEAD").exists()


def test_merge_is_refused_while_the_directors_tree_has_uncommitted_changes(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "eve")
    member_commits(cli, fleet, repo, member_id, f"cafleet/{fleet.fleet_id}/eve", {"e.py": "e\n"}, "E")
    (repo / "notes.txt").write_text("my own edit\n")
    before = head(repo)
    refused = member_cli(cli, fleet, repo, "merge", member_id)
    assert refused.code == 1
    assert (
        f"your work tree {repo} has uncommitted changes (notes.txt); commit or stash them first; nothing was merged"
        in refused.err
    )
    assert head(repo) == before and (repo / "notes.txt").read_text() == "my own edit\n" and not (repo / "e.py").exists()

    git(repo, "checkout", "-q", "notes.txt")
    (repo / "e.py").write_text("mine, untracked\n")
    refused = member_cli(cli, fleet, repo, "merge", member_id)
    assert refused.code == 1 and "would overwrite files your work tree holds but git does not track (e.py)" in refused.err
    assert head(repo) == before and (repo / "e.py").read_text() == "mine, untracked\n"


def assert_nothing_made(repo: Path, before: dict, cli, fleet, tmux_server):
    assert branches(repo) == before["branches"]
    assert worktree_paths(repo) == before["worktrees"]
    made = repo.parent / ".cafleet-worktrees" / repo.name
    assert not made.exists() or [p.name for p in made.iterdir() if not p.name.endswith(".setup.log")] == []
    assert agent_ids(cli, fleet) == before["agents"]
    assert pane_count(tmux_server) == before["panes"]


def snapshot(repo: Path, cli, fleet, tmux_server) -> dict:
    return {
        "branches": branches(repo),
        "worktrees": worktree_paths(repo),
        "agents": agent_ids(cli, fleet),
        "panes": pane_count(tmux_server),
    }


def test_create_refusals_make_nothing(cli, fleet, agents, repo, tmp_path, tmux_server):
    git(repo, "branch", "taken")
    before = snapshot(repo, cli, fleet, tmux_server)

    def refused(expected: str, *extra, cwd=repo, code=1, check=True):
        result = create(cli, fleet, repo, "nope", *extra, cwd=cwd)
        assert result.code == code and result.out == "", result
        assert result.err.startswith("Error: ") and expected in result.err, result.err
        assert "Traceback" not in result.err
        if check:
            assert_nothing_made(repo, before, cli, fleet, tmux_server)

    plain = tmp_path / "plain"
    plain.mkdir()
    refused(f"--worktree: {plain} is not inside a git repository", cwd=plain)
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    refused("is a bare repository (it has no work tree)", cwd=tmp_path / "bare.git")
    refused("is inside a repository's .git directory, not its work tree", cwd=repo / ".git")
    git(tmp_path, "init", "-q", "-b", "main", "empty")
    refused(f"--worktree: the repository at {tmp_path / 'empty'} has no commit yet", cwd=tmp_path / "empty")
    refused("already exists in", "--branch", "taken")
    refused("--branch 'a..b' is not a valid git branch name", "--branch", "a..b", code=2)
    refused("--base 'nowhere' names no commit", "--base", "nowhere", code=2)
    (repo / "notes.txt").write_text("dirty\n")
    refused(f"--worktree: your work tree {repo} has uncommitted changes (notes.txt); commit or stash them first")
    git(repo, "checkout", "-q", "notes.txt")
    git(repo, "checkout", "-q", "--detach")
    refused(f"--worktree: your work tree {repo} has a detached HEAD (at {head(repo)[:7]}); check out a branch first")
    git(repo, "checkout", "-q", "main")
    in_the_way = worktree_of(repo, "cafleet/in-the-way")
    in_the_way.mkdir(parents=True)
    refused("already exists; move it away, or choose another --branch", "--branch", "cafleet/in-the-way", check=False)
    assert list(in_the_way.iterdir()) == [] and branches(repo) == before["branches"]
    in_the_way.rmdir()
    assert_nothing_made(repo, before, cli, fleet, tmux_server)

    no_flag = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        "n",
        "--description",
        "x",
        "--branch",
        "b",
        cwd=repo,
    )
    assert no_flag.code == 2 and "--branch applies only with --worktree; add --worktree" in no_flag.err
    assert agents.events() == []


def test_a_failing_setup_command_takes_the_worktree_and_branch_back(cli, fleet, agents, repo, tmux_server):
    before = snapshot(repo, cli, fleet, tmux_server)
    failed = create(cli, fleet, repo, "broken", "--setup", "echo installing; echo boom >&2; exit 7")
    assert failed.code == 1 and failed.out == ""
    log = worktree_of(repo, f"cafleet/{fleet.fleet_id}/broken").with_name(f"cafleet-{fleet.fleet_id}-broken.setup.log")
    assert "Error: the setup command `echo installing; echo boom >&2; exit 7` failed (exit status 7)" in failed.err
    assert f"Its output is in {log}; the last lines:\n$ echo installing" in failed.err and "boom" in failed.err
    assert_nothing_made(repo, before, cli, fleet, tmux_server)
    assert agents.events() == []  # the agent never started
    assert "boom" in log.read_text()


def test_a_setup_command_runs_in_the_worktree_before_the_agent_starts(cli, fleet, agents, repo):
    (repo / ".cafleet").mkdir()
    commit(repo, {".cafleet/worktree-setup": "echo from-the-file > from-file.txt\n"}, "setup file")
    given = create(cli, fleet, repo, "setter", "--setup", "echo ready > setup.txt; date +%s.%N > finished")
    assert given.code == 0, given.err
    path = worktree_of(repo, f"cafleet/{fleet.fleet_id}/setter")
    log = path.with_name(path.name + ".setup.log")
    assert f"  setup `echo ready > setup.txt; date +%s.%N > finished` ran; its output is in {log}" in given.out
    assert (path / "setup.txt").read_text() == "ready\n" and not (path / "from-file.txt").exists()
    started = agents.wait_for("setter", lambda ev: ev)[0]["time"]
    assert float((path / "finished").read_text()) <= started
    from_file = create(cli, fleet, repo, "filer")
    assert from_file.code == 0, from_file.err
    assert (worktree_of(repo, f"cafleet/{fleet.fleet_id}/filer") / "from-file.txt").read_text() == "from-the-file\n"
    assert "setup `sh .cafleet/worktree-setup` ran" in from_file.out
    skipped = create(cli, fleet, repo, "skipper", "--no-setup")
    assert skipped.code == 0 and "  setup `" not in skipped.out
    assert not (worktree_of(repo, f"cafleet/{fleet.fleet_id}/skipper") / "from-file.txt").exists()


def test_delete_keeps_a_dirty_worktree_and_an_unmerged_branch_until_discard(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "keeper")
    branch = f"cafleet/{fleet.fleet_id}/keeper"
    path = worktree_of(repo, branch)
    tip = member_commits(cli, fleet, repo, member_id, branch, {"k.py": "k\n"}, "Keep me")
    (path / "wip.txt").write_text("not committed\n")
    again = f"cafleet --fleet-id {fleet.fleet_id} member delete --agent-id {fleet.director_id} --member-id {member_id}"

    deleted = member_cli(cli, fleet, repo, "delete", member_id)
    assert deleted.code == 0, deleted.err
    assert deleted.out.splitlines() == [
        f"Deleted member keeper#{member_id}.",
        f"  Kept its worktree {path} (1 uncommitted file) and its branch {branch} with 1 commit not in main: "
        f"commit or drop that work, then run `{again}`; `{again} --discard` removes both and loses it.",
    ]
    assert path.is_dir() and head(repo, branch) == tip

    (path / "wip.txt").unlink()
    retry = member_cli(cli, fleet, repo, "delete", member_id)
    assert retry.code == 0, retry.err
    assert retry.out.splitlines() == [
        f"Member keeper#{member_id} was already deleted.",
        f"  Removed its worktree {path}. Kept its branch {branch} with 1 commit not in main: `git merge {branch}` takes them; "
        f"`{again} --discard` (or `git branch -D {branch}`) drops them.",
    ]
    assert not path.exists() and head(repo, branch) == tip

    discarded = run(
        cli, fleet, "--json", "member", "delete", "--agent-id", fleet.director_id, "--member-id", member_id, "--discard"
    )
    assert discarded.code == 0, discarded.err
    assert discarded.json()["worktree"]["closed"] and branches(repo) == ["main"]
    done = member_cli(cli, fleet, repo, "delete", member_id)
    assert done.code == 1 and "is not a member of Director" in done.err  # as for any member deleted before


def test_discard_drops_uncommitted_work_and_unmerged_commits_at_once(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "tosser")
    branch = f"cafleet/{fleet.fleet_id}/tosser"
    member_commits(cli, fleet, repo, member_id, branch, {"t.py": "t\n"}, "Toss me")
    (worktree_of(repo, branch) / "wip.txt").write_text("x\n")
    deleted = member_cli(cli, fleet, repo, "delete", member_id, "--discard")
    assert deleted.code == 0, deleted.err
    assert deleted.out.splitlines()[1] == f"  Removed its worktree {worktree_of(repo, branch)} and its branch {branch}."
    assert branches(repo) == ["main"] and worktree_paths(repo) == [str(repo)]


def test_a_worktree_a_live_pane_works_in_is_never_removed(cli, fleet, agents, repo, tmux_server):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "busy")
    branch = f"cafleet/{fleet.fleet_id}/busy"
    path = worktree_of(repo, branch)
    other = tmux_server.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(path / "src"), "sleep 600").stdout.strip()
    deleted = member_cli(cli, fleet, repo, "delete", member_id, "--discard")
    assert deleted.code == 0, deleted.err
    assert (
        f"  Kept its worktree {path} and its branch {branch}: pane {other} still works in it; close it, then run" in deleted.out
    )
    assert path.is_dir() and branch in branches(repo)
    tmux_server.tmux("kill-pane", "-t", other)
    retry = member_cli(cli, fleet, repo, "delete", member_id)
    assert retry.code == 0 and f"Removed its worktree {path} and its branch {branch}." in retry.out
    assert branches(repo) == ["main"]


def test_fleet_delete_lets_go_of_each_members_worktree_as_member_delete_does(cli, fleet, agents, repo, tmux_server):
    done = spawn_in_worktree(cli, fleet, agents, repo, "done")
    open_ = spawn_in_worktree(cli, fleet, agents, repo, "open")
    open_branch = f"cafleet/{fleet.fleet_id}/open"
    member_commits(cli, fleet, repo, done, f"cafleet/{fleet.fleet_id}/done", {"d.py": "d\n"}, "Done")
    tip = member_commits(cli, fleet, repo, open_, open_branch, {"o.py": "o\n"}, "Open")
    assert member_cli(cli, fleet, repo, "merge", done).code == 0
    panes = [m["placement"]["tmux_pane_id"] for m in listed(cli, fleet, repo)]

    first = run(cli, fleet, "fleet", "delete", fleet.fleet_id, cwd=repo)
    assert first.code == 0, first.err
    lines = first.out.splitlines()
    assert lines[1] == f"Member done#{done}:" and lines[3] == f"Member open#{open_}:"
    assert f"pane {panes[0]} still works in it" in lines[2] and f"pane {panes[1]} still works in it" in lines[4]
    assert len(worktree_paths(repo)) == 3  # the members' panes live on after a fleet delete

    for pane in panes:
        tmux_server.tmux("kill-pane", "-t", pane)

    again = run(cli, fleet, "--json", "fleet", "delete", fleet.fleet_id, cwd=repo)
    assert again.code == 0, again.err
    outcome = {w["name"]: w for w in again.json()["worktrees"]}
    assert outcome["done"]["closed"] and not outcome["open"]["closed"]
    assert outcome["open"]["worktree_removed"] and outcome["open"]["unmerged_commits"] == 1
    assert sorted(branches(repo)) == sorted(["main", open_branch]) and head(repo, open_branch) == tip

    text = run(cli, fleet, "fleet", "delete", fleet.fleet_id, cwd=repo).out
    assert f"`cafleet fleet delete {fleet.fleet_id} --discard` (or `git branch -D {open_branch}`) drops them." in text
    final = run(cli, fleet, "--json", "fleet", "delete", fleet.fleet_id, "--discard", cwd=repo).json()
    assert [w["closed"] for w in final["worktrees"]] == [True]
    assert branches(repo) == ["main"] and "worktrees" not in run(cli, fleet, "--json", "fleet", "delete", fleet.fleet_id).json()


def test_a_merge_of_a_file_named_in_no_encoding_is_recorded_and_shown_safely(cli, fleet, agents, repo):
    member_id = spawn_in_worktree(cli, fleet, agents, repo, "latin")
    branch = f"cafleet/{fleet.fleet_id}/latin"
    path = worktree_of(repo, branch)
    with open(os.fsencode(path) + b"/caf\xe9\x1b[31m.txt", "w") as handle:
        handle.write("latin-1 name\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "A file named in latin-1")
    listed_diff = run(cli, fleet, "--json", "member", "diff", "--agent-id", fleet.director_id, "--member-id", member_id, cwd=repo)
    assert listed_diff.code == 0 and len(listed_diff.json()["files"]) == 1
    merged = member_cli(cli, fleet, repo, "merge", member_id)
    assert merged.code == 0, merged.err
    assert "\x1b" not in merged.out
    timeline = run_as_human(cli, fleet, "--json", "message", "poll", "--agent-id", member_id, "--all", "--full").json()
    (record,) = [t for t in timeline if t["text"].startswith("[merged]")]
    assert "1 file (caf\ufffd\x1b[31m.txt)" in record["text"]
    assert os.path.exists(os.fsencode(repo) + b"/caf\xe9\x1b[31m.txt")


def _director_overlaps(cli, fleet, repo) -> list[str]:
    polled = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--full", cwd=repo).json()
    return [task["text"] for task in polled if task["text"].startswith("[overlap]")]


def test_two_members_changing_one_file_bring_the_director_one_message(cli, fleet, agents, repo):
    one = spawn_in_worktree(cli, fleet, agents, repo, "one")
    two = spawn_in_worktree(cli, fleet, agents, repo, "two")
    f = fleet.fleet_id
    member_commits(cli, fleet, repo, one, f"cafleet/{f}/one", {"notes.txt": "ONE\n", "one.py": "1\n"}, "One")
    member_commits(cli, fleet, repo, two, f"cafleet/{f}/two", {"two.py": "2\n"}, "Two: no overlap yet")
    member_commits(cli, fleet, repo, two, f"cafleet/{f}/two", {"notes.txt": "TWO\n"}, "Two: now it overlaps")

    told = wait_for(lambda: _director_overlaps(cli, fleet, repo), timeout=60, what="the Director's overlap message")
    assert len(told) == 1
    assert re.match(
        rf"\[overlap\] one#{one} \(cafleet/{f}/one\) and two#{two} \(cafleet/{f}/two\) both change notes\.txt\. ", told[0]
    ), told[0]
    assert f"member diff --agent-id {fleet.director_id} --member-id {one} --stat" in told[0]

    rows = {member["agent_id"]: member["worktree"]["overlaps"] for member in listed(cli, fleet, repo)}
    assert rows[one] == [{"member_id": two, "member": f"two#{two}", "paths": ["notes.txt"]}]
    assert rows[two] == [{"member_id": one, "member": f"one#{one}", "paths": ["notes.txt"]}]

    # More work on the same file is the same overlap; a second shared file is a new one.
    member_commits(cli, fleet, repo, one, f"cafleet/{f}/one", {"notes.txt": "ONE again\n", "two.py": "1\n"}, "One more")
    both = wait_for(lambda: len(_director_overlaps(cli, fleet, repo)) == 2 and _director_overlaps(cli, fleet, repo))
    assert "both change two.py." in both[1] and "notes.txt" not in both[1]
