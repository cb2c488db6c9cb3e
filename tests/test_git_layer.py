"""cafleet.git against real repositories: what a directory is, worktrees and branches, a
branch against its base, merges computed without touching a work tree, .worktreeinclude, setup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cafleet.git import command
from cafleet.git.include import copy_included, included_files
from cafleet.git.layout import setup_log_path, worktree_path
from cafleet.git.merging import merge, merged_into, preview_merge, tree_of
from cafleet.git.repository import NotAWorkTree, WorkTree, branch_exists, changes, full_name, is_branch_name, look, resolve
from cafleet.git.review import (
    ahead,
    branch_diff,
    changed_files,
    changed_paths,
    commits,
    overlaps,
    uncommitted_diff,
    uncommitted_files,
)
from cafleet.git.setup import SETUP_FILE, run_setup, setup_command
from cafleet.git.worktrees import add_worktree, commit_directories, delete_branch, remove_worktree, worktree_git_dir
from tests.git_support import branches, commit, git, head, make_repo, status, worktree_paths


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(
        tmp_path / "repo", {"src/app.py": "print('hi')\n", "notes.txt": "one\ntwo\nthree\n"}, ignore=".env\nbuild/\n"
    )


def branch_off(repo: Path, name: str, files: dict[str, str] | None = None) -> Path:
    """A linked worktree on a new branch `name` from main, with `files` committed in it."""
    path = repo.parent / f"wt-{name.replace('/', '-')}"
    add_worktree(repo, path, name, head(repo))
    if files:
        commit(path, files, f"work on {name}")
    return path


def test_the_machine_has_a_git_that_computes_merges_without_a_work_tree():
    assert command.git_version() >= command.MINIMUM_VERSION


def test_look_tells_a_work_tree_from_what_is_not_one(repo, tmp_path):
    seen = look(repo / "src")
    assert isinstance(seen, WorkTree)
    assert (seen.root, seen.prefix, seen.branch, seen.branch_name) == (repo, "src/", "refs/heads/main", "main")
    assert seen.common_dir == repo / ".git" == seen.git_dir and seen.main_root == repo and seen.head == head(repo)

    outside = tmp_path / "plain"
    outside.mkdir()
    assert look(outside) is NotAWorkTree.NOT_A_REPOSITORY
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    assert look(tmp_path / "bare.git") is NotAWorkTree.BARE
    assert look(repo / ".git") is NotAWorkTree.GIT_DIRECTORY

    git(repo, "checkout", "-q", "--detach")
    detached = look(repo)
    assert isinstance(detached, WorkTree) and detached.branch is None and detached.head == head(repo)


def test_look_in_a_linked_worktree_finds_the_main_repository(repo):
    linked = branch_off(repo, "feature/x")
    seen = look(linked)
    assert isinstance(seen, WorkTree)
    assert seen.root == linked and seen.common_dir == repo / ".git" and seen.main_root == repo
    assert seen.git_dir == worktree_git_dir(linked) and seen.git_dir.parent == repo / ".git" / "worktrees"
    assert seen.branch_name == "feature/x"


def test_git_from_a_hook_does_not_redirect_the_calls(repo, tmp_path, monkeypatch):
    other = make_repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    seen = look(repo)
    assert isinstance(seen, WorkTree) and seen.root == repo


def test_changes_list_staged_unstaged_and_untracked_files_but_not_ignored_ones(repo):
    assert changes(repo) == []
    (repo / "notes.txt").write_text("changed\n")
    (repo / "src" / "new.py").write_text("x = 1\n")
    (repo / ".env").write_text("SECRET=1\n")
    git(repo, "mv", "src/app.py", "src/main.py")
    found = {c.path: c.code for c in changes(repo)}
    assert found == {"notes.txt": " M", "src/main.py": "R ", "src/new.py": "??"}
    assert {c.path for c in changes(repo, untracked=False)} == {"src/main.py", "notes.txt"}


def test_refs_branches_and_names(repo):
    git(repo, "tag", "v1")
    assert resolve(repo, "main") == resolve(repo, "v1") == head(repo)
    assert resolve(repo, "nope") is None and resolve(repo, "--all") is None
    assert full_name(repo, "main") == "refs/heads/main" and full_name(repo, "v1") == "refs/tags/v1"
    assert full_name(repo, head(repo)) is None and full_name(repo, "HEAD~0") is None
    assert branch_exists(repo / ".git", "main") and not branch_exists(repo / ".git", "cafleet/1/coder")
    assert is_branch_name(repo, "cafleet/1/coder") and is_branch_name(repo, "fix-2.x")
    for bad in ("a..b", "ends.", "x.lock", "-dash", "sp ace", "a~b", ""):
        assert not is_branch_name(repo, bad), bad


def test_a_worktree_is_added_on_a_new_branch_and_removed_only_when_clean_unless_forced(repo, tmp_path):
    path = worktree_path(repo, "cafleet/1/coder")
    assert path == tmp_path / ".cafleet-worktrees" / "repo" / "cafleet-1-coder"
    assert worktree_path(repo, "x", override=tmp_path / "elsewhere") == tmp_path / "elsewhere" / "repo" / "x"
    assert setup_log_path(path) == path.parent / "cafleet-1-coder.setup.log"

    add_worktree(repo, path, "cafleet/1/coder", head(repo))
    assert str(path) in worktree_paths(repo) and "cafleet/1/coder" in branches(repo)
    assert (path / "src" / "app.py").read_text() == "print('hi')\n"
    (path / "scratch.txt").write_text("wip\n")
    with pytest.raises(command.GitError, match="modified or untracked"):
        remove_worktree(repo / ".git", path)
    assert path.is_dir()
    with pytest.raises(command.GitError, match="checked out"):
        delete_branch(repo / ".git", "cafleet/1/coder")
    remove_worktree(repo / ".git", path, force=True)
    assert not path.exists() and str(path) not in worktree_paths(repo)
    delete_branch(repo / ".git", "cafleet/1/coder")
    assert branches(repo) == ["main"]


def test_removing_a_worktree_whose_directory_is_gone_prunes_it(repo):
    path = branch_off(repo, "gone")
    git(repo, "worktree", "list")
    import shutil

    shutil.rmtree(path)
    remove_worktree(repo / ".git", path)
    assert str(path) not in worktree_paths(repo)


def test_commit_directories_are_what_a_commit_in_the_worktree_writes(repo):
    path = branch_off(repo, "cafleet/1/coder")
    own = worktree_git_dir(path)
    found = commit_directories(repo / ".git", own, "cafleet/1/coder")
    git_dir = repo / ".git"
    assert found == (own, git_dir / "objects", git_dir / "refs/heads/cafleet/1", git_dir / "logs/refs/heads/cafleet/1")
    assert not any(d == git_dir or d in git_dir.parents for d in found)  # never the whole .git (hooks, config)


def test_a_branch_against_its_base_commits_files_diff_and_what_the_base_gained_does_not_show(repo):
    path = branch_off(repo, "coder")
    commit(path, {"src/lexer.py": "tokens = []\n"}, "Add the lexer")
    commit(path, {"notes.txt": "one\n2\nthree\n", "src/lexer.py": "tokens = [1]\n"}, "Fill the lexer")
    git(path, "rm", "-q", "src/app.py")
    git(path, "commit", "-q", "-m", "Drop app")
    commit(repo, {"later.txt": "base moved on\n"}, "Base gains a file")
    git_dir = repo / ".git"

    assert ahead(git_dir, "main", "coder") == 3
    assert [c.subject for c in commits(git_dir, "main", "coder")] == ["Drop app", "Fill the lexer", "Add the lexer"]
    files = {f.path: f for f in changed_files(git_dir, "main", "coder")}
    assert set(files) == {"src/lexer.py", "notes.txt", "src/app.py"}  # not later.txt
    assert (files["src/lexer.py"].status, files["src/lexer.py"].added, files["src/lexer.py"].deleted) == ("A", 1, 0)
    assert (files["notes.txt"].status, files["notes.txt"].added, files["notes.txt"].deleted) == ("M", 1, 1)
    assert files["src/app.py"].status == "D"
    diff = branch_diff(git_dir, "main", "coder")
    assert "+tokens = [1]" in diff and "later.txt" not in diff and "\x1b[" not in diff
    stat = branch_diff(git_dir, "main", "coder", stat=True)
    assert "src/lexer.py" in stat and "3 files changed" in stat
    assert changed_paths(git_dir, "main", "coder") == {"src/lexer.py", "notes.txt", "src/app.py"}


def test_a_rename_keeps_its_source_and_a_binary_file_has_no_line_counts(repo):
    path = branch_off(repo, "mover")
    (path / "docs").mkdir()
    git(path, "mv", "notes.txt", "docs/notes.txt")
    (path / "logo.bin").write_bytes(b"\x00\x01\x02" * 50)
    git(path, "add", "logo.bin")
    git(path, "commit", "-q", "-m", "Move and add a binary")
    files = {f.path: f for f in changed_files(repo / ".git", "main", "mover")}
    assert files["docs/notes.txt"].status == "R" and files["docs/notes.txt"].old_path == "notes.txt"
    assert files["logo.bin"].added is None and files["logo.bin"].deleted is None
    # Both sides of a rename count for overlaps.
    assert {"notes.txt", "docs/notes.txt"} <= changed_paths(repo / ".git", "main", "mover")


def test_overlaps_name_each_pair_of_branches_and_their_common_files(repo):
    one = branch_off(repo, "one", {"shared.py": "1\n", "a.py": "a\n"})
    two = branch_off(repo, "two", {"shared.py": "2\n", "b.py": "b\n"})
    branch_off(repo, "three", {"c.py": "c\n"})
    del one, two
    changed = {name: changed_paths(repo / ".git", "main", name) for name in ("one", "two", "three")}
    found = overlaps(changed)
    assert [(o.first, o.second, o.paths) for o in found] == [("one", "two", ("shared.py",))]


def test_uncommitted_work_includes_untracked_files_and_never_touches_the_members_index(repo):
    path = branch_off(repo, "wip")
    (path / "notes.txt").write_text("one\ntwo\nthree\nfour\n")
    (path / "fresh.py").write_text("new = True\n")
    (path / ".env").write_text("ignored\n")
    (path / "staged.py").write_text("s = 1\n")
    git(path, "add", "staged.py")
    index = worktree_git_dir(path) / "index"
    before = index.read_bytes()
    files = {f.path: f for f in uncommitted_files(path)}
    assert set(files) == {"notes.txt", "fresh.py", "staged.py"}
    assert files["fresh.py"].status == "A" and files["fresh.py"].added == 1
    diff = uncommitted_diff(path)
    assert "+new = True" in diff and "+four" in diff and ".env" not in diff
    assert index.read_bytes() == before
    assert {c.path: c.code for c in changes(path)} == {"notes.txt": " M", "staged.py": "A ", "fresh.py": "??"}


def test_preview_merge_names_conflicting_files_and_leaves_every_tree_alone(repo):
    one = branch_off(repo, "one", {"notes.txt": "ONE\ntwo\nthree\n", "new.py": "one\n"})
    two = branch_off(repo, "two", {"notes.txt": "TWO\ntwo\nthree\n", "new.py": "two\n", "other.py": "x\n"})
    before = {p: status(p) for p in (repo, one, two)}
    preview = preview_merge(repo / ".git", "one", "two")
    assert not preview.clean and preview.conflicts == ("new.py", "notes.txt")
    assert any("CONFLICT" in m and "notes.txt" in m for m in preview.messages)
    assert {p: status(p) for p in (repo, one, two)} == before
    assert head(repo, "one") == head(one) and head(repo, "main") == head(repo)

    clean = preview_merge(repo / ".git", "main", "one")
    assert clean.clean and clean.conflicts == () and clean.tree != tree_of(repo / ".git", "main")


def test_merged_into_sees_merges_and_squashes_but_not_unmerged_work(repo):
    git_dir = repo / ".git"
    branch_off(repo, "plain")
    assert merged_into(git_dir, "main", "plain")  # no commits of its own
    branch_off(repo, "merged", {"m.py": "m\n"})
    branch_off(repo, "squashed", {"s.py": "s\n"})
    branch_off(repo, "open", {"o.py": "o\n"})
    assert not merged_into(git_dir, "main", "merged")
    merge(repo, "merged", "Merge merged")
    merge(repo, "squashed", "Squash squashed", squash=True)
    assert merged_into(git_dir, "main", "merged") and merged_into(git_dir, "main", "squashed")
    assert not merged_into(git_dir, "main", "open")
    subjects = git(repo, "log", "--format=%s", "-3").splitlines()
    assert subjects[:2] == ["Squash squashed", "Merge merged"]
    assert len(git(repo, "log", "-1", "--format=%P").split()) == 1  # a squash has one parent
    assert status(repo) == ""


def test_a_merge_that_fails_leaves_the_work_tree_as_it_was(repo):
    branch_off(repo, "feature", {"f.py": "f\n"})
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho refused by hook >&2\nexit 1\n")
    hook.chmod(0o755)
    before = head(repo)
    with pytest.raises(command.GitError, match="refused by hook"):
        merge(repo, "feature", "Squash feature", squash=True)
    assert head(repo) == before and status(repo) == "" and not (repo / "f.py").exists()
    hook = repo / ".git" / "hooks" / "pre-merge-commit"
    hook.write_text("#!/bin/sh\necho no merges >&2\nexit 1\n")
    hook.chmod(0o755)
    with pytest.raises(command.GitError, match="no merges"):
        merge(repo, "feature", "Merge feature")
    assert head(repo) == before and status(repo) == "" and not (repo / ".git" / "MERGE_HEAD").exists()


def test_worktreeinclude_copies_ignored_untracked_files_it_names_and_nothing_else(repo, tmp_path):
    (repo / ".worktreeinclude").write_text("# local files\n.env\nconfig/*.local\nnot-ignored.txt\n!config/skip.local\n")
    (repo / ".gitignore").write_text(".env\nbuild/\nconfig/*.local\n")
    git(repo, "add", ".gitignore", ".worktreeinclude")
    git(repo, "commit", "-q", "-m", "include rules")
    (repo / ".env").write_text("TOKEN=1\n")
    os.chmod(repo / ".env", 0o600)
    (repo / "config").mkdir()
    (repo / "config" / "db.local").write_text("db\n")
    (repo / "config" / "skip.local").write_text("skip\n")
    os.symlink("db.local", repo / "config" / "link.local")
    (repo / "not-ignored.txt").write_text("would be committed\n")
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("obj\n")

    included = included_files(repo)
    assert sorted(included.copy) == [".env", "config/db.local", "config/link.local"]
    assert included.not_ignored == ("not-ignored.txt",)
    target = branch_off(repo, "with-env")
    copy_included(repo, target, included.copy)
    assert (target / ".env").read_text() == "TOKEN=1\n" and (target / ".env").stat().st_mode & 0o777 == 0o600
    assert os.readlink(target / "config" / "link.local") == "db.local"
    assert not (target / "not-ignored.txt").exists() and not (target / "build").exists()
    assert status(target) == ""  # the copies are ignored: the member's worktree is clean


def test_no_worktreeinclude_copies_nothing(repo):
    assert included_files(repo) == ((), ())


def test_setup_runs_in_the_worktree_with_its_output_in_a_log(repo, tmp_path):
    target = branch_off(repo, "setup")
    log = setup_log_path(target)
    command_ = setup_command(target, "pwd; echo made > made.txt; echo oops >&2; echo $CAFLEET_SOURCE_TREE")
    ran = run_setup(command_, target, repo, log)
    assert ran.ok and (target / "made.txt").read_text() == "made\n"
    text = log.read_text()
    assert text.startswith("$ pwd;") and str(target) in text and "oops" in text and str(repo) in text
    failed = run_setup(setup_command(target, "echo half; exit 3"), target, repo, log)
    assert failed.exit_status == 3 and not failed.ok and failed.tail[-1] == "half"


def test_the_repository_setup_file_runs_when_no_command_is_given(repo):
    assert setup_command(repo, None) is None
    script = repo / SETUP_FILE
    script.parent.mkdir()
    script.write_text("echo from-file > from-file.txt\n")
    plain = setup_command(repo, None)
    assert plain is not None and plain.argv == ["/bin/sh", str(script)]
    script.write_text("#!/bin/sh\necho exec > exec.txt\n")
    script.chmod(0o755)
    executable = setup_command(repo, None)
    assert executable is not None and executable.argv == [str(script)]
    assert run_setup(executable, repo, repo, repo.parent / "log").ok and (repo / "exec.txt").exists()
    assert setup_command(repo, "true").shown == "true"  # the command line wins
