"""Worktree members with the real claude, codex and opencode builds (marker `realagents`).

For each backend, started by `member create --worktree` with its default permissions (claude's
dontAsk mode, codex's `workspace-write` sandbox, and opencode under a user config that asks
about shell commands and edits): the member, told by the Director, writes a file in its
worktree, stages and commits it, then acks and answers; the Director sees the commit in `member
diff` and merges it with `member merge`, which the timeline records; a commit the member makes
after that keeps its branch through `member delete`, which says how to drop it. With two real
members, a file both change brings the Director the overlap warning, and the second merge is
refused, naming it.

The repository is a real one in a temp directory; the database lives outside it and outside
the worktrees, so that only what the backend grants for the worktree makes the repository's
git directory writable to a codex member. The model is the scripted loopback server in
tests/realagents: a notice saying "please write PATH: TEXT, then run and answer: CMD" makes the
member write the file with its own file tool (codex, offered none here, with its shell), then
run CMD, ack and reply in one shell command.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.git_support import branches, git, head, status
from tests.realagents.harness import FIRST_TURN_S, ROUTES, Field, pane_text, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, fleet_json, real_agents  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
BACKENDS = ["claude", "codex", "opencode"]
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")  # a JSON Lines file to append timings to
# opencode allows every tool unless the user's config says otherwise: with a user who wants to
# be asked about shell commands and edits, only the member's own grants let it write, stage and
# commit in its worktree. Claude's default dontAsk mode and codex's default sandbox are as strict.
USER_CONFIGS = {"opencode": {"permission": {"bash": "ask", "edit": "ask"}}}
ANSWER_SECONDS = 120  # a cap: one notice's turn, on a loaded machine


class Member(NamedTuple):
    agent_id: int
    pane: str
    branch: str
    worktree: Path
    watch: Watch


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_real_member_commits_in_its_worktree_and_the_director_merges_it(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_project(tmp_path, backend, server, cafleet)
        repo = field.workdir
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            spawned_at = time.monotonic()
            worker = create_member(field, server, cafleet, fleet, director, backend, "worker")
            assert worker.branch == f"cafleet/{fleet}/worker" and worker.worktree.parent.parent.name == ".cafleet-worktrees"

            task_id = ask_for_commit(
                cafleet, field, fleet, director, worker, "greeting.txt", "hello from the worker", "Add a greeting"
            )
            worker.watch.until(lambda: reply_to(cafleet, field, fleet, director, task_id), FIRST_TURN_S, "the member's answer")
            committed_at = time.monotonic()
            tip = head(repo, worker.branch)
            assert git(repo, "log", "-1", "--format=%s", worker.branch).strip() == "Add a greeting"
            assert git(repo, "show", f"{tip}:greeting.txt") == "hello from the worker\n"
            assert status(worker.worktree) == "" and not (repo / "greeting.txt").exists()
            assert task_state(cafleet, field, fleet, director, task_id) == "completed"

            # The Director reviews it...
            diff = director_runs(cafleet, field, fleet, "member", "diff", *as_director(director, worker))
            assert "+hello from the worker" in diff and "greeting.txt" in diff, diff
            document = fleet_json(cafleet, field, fleet, "member", "diff", *as_director(director, worker))
            assert [(c["sha"], c["subject"]) for c in document["commits"]] == [(tip, "Add a greeting")]
            assert [(f["path"], f["status"], f["added"]) for f in document["files"]] == [("greeting.txt", "A", 1)]
            assert (document["base"], document["branch"]) == ("main", worker.branch)

            # ... and merges it into its own branch; the timeline records the merge.
            before = head(repo)
            merged = director_runs(cafleet, field, fleet, "member", "merge", *as_director(director, worker))
            merged_at = time.monotonic()
            assert merged.startswith(
                f"Merged worker#{worker.agent_id}'s branch {worker.branch} into main: 1 commit, 1 file (merge commit "
            ), merged
            assert git(repo, "log", "-1", "--format=%P").split() == [before, tip]
            assert (repo / "greeting.txt").read_text() == "hello from the worker\n" and status(repo) == ""
            record_id = re.search(r"recorded as message #(\d+)\.", merged)[1]
            record = fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", record_id)
            assert record["text"].startswith(
                f"[merged] worker#{worker.agent_id}'s branch {worker.branch} into main (merge commit {head(repo)[:7]})"
            ), record["text"]
            assert "Add a greeting" in record["text"] and "greeting.txt" in record["text"]
            assert record["notify_status"] == "skipped:record"

            # A commit after the merge: deleting the member keeps its branch, and says how to drop it.
            again = ask_for_commit(cafleet, field, fleet, director, worker, "farewell.txt", "goodbye", "Say goodbye")
            worker.watch.until(lambda: reply_to(cafleet, field, fleet, director, again), ANSWER_SECONDS, "the second answer")
            late = head(repo, worker.branch)
            assert late != tip and git(repo, "log", "-1", "--format=%s", worker.branch).strip() == "Say goodbye"
            deleted = director_runs(cafleet, field, fleet, "member", "delete", *as_director(director, worker))
            command = f"cafleet --fleet-id {fleet} member delete --agent-id {director} --member-id {worker.agent_id}"
            assert deleted.splitlines() == [
                f"Deleted member worker#{worker.agent_id}.",
                f"  Removed its worktree {worker.worktree}. Kept its branch {worker.branch} with 1 commit not in main: "
                f"`git merge {worker.branch}` takes them; `{command} --discard` (or `git branch -D {worker.branch}`) drops them.",
            ], deleted
            assert branches(repo) == [worker.branch, "main"] and head(repo, worker.branch) == late
            assert not worker.worktree.exists()

            if TIMINGS:
                with open(TIMINGS, "a") as out:
                    timings = {
                        "backend": backend,
                        "test": "worktree",
                        "spawn_to_committed_s": round(committed_at - spawned_at, 2),
                        "committed_to_merged_s": round(merged_at - committed_at, 2),
                        "spawn_to_merged_s": round(merged_at - spawned_at, 2),
                    }
                    out.write(json.dumps(timings) + "\n")
        finally:
            stop_field(field)


def test_two_real_members_changing_one_file_are_told_and_the_second_merge_is_refused(real_agents, tmp_path):
    """Claude only (the fastest to start): the overlap and the conflict are git's and the
    courier's, the same whichever agent committed."""
    backend = "claude"
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_project(tmp_path, backend, server, cafleet)
        repo = field.workdir
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            one = create_member(field, server, cafleet, fleet, director, backend, "one")
            two = create_member(field, server, cafleet, fleet, director, backend, "two")
            asked = [
                (member, ask_for_commit(cafleet, field, fleet, director, member, "shared.txt", f"from {name}", f"{name} shares"))
                for member, name in ((one, "one"), (two, "two"))
            ]
            for member, task_id in asked:
                member.watch.until(lambda t=task_id: reply_to(cafleet, field, fleet, director, t), FIRST_TURN_S, "an answer")

            def overlaps():
                inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--full")
                return [t["text"] for t in inbox if t["text"].startswith("[overlap]")]

            (told,) = wait_until(overlaps, 60, "the Director's overlap message", interval=0.5)
            assert re.match(
                rf"\[overlap\] one#{one.agent_id} \({one.branch}\) and two#{two.agent_id} \({two.branch}\) both change shared\.txt\. ",
                told,
            ), told

            assert director_runs(cafleet, field, fleet, "member", "merge", *as_director(director, one)).startswith("Merged one#")
            before = head(repo)
            refused = subprocess.run(
                [cafleet, "--fleet-id", str(fleet), "member", "merge", *as_director(director, two)],
                env=field.env,
                cwd=repo,
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert refused.returncode == 1 and refused.stdout == "", refused
            assert (
                f"Error: merging {two.branch} into main would conflict in 1 file: shared.txt; nothing was changed."
                in refused.stderr
            ), refused.stderr
            assert head(repo) == before and status(repo) == "" and (repo / "shared.txt").read_text() == "from one\n"
            assert not (repo / ".git" / "MERGE_HEAD").exists()
        finally:
            stop_field(field)


def start_project(tmp_path: Path, backend: str, server: ModelServer, cafleet: str) -> Field:
    """The Director's pane in a fresh repository (on main, one commit, its own identity), with
    the database in a private directory outside it and outside the worktrees."""
    field = start_field(tmp_path, backend, server, cafleet, user_config=USER_CONFIGS.get(backend))
    field.env["CAFLEET_MAX_TEXT_LEN"] = "2000"  # the notices carry absolute paths
    (tmp_path / "data").mkdir(mode=0o700)
    field.env["CAFLEET_DATABASE_URL"] = f"sqlite:///{tmp_path / 'data' / 'cafleet.db'}"
    repo = field.workdir
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.name", "Director")
    git(repo, "config", "user.email", "director@example.com")
    (repo / "README.md").write_text("# project\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-q", "-m", "start")
    return field


def create_member(field: Field, server: ModelServer, cafleet: str, fleet: int, director: int, backend: str, name: str) -> Member:
    created = fleet_json(
        cafleet,
        field,
        fleet,
        "member",
        "create",
        "--agent-id",
        str(director),
        "--name",
        name,
        "--description",
        "builds in its worktree",
        "--coding-agent",
        backend,
        "--worktree",
    )
    pane = created["placement"]["tmux_pane_id"]
    worktree = created["worktree"]
    return Member(created["agent_id"], pane, worktree["branch"], Path(worktree["path"]), Watch(field, server, pane, backend))


def ask_for_commit(cafleet, field, fleet, director, member: Member, name: str, text: str, subject: str) -> int:
    """Tell `member` to write the line `text` to `name` in its worktree, stage and commit it,
    then ack and answer: the task id."""
    request = (
        f"please write {member.worktree / name}: {text}, then run and answer: git add {name} && git commit -q -m '{subject}'"
    )
    sent = fleet_json(
        cafleet, field, fleet, "message", "send", "--agent-id", str(director), "--to", str(member.agent_id), "--text", request
    )
    return sent["task_id"]


class Watch:
    """Waits that say, when they time out, what the member's pane shows and what the last tool
    calls printed: a sandbox or permission denial is there, not in the database (codex shows no
    tool output on its screen)."""

    def __init__(self, field: Field, server: ModelServer, pane: str, backend: str):
        self.field, self.server, self.pane, self.backend = field, server, pane, backend

    def until(self, predicate, timeout: float, what: str):
        try:
            return wait_until(predicate, timeout, what, interval=0.3)
        except AssertionError as timed_out:
            results = [r.tool_output[-1500:] for r in self.server.requests if r.after_tool_result][-2:]
            printed = "\n".join(f"--- {result}" for result in results) or "(none)"
            screen = pane_text(self.field, self.pane)[-4000:]
            raise AssertionError(
                f"{timed_out}; the last tool results:\n{printed}\n{self.backend}'s pane {self.pane} shows:\n{screen}"
            ) from None


def as_director(director: int, member: Member) -> tuple[str, ...]:
    return ("--agent-id", str(director), "--member-id", str(member.agent_id))


def reply_to(cafleet, field, fleet, director, task_id):
    inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--full")
    return [t for t in inbox if t["reply_to_id"] == task_id]


def task_state(cafleet, field, fleet, director, task_id):
    return fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task_id))["state"]


def director_runs(cafleet: str, field: Field, fleet: int, *args: str) -> str:
    """`cafleet --fleet-id FLEET ARGS…` as the Director runs it, plain text out."""
    done = subprocess.run(
        [cafleet, "--fleet-id", str(fleet), *args], env=field.env, cwd=field.workdir, capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, f"cafleet {' '.join(args)} failed: {done.stderr}"
    return done.stdout
