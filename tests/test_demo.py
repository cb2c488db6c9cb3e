"""`cafleet demo` on a private tmux socket: stand-in members answer, and --stop cleans up."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from cafleet.core.config import database_setting, local_directory
from tests import waiting
from tests.support import stop_tmux_server


def own_processes(pattern: str) -> list[int]:
    """Pids whose command line holds `pattern` and whose environment names this test's
    database: another demo on the machine is not ours to count."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                proc.name.isdigit()
                and pattern in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                and database_setting().encode() in (proc / "environ").read_bytes()
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.fixture
def demo_socket():
    name = f"cafleet-test-demo-{uuid.uuid4().hex[:8]}"
    yield name
    stop_tmux_server(name)


def wait_for(condition, timeout=20, what="the demo"):
    return waiting.wait_for(condition, timeout=timeout, what=what, interval=0.2)


def test_demo_comes_alive_and_stops_cleanly(cli, demo_socket, db_path):
    started = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60)
    assert started.code == 0, started.err
    info = started.json()
    fleet_id, director_id = info["fleet_id"], info["director_agent_id"]
    assert info["reused"] is False and demo_socket in info["attach"]

    panes = subprocess.run(
        ["tmux", "-L", demo_socket, "list-panes", "-s", "-t", "cafleet-demo", "-F", "#{window_name} #{pane_current_command}"],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert len(panes) == 5  # the Director's TUI, three members, the monitor

    def director_inbox():
        out = cli("--fleet-id", fleet_id, "--json", "message", "poll", "--agent-id", director_id, "--all", "--full").json()
        return [t for t in out if t["reply_to_id"] is not None] if len(out) >= 3 else None

    replies = wait_for(director_inbox)
    assert replies and {t["from_name"] for t in replies} == {"planner", "coder", "reviewer"}

    def handoff_round_trip():
        shown = cli("--json", "fleet", "show", fleet_id).json()
        names = {a["name"]: a["agent_id"] for a in shown["agents"]}
        planner_box = cli(
            "--fleet-id", fleet_id, "--json", "message", "poll", "--agent-id", names["planner"], "--all", "--full"
        ).json()
        return [t for t in planner_box if t["from_name"] == "coder" and t["reply_to_id"]]

    assert wait_for(handoff_round_trip), "the coder never answered the planner"

    screen = subprocess.run(
        ["tmux", "-L", demo_socket, "capture-pane", "-p", "-t", "cafleet-demo:fleet"], capture_output=True, text=True
    ).stdout
    assert "demo: parser refactor" in screen  # the TUI runs in the Director's pane

    again = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60).json()
    assert again["reused"] is True and again["fleet_id"] == fleet_id

    stopped = cli("demo", "--stop")
    assert stopped.code == 0 and f"fleet {fleet_id} deleted" in stopped.out
    assert subprocess.run(["tmux", "-L", demo_socket, "list-sessions"], capture_output=True).returncode != 0
    assert cli("--json", "fleet", "show", fleet_id).json()["deleted_at"]
    assert not (local_directory() / "demo.json").exists()
    assert cli("demo", "--stop").out == "No demo is running.\n"
    # Nothing keeps running: the stand-ins went with their panes, the monitor with its window.
    for pattern in ("cafleet.demo.standin_agent --demo", f"--fleet-id {fleet_id} monitor start"):
        assert wait_for(lambda pattern=pattern: not own_processes(pattern), 10), pattern


@pytest.fixture
def outer_socket():
    name = f"cafleet-test-outer-{uuid.uuid4().hex[:8]}"
    yield name
    stop_tmux_server(name)


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_an_attaching_terminal_of_any_size_sees_the_whole_tui(cli, demo_socket, outer_socket, size):
    """A user's terminal (an outer tmux pane of that size) attaches; the TUI fills it, with
    the timeline and the composer on screen."""
    started = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60)
    assert started.code == 0, started.err
    attach = started.json()["attach"]
    width, height = size
    subprocess.run(
        [
            "tmux",
            "-L",
            outer_socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            str(width),
            "-y",
            str(height),
            f"env -u TMUX {attach}",
        ],
        check=True,
        timeout=10,
    )

    def screen():
        return subprocess.run(["tmux", "-L", outer_socket, "capture-pane", "-p"], capture_output=True, text=True).stdout

    shown = wait_for(lambda: s if "@name message" in (s := screen()) and "Kickoff" in s else None, 20)
    assert shown, screen()
    lines = shown.splitlines()
    assert max(len(line) for line in lines) >= width - 2  # the TUI spans the terminal, not a strip of it
    assert cli("demo", "--stop").code == 0


def test_the_tui_comes_back_after_it_quits_and_stop_finds_the_demo_from_anywhere(cli, demo_socket, db_path):
    started = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60).json()
    tmux = ["tmux", "-L", demo_socket]
    pane = subprocess.run(
        tmux + ["display-message", "-p", "-t", "cafleet-demo:fleet", "#{pane_id}"], capture_output=True, text=True
    ).stdout.strip()
    wait_for(
        lambda: (
            "demo: parser refactor"
            in subprocess.run(tmux + ["capture-pane", "-p", "-t", pane], capture_output=True, text=True).stdout
        )
    )
    subprocess.run(tmux + ["send-keys", "-t", pane, "C-q"], check=True)
    assert wait_for(
        lambda: (
            subprocess.run(
                tmux + ["display-message", "-p", "-t", pane, "#{pane_dead}"], capture_output=True, text=True
            ).stdout.strip()
            == "1"
        ),
        10,
    )
    again = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60).json()
    assert again["reused"] is True and again["fleet_id"] == started["fleet_id"]
    assert wait_for(
        lambda: (
            "demo: parser refactor"
            in subprocess.run(tmux + ["capture-pane", "-p", "-t", pane], capture_output=True, text=True).stdout
        ),
        15,
    )
    # `--stop` from inside some other tmux server still stops this demo, on its own server.
    stopped = cli("demo", "--stop", env={"TMUX": "/tmp/some-other-server,1,0", "TMUX_PANE": "%0"})
    assert stopped.code == 0 and "deleted" in stopped.out
    assert subprocess.run(tmux + ["has-session", "-t", "cafleet-demo"], capture_output=True).returncode != 0
