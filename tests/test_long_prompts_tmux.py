"""Starting prompts of any length, and look-alike member names, against a private tmux server
with stand-in agents (which log their argv and environment).

A prompt rides in the command `tmux split-window` sends its server, which takes at most
~16 KiB; a longer one is saved to a 0600 file the member is allowed to read, and the agent's
first turn tells it to read that file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from cafleet.panes.prompt_file import TMUX_COMMAND_BYTES, packed_size
from tests.panes_support import agents, panes_fleet, run, spawn, without_session_mark  # noqa: F401 (agents is a fixture)

fleet = panes_fleet("prompts")

POINTER = re.compile(
    r"You are (?P<name>[\w.-]+)\. Your starting instructions are too long for the command line, so they are saved "
    r"in the file (?P<path>/\S+) \((?P<size>[\d,]+) bytes, (?P<lines>[\d,]+) lines\)\. Before anything else, read "
    r"that whole file \(in parts if your file tool reads only part of a file at a time\) and follow it as your "
    r"starting prompt\."
)


def started(agents, name: str) -> dict:
    events = agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    assert any(e["event"] == "ready" for e in events), events
    return events[0]


def long_prompt(size: int) -> str:
    """About `size` characters of prompt with placeholders, newlines, quotes and non-ASCII text."""
    line = "Review {name} (agent {agent_id} of fleet {fleet_id}): don't skip the café's 'tests'.\n"
    return line * (size // len(line) + 1) + "- last line: ünïcode ✓"


def registry() -> list[tuple]:
    """The agents and placements (the courier keeps stamping other tables meanwhile)."""
    from cafleet.store.db import open_database
    from cafleet.store.models import Agent, Placement

    open_database()
    return [*Agent.select().order_by(Agent.id).tuples(), *Placement.select().order_by(Placement.agent).tuples()]


def rendered(template: str, member_id: int, fleet) -> str:
    return template.replace("{name}", "lena").replace("{agent_id}", str(member_id)).replace("{fleet_id}", str(fleet.fleet_id))


def test_tmux_takes_a_command_of_exactly_the_measured_size_and_no_more(tmux_server):
    """Pins the limit the spawn plans with: one byte over it, tmux refuses the split."""
    head = ["split-window", "-d", "-h", "-t", tmux_server.pane_id, "-P", "-F", "#{pane_id}"]
    filler = TMUX_COMMAND_BYTES - packed_size([*head, "exit ; "])
    at_limit = [*head, "exit ; " + "x" * filler]
    assert packed_size(at_limit) == TMUX_COMMAND_BYTES
    assert tmux_server.tmux(*at_limit).returncode == 0
    over = tmux_server.tmux(*head, "exit ; " + "x" * (filler + 1))
    # Just over, the client cannot send it; further over, it says so before trying.
    assert over.returncode == 1 and over.stderr.strip() in ("failed to send command", "command too long"), over.stderr


def test_a_short_prompt_is_the_agents_last_argument_exactly_as_before(cli, fleet, agents, local_dir):
    prompt = "Hi {name}, agent {agent_id}: " + "ok " * 1000
    member_id = spawn(cli, fleet, "lena", "--prompt", prompt)
    argv = started(agents, "lena")["argv"]
    assert without_session_mark(argv[-1]) == rendered(prompt, member_id, fleet)
    assert not (local_dir / "prompts" / f"member-{member_id}").exists()


@pytest.mark.parametrize(
    "backend, size",
    [("claude", 20_000), ("claude", 200 * 1024), ("codex", 200 * 1024), ("opencode", 20_000), ("opencode", 1000 * 1024)],
)
def test_a_prompt_too_long_for_tmux_or_argv_reaches_the_agent_through_a_file(
    cli, fleet, agents, tmp_path, local_dir, backend, size
):
    template = long_prompt(size)
    source = tmp_path / "prompt.md"
    source.write_text(template, encoding="utf-8")
    created = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        "lena",
        "--description",
        "reads long prompts",
        "--coding-agent",
        backend,
        "--prompt-file",
        source,
    )
    assert created.code == 0 and created.err == "", created
    member_id = int(created.out.splitlines()[0])
    path = local_dir / "prompts" / f"member-{member_id}" / "prompt.md"
    assert f"  readable: {path.parent}/* (its starting prompt)" in created.out.splitlines() or backend != "opencode"
    assert "unexpected" not in created.out and "Traceback" not in created.out

    start = started(agents, "lena")
    first_turn = start["argv"][-1]
    found = POINTER.fullmatch(without_session_mark(first_turn))
    assert found, first_turn
    text = path.read_text(encoding="utf-8")
    assert found["name"] == "lena" and Path(found["path"]) == path
    assert text == rendered(template, member_id, fleet)
    assert found["size"] == f"{len(text.encode()):,}" and found["lines"] == f"{text.count(chr(10)) + 1:,}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700

    # The agent is allowed to read that file, and nothing more than it had.
    if backend == "claude":
        settings = json.loads(start["argv"][start["argv"].index("--settings") + 1])
        assert settings["permissions"]["allow"][-1] == f"Read(/{path})"
    if backend == "opencode":
        permission = json.loads(start["env_opencode_permission"])
        assert permission["external_directory*"] == {f"{path.parent}/*": "allow"}


def test_deleting_the_member_removes_its_saved_prompt(cli, fleet, agents, local_dir):
    member_id = spawn(cli, fleet, "lena", "--prompt", long_prompt(40_000))
    started(agents, "lena")
    saved = local_dir / "prompts" / f"member-{member_id}"
    assert (saved / "prompt.md").is_file()
    deleted = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", member_id, "--force")
    assert deleted.code == 0, deleted
    assert not saved.exists()


def test_deleting_the_fleet_removes_its_members_saved_prompts(cli, fleet, agents, local_dir):
    member_id = spawn(cli, fleet, "lena", "--prompt", long_prompt(40_000))
    started(agents, "lena")
    saved = local_dir / "prompts" / f"member-{member_id}"
    assert (saved / "prompt.md").is_file()
    deleted = run(cli, fleet, "fleet", "delete", fleet.fleet_id)
    assert deleted.code == 0, deleted
    assert not saved.exists()


def test_a_failed_spawn_leaves_no_prompt_file_behind(cli, fleet, agents, local_dir):
    """Past the prompt file, the agent's own arguments alone overflow tmux: a clear refusal,
    no member row, no file."""
    before = registry()
    huge_argument = "x" * 20_000
    created = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        "lena",
        "--description",
        "d",
        "--prompt",
        long_prompt(40_000),
        "--agent-arg",
        huge_argument,
    )
    assert created.code == 2 and created.out == "", created
    (line,) = created.err.splitlines()
    assert re.fullmatch(
        r"Error: the command that starts claude is [\d,]+ bytes even with the prompt in a file, over tmux's 16,364-byte "
        r"limit for one command; pass shorter --agent-arg values",
        line,
    ), line
    assert registry() == before
    assert not (local_dir / "prompts").exists() or not os.listdir(local_dir / "prompts")


def test_member_create_refuses_a_name_that_reads_like_an_active_agents(cli, fleet, agents):
    first = spawn(cli, fleet, "coder-l")
    before = registry()
    panes = len(fleet_panes(cli, fleet))
    created = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "coder-I", "--description", "d")
    assert (created.code, created.out) == (1, ""), created
    assert created.err == (
        f"Error: agent name 'coder-I' reads like 'coder-l' (agent {first}) of fleet {fleet.fleet_id}: names that differ "
        "only in look-alike characters (0/O/o, 1/l/I, rn/m, vv/w) are refused, since a misread name reaches the wrong "
        "agent; choose a distinct name, e.g. coder-I-2\n"
    )
    assert registry() == before and len(fleet_panes(cli, fleet)) == panes


def fleet_panes(cli, fleet) -> list[str]:
    import subprocess

    socket_path = fleet.env["TMUX"].split(",")[0]
    listed = subprocess.run(
        ["tmux", "-S", socket_path, "list-panes", "-a", "-F", "#{pane_id}"], capture_output=True, text=True, timeout=10
    )
    return listed.stdout.split()
