"""Members in worktrees for the tests: spawned by the real `member create` in a private tmux
server, their work committed by the stand-in in its own pane (`member exec`)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.git_support import head
from tests.panes_support import run, wait_for


def spawn_member(cli, fleet, agents, repo: Path, name: str, *extra) -> int:
    """`member create` run from `repo` (add `--worktree` in `extra` for one), once it is ready."""
    created = run(
        cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", name,
        "--description", f"{name} builds", *extra, "--quiet", cwd=repo,
    )  # fmt: skip
    assert created.code == 0, created.err
    agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    return int(created.out)


def member_commits(cli, fleet, repo: Path, member_id: int, branch: str, files: dict[str, str], message: str) -> str:
    """The member (the stand-in, in its pane) writes `files` and commits them in its worktree."""
    before = head(repo, branch)
    writes = " && ".join(f"printf %b {json.dumps(text)} > {name}" for name, text in files.items())
    command = f"{writes} && git add -A && git commit -q -m {json.dumps(message)}"
    done = run(cli, fleet, "member", "exec", "--agent-id", fleet.director_id, "--member-id", member_id, command, cwd=repo)
    assert done.code == 0, done.err
    return wait_for(lambda: head(repo, branch) != before and head(repo, branch), what=f"{branch} to get a commit")
