"""Version drift on a real private tmux server: an agent newer than the versions cafleet's
screen reader was verified with is reported (never refused), and a member whose screen shows
no known state a while after it started turns `unreadable`, its notices wait, and its
Director is told once, naming the agent and version.

The agent is the stand-in installed as an npm package would be (a `package.json` naming
claude-code 9.9.9); "a while after it started" is played by dating its pane back in the
database rather than by waiting a minute."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cafleet.backends import BACKENDS
from cafleet.panes.prompt import HUNG_START_NOTE
from tests.panes_support import (  # noqa: F401
    PanesFleet,
    agents,
    create_panes_fleet,
    date_pane_back,
    run,
    spawn,
    task_row,
    wait_for,
)

NEWER = "9.9.9"


@pytest.fixture
def newer_claude(agents, tmp_path) -> Path:
    """`claude` on PATH as npm installs it: bin/claude -> lib/node_modules/@anthropic-ai/claude-code/bin/claude.exe."""
    package = tmp_path / "npm" / "lib" / "node_modules" / "@anthropic-ai" / "claude-code"
    (package / "bin").mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@anthropic-ai/claude-code", "version": NEWER}))
    entry = package / "bin" / "claude.exe"
    entry.write_text((agents.bin / "claude").read_text())
    entry.chmod(0o755)
    (agents.bin / "claude").unlink()
    (agents.bin / "claude").symlink_to(entry)
    return entry


@pytest.fixture
def fleet(tmux_server, agents, newer_claude, cli) -> PanesFleet:
    return create_panes_fleet(cli, tmux_server, agents, "drift")


def test_the_installed_version_is_read_from_the_agents_package_without_running_it(newer_claude, agents):
    version = BACKENDS["claude"].version(str(agents.bin / "claude"))
    assert (version.installed, version.unverified) == (NEWER, True)
    assert version.describe() == f"claude {NEWER} (unverified: cafleet's screen reader was verified with 2.1.330, 2.1.332)"
    native = newer_claude.parents[5] / "share" / "claude" / "versions" / "2.1.330"  # claude's own installer
    native.parent.mkdir(parents=True)
    native.write_text("")
    assert BACKENDS["claude"].version(str(native)).unverified is False


def test_doctor_and_member_create_show_an_unverified_version(cli, fleet, agents):
    doctor = run(cli, fleet, "doctor")
    assert f"backends: claude {agents.bin / 'claude'} {NEWER}, " in doctor.out
    assert (
        f"claude {NEWER} is not a version cafleet's screen reader was verified with (2.1.330, 2.1.332); it is used anyway"
        in doctor.out
    )
    created = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "ann", "--description", "x")
    assert created.code == 0, created.err  # reported, never refused
    assert f"(claude {NEWER}) in pane %" in created.out
    assert created.err.startswith(f"Note: claude {NEWER} (unverified: ")


def _told(cli, fleet: PanesFleet, tag: str) -> list[str]:
    polled = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--full").json()
    return [m["text"] for m in polled if m["text"].startswith(tag)]


def _pane_of(cli, fleet: PanesFleet) -> str:
    (member,) = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    return member["placement"]["tmux_pane_id"]


def _starts(agents) -> list[list[dict]]:
    """Each stand-in process's log, in the order they started."""
    logs = [[json.loads(line) for line in path.read_text().splitlines() if line.strip()] for path in agents.logs.glob("*.jsonl")]
    return sorted(logs, key=lambda events: events[0]["time"])


def test_a_member_whose_agent_hung_starting_is_started_again_once_and_its_notice_waits_for_it(cli, fleet, agents):
    """Blank a minute after its start (opencode's start sometimes hangs so): the courier starts
    the agent again in a new pane, once, tells the Director, and the notice that waited is
    typed into the new agent only."""
    (agents.bin / "claude.deaf").touch()  # draws nothing for a minute
    ann = spawn(cli, fleet, "ann")
    hung_pane = _pane_of(cli, fleet)
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", ann, "--text", "hello")
    task = sent.json()["task_id"]
    (agents.bin / "claude.deaf").unlink()  # the agent started again starts well
    date_pane_back(ann, 120)

    (text,) = wait_for(lambda: _told(cli, fleet, "[restarted]"), timeout=20, what="the Director to be told")
    new_pane = _pane_of(cli, fleet)
    assert new_pane != hung_pane
    assert text == (
        f"[restarted] ann#{ann}'s claude showed nothing for a minute after it started (its start hung), so cafleet "
        f"started it again in pane {new_pane}, with its starting prompt. Its notices wait until it is ready."
    )
    panes = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    assert panes[0]["activity"]["state"] != "unreadable"
    wait_for(lambda: task_row(task).notify_status == "delivered", timeout=20, what="the notice to reach the new agent")
    hung, started = _starts(agents)
    assert started[0]["argv"][-1].startswith(HUNG_START_NOTE)  # anew: it had saved no conversation
    assert len([e for e in started if e["event"] == "input" and f"[cafleet msg {task} " in e["text"]]) == 1
    assert [e for e in hung if e["event"] == "input"] == []
    assert _told(cli, fleet, "[unreadable]") == []


def test_a_member_that_hangs_again_is_unreadable_and_its_director_is_told_once(cli, fleet, agents):
    (agents.bin / "claude.deaf").touch()  # draws nothing for a minute, started again or not
    ann = spawn(cli, fleet, "ann")
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", ann, "--text", "hello")
    task = sent.json()["task_id"]
    date_pane_back(ann, 120)
    wait_for(lambda: _told(cli, fleet, "[restarted]"), timeout=20, what="the agent to be started again")
    date_pane_back(ann, 120)

    def state():
        listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
        return listed[0]["activity"]["state"]

    wait_for(lambda: state() == "unreadable", timeout=20, what="ann to read as unreadable")
    shown = run(cli, fleet, "--json", "message", "show", "--agent-id", fleet.director_id, "--task-id", task).json()
    assert shown["notify_status"] in ("deferred:unreadable", "pending", "claimed")  # waits; never typed

    (text,) = wait_for(lambda: _told(cli, fleet, "[unreadable]"), timeout=20, what="the Director to be told")
    assert text.startswith(f"[unreadable] ann#{ann} runs claude {NEWER} (unverified: cafleet's screen reader was verified with ")
    assert f"member capture --agent-id {fleet.director_id} --member-id {ann}" in text
    assert "npm install -g @anthropic-ai/claude-code@2.1.332" in text
    doctor = run(cli, fleet, "doctor")
    assert f"ann#{ann} of fleet {fleet.fleet_id} runs claude {NEWER}" in doctor.out and "member restart" in doctor.out
    wait_for(
        lambda: state() == "unreadable" and len(_told(cli, fleet, "[unreadable]")) == 1 and len(_starts(agents)) == 2,
        what="one message and one restart, however often it is looked at",
    )
