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
from tests.panes_support import PanesFleet, agents, create_panes_fleet, run, spawn, wait_for  # noqa: F401

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


def _date_pane_back(member_id: int, seconds: int) -> None:
    from datetime import UTC, datetime, timedelta

    from cafleet.core.timestamps import to_stamp
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    earlier = to_stamp(datetime.now(UTC) - timedelta(seconds=seconds))
    Placement.update(created_at=earlier).where(Placement.agent == member_id).execute()


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


def test_a_screen_read_as_starting_long_after_spawn_is_unreadable_and_the_director_is_told_once(cli, fleet, agents):
    (agents.bin / "claude.deaf").touch()  # draws nothing for a minute: no state a reader knows
    ann = spawn(cli, fleet, "ann")
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", ann, "--text", "hello")
    task = sent.json()["task_id"]
    _date_pane_back(ann, 120)

    def state():
        listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
        return listed[0]["activity"]["state"]

    wait_for(lambda: state() == "unreadable", timeout=20, what="ann to read as unreadable")
    shown = run(cli, fleet, "--json", "message", "show", "--agent-id", fleet.director_id, "--task-id", task).json()
    assert shown["notify_status"] in ("deferred:unreadable", "pending", "claimed")  # waits; never typed

    def told():
        polled = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--full").json()
        return [m["text"] for m in polled if m["text"].startswith("[unreadable]")]

    (text,) = wait_for(told, timeout=20, what="the Director to be told")
    assert text.startswith(f"[unreadable] ann#{ann} runs claude {NEWER} (unverified: cafleet's screen reader was verified with ")
    assert f"member capture --agent-id {fleet.director_id} --member-id {ann}" in text
    assert "npm install -g @anthropic-ai/claude-code@2.1.332" in text
    doctor = run(cli, fleet, "doctor")
    assert f"ann#{ann} of fleet {fleet.fleet_id} runs claude {NEWER}" in doctor.out and "member restart" in doctor.out
    wait_for(lambda: state() == "unreadable" and len(told()) == 1, what="one message, however often it is looked at")
