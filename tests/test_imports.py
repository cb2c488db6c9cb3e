"""Agents call the CLI constantly: the hot commands must not import Textual, libtmux or rich,
nor a PostgreSQL driver they do not use (psycopg 3 never; psycopg2 only for PostgreSQL)."""

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
watched = set(json.loads(sys.argv[2]))
sys.argv = ["cafleet"] + json.loads(sys.argv[1])
from cafleet.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & watched)
print(json.dumps(heavy), file=sys.stderr)
"""


def _heavy() -> list[str]:
    from cafleet.core.config import PostgresServer, database_target

    heavy = ["textual", "libtmux", "rich", "psycopg", "psycopg2cffi"]
    return heavy if isinstance(database_target(), PostgresServer) else [*heavy, "psycopg2"]


@pytest.mark.parametrize(
    "args",
    [
        ["message", "poll"],
        ["message", "send", "--to", "bob", "--text", "hi"],
        ["message", "ack", "--task-id", "{task}"],
        ["message", "show", "--task-id", "{task}"],
        ["agent", "list"],
        ["message", "search", "for alice"],
    ],
)
def test_hot_commands_import_no_heavy_modules(fleet, args):
    from cafleet.broker.messages import send_message

    task = send_message(fleet.fleet_id, fleet.bob_id, "alice", "for alice")
    args = [a.format(task=task.id) for a in args]
    argv = ["--fleet-id", str(fleet.fleet_id)] + args + ["--agent-id", str(fleet.alice_id)]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(_heavy())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    *_, heavy = result.stderr.strip().splitlines()
    assert "Error" not in result.stderr, result.stderr
    assert json.loads(heavy) == []


def test_probe_detects_a_heavy_import(fleet):
    """Guard against a probe that can never fail."""
    result = subprocess.run(
        [sys.executable, "-c", "import libtmux\n" + PROBE, json.dumps(["--version"]), json.dumps(_heavy())],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert json.loads(result.stderr.strip().splitlines()[-1]) == ["libtmux"]


def test_a_checkout_maps_only_the_screens_into_the_package():
    """cafleet.screens comes from the checkout's screens/; nothing else at its root does."""
    probe = (
        "import importlib, cafleet.screens as s\n"
        "print(s.__file__)\n"
        "for name in ('cafleet.tests', 'cafleet.docs', 'cafleet.bench'):\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "        print('importable', name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "screens", "__init__.py")
    ]


@pytest.mark.parametrize("args", [["member", "diff", "--member-id", "{member}"], ["member", "list"]])
def test_worktree_review_commands_import_no_heavy_modules(fleet, tmp_path, args):
    """`member diff` and `member list` of a worktree member run git, and still touch no pane."""
    from cafleet.broker.members import attach_pane, register_member
    from cafleet.broker.worktrees import NewWorktree, record_worktree
    from cafleet.git.worktrees import add_worktree
    from tests.git_support import commit, head, make_repo

    repo = make_repo(tmp_path / "repo")
    path = tmp_path / "wt"
    add_worktree(repo, path, "coder", head(repo))
    commit(path, {"x.py": "x = 1\n"}, "x")
    member = register_member(fleet.fleet_id, fleet.director_id, "coder", "codes", "claude")
    attach_pane(member.id, "%9")
    worktree = NewWorktree(str(path), "coder", "refs/heads/main", head(repo), str(repo / ".git"), str(repo), None, None)
    record_worktree(member.id, worktree)
    argv = ["--fleet-id", str(fleet.fleet_id), *[a.format(member=member.id) for a in args], "--agent-id", str(fleet.director_id)]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps([*_heavy(), "textual"])],
        capture_output=True,
        text=True,
        timeout=30,
    )
    *_, heavy = result.stderr.strip().splitlines()
    assert "Error" not in result.stderr, result.stderr
    assert "x = 1" in result.stdout if args[1] == "diff" else "1 commit ahead of main" in result.stdout
    assert json.loads(heavy) == []
