"""`cafleet demo` on private tmux servers: the TUI is the human's seat, the Director and the
members are stand-ins that answer, every way out says how to come back, and --stop cleans up."""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from cafleet.core.config import database_setting, local_directory
from tests import waiting
from tests.support import cafleet_command, stop_tmux_server, tmux_socket_path

pytestmark = pytest.mark.engine_neutral  # the demo runs on the embedded SQLite database

SESSION = "cafleet-demo"


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


def unique_socket(kind: str):
    name = f"cafleet-test-{kind}-{uuid.uuid4().hex[:8]}"
    yield name
    stop_tmux_server(name)


@pytest.fixture
def demo_socket():
    yield from unique_socket("demo")


@pytest.fixture
def outer_socket():
    """A terminal: a tmux server of its own whose pane plays the user's terminal window."""
    yield from unique_socket("outer")


@pytest.fixture
def user_socket():
    """The tmux server the user already works in (the demo joins it from inside tmux)."""
    yield from unique_socket("user")


def wait_for(condition, timeout=20, what="the demo"):
    return waiting.wait_for(condition, timeout=timeout, what=what, interval=0.2)


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True, timeout=10)


def shown(socket: str, target: str, fmt: str) -> str:
    return tmux(socket, "display-message", "-p", "-t", target, fmt).stdout.strip()


def screen(socket: str, target: str | None = None) -> str:
    return tmux(socket, "capture-pane", "-p", *(["-t", target] if target else [])).stdout


def terminal(socket: str, command: str, size=(80, 24)) -> None:
    """A terminal window of `size` running `command`, outside any tmux (as a user's would be)."""
    width, height = size
    subprocess.run(
        ["tmux", "-L", socket, "-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height)]
        + [f"env -u TMUX -u TMUX_PANE {command}; sleep 600"],
        check=True,
        timeout=10,
    )


def cafleet_line(*args: str) -> str:
    return " ".join([*cafleet_command(), *args])


def start_demo(cli, demo_socket, **env) -> dict:
    started = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60, env=env or None)
    assert started.code == 0, started.err
    return started.json()


def seat_pane(demo_socket: str) -> str:
    return shown(demo_socket, f"{SESSION}:you", "#{pane_id}")


def test_demo_comes_alive_answers_everyone_and_stops_cleanly(cli, demo_socket, db_path):
    info = start_demo(cli, demo_socket)
    fleet_id, director_id = info["fleet_id"], info["director_agent_id"]
    assert info["reused"] is False and demo_socket in info["attach"] and info["leave"].startswith("C-b d ")

    # Until the TUI shows every agent's state, no screen of it calls an agent exited or gone:
    # the Director's stand-in runs before its fleet exists, and the TUI is no agent's pane.
    seat = seat_pane(demo_socket)
    seen: list[str] = []

    def roster_settled():
        seen.append(screen(demo_socket, seat))
        return sum(word in seen[-1] for word in ("director · ", "planner", "coder", "reviewer")) == 4

    wait_for(roster_settled, what="the TUI's roster")
    assert not [s for s in seen if "exited" in s or "gone" in s], seen[-1]

    windows = tmux(demo_socket, "list-panes", "-s", "-t", SESSION, "-F", "#{window_name}").stdout.split()
    assert windows == ["you", "agents", "agents", "agents", "agents", "monitor"]
    fleet = cli("--json", "fleet", "show", fleet_id).json()
    agents = {a["name"]: a for a in fleet["agents"]}
    assert set(agents) == {"director", "Administrator", "planner", "coder", "reviewer"}
    placed = {name: a["placement"] for name, a in agents.items() if a.get("placement")}
    assert {p["coding_agent"] for p in placed.values()} == {"standin"}  # what runs there, truthfully
    assert seat not in {p["tmux_pane_id"] for p in placed.values()}  # the TUI's pane is the human's
    assert agents["director"]["placement"]["tmux_window_id"] == shown(demo_socket, f"{SESSION}:agents", "#{window_id}")

    def inbox(agent_id, *flags):
        return cli("--fleet-id", fleet_id, "--json", "message", "poll", "--agent-id", agent_id, *flags).json()

    def director_read_every_reply():
        replies = [t for t in inbox(director_id, "--all", "--full") if t["reply_to_id"] is not None]
        return replies if len(replies) >= 3 and not inbox(director_id) else None

    replies = wait_for(director_read_every_reply, what="the Director to ack the members' replies")
    assert {t["from_name"] for t in replies} == {"planner", "coder", "reviewer"}

    def handoff_round_trip():
        planner_box = inbox(agents["planner"]["agent_id"], "--all", "--full")
        return [t for t in planner_box if t["from_name"] == "coder" and t["reply_to_id"]]

    assert wait_for(handoff_round_trip), "the coder never answered the planner"

    # You, at the TUI, are the Administrator; the Director answers you like any agent.
    administrator_id = agents["Administrator"]["agent_id"]
    sent = cli(
        "--fleet-id", fleet_id, "--json", "message", "send", "--agent-id", administrator_id, "--to", "director", "--text", "hi"
    )
    assert sent.code == 0, sent.err
    answered = wait_for(lambda: [t for t in inbox(administrator_id) if t["from"].startswith("director#")])
    assert answered

    # The monitor pings the Director's pane, and the stand-in polls.
    configured = cli("--fleet-id", fleet_id, "monitor", "config", "--member-id", director_id, "--interval", "1")
    assert configured.code == 0, configured.err

    def director_pinged():
        status = cli("--fleet-id", fleet_id, "--json", "monitor", "status").json()
        return [a for a in status["agents"] if a["agent_id"] == director_id and a["last_ping_at"]]

    wait_for(director_pinged, what="the monitor to ping the Director")
    director_pane = agents["director"]["placement"]["tmux_pane_id"]
    wait_for(lambda: "polled: 0 unread" in screen(demo_socket, director_pane), what="the Director to poll")

    again = cli("--json", "demo", "--no-attach", "--tmux-socket", demo_socket, timeout=60).json()
    assert again["reused"] is True and again["fleet_id"] == fleet_id

    stopped = cli("demo", "--stop")
    assert stopped.code == 0 and f"fleet {fleet_id} deleted" in stopped.out
    assert tmux(demo_socket, "list-sessions").returncode != 0
    assert not tmux_socket_path(demo_socket).exists()  # tmux itself leaves the file behind
    assert cli("--json", "fleet", "show", fleet_id).json()["deleted_at"]
    assert not (local_directory() / "demo.json").exists()
    assert cli("demo", "--stop").out == "No demo is running.\n"
    # Nothing keeps running: the stand-ins went with their panes, the monitor with its window.
    for pattern in ("cafleet.demo.standin_agent --demo", f"--fleet-id {fleet_id} monitor start"):
        assert wait_for(lambda pattern=pattern: not own_processes(pattern), 10), pattern


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
def test_a_terminal_of_any_size_sees_the_whole_tui_and_detaching_says_how_to_return(cli, demo_socket, outer_socket, size):
    """`cafleet demo` in a plain terminal (an outer tmux pane of that size) attaches; the TUI
    fills it, with the timeline and the composer on screen; C-b d brings the shell back with
    the way back and the way to stop."""
    terminal(outer_socket, cafleet_line("demo", "--tmux-socket", demo_socket), size)
    whole = wait_for(lambda: s if "@name message" in (s := screen(outer_socket)) and "Kickoff" in s else None)
    assert max(len(line) for line in whole.splitlines()) >= size[0] - 2  # the TUI spans the terminal

    tmux(outer_socket, "send-keys", "C-b", "d")
    back = wait_for(lambda: s if "Left the demo" in (s := screen(outer_socket)) else None)
    assert "[detached" in back and "cafleet demo\n" in back and "cafleet demo --stop" in back
    assert tmux(demo_socket, "has-session", "-t", SESSION).returncode == 0  # it keeps running
    assert cli("demo", "--stop").code == 0


def test_escape_then_a_key_closes_the_dialog_in_the_demo(cli, demo_socket, outer_socket):
    info = start_demo(cli, demo_socket)
    assert int(tmux(demo_socket, "show-options", "-sv", "escape-time").stdout) <= 50  # the demo's own server
    terminal(outer_socket, f"{info['attach']}")
    wait_for(lambda: "@name message" in screen(outer_socket), what="the TUI")
    tmux(outer_socket, "send-keys", "C-p")
    wait_for(lambda: "Search for commands" in screen(outer_socket), what="the command palette")
    tmux(outer_socket, "send-keys", "Escape")
    # A person's next key, well after the TUI's own Escape wait (0.1 s) and well inside tmux's
    # old default escape-time (0.5 s), which read the two as Alt+m and kept the palette open.
    time.sleep(0.3)
    tmux(outer_socket, "send-keys", "m")
    wait_for(
        lambda: "🔎" not in (s := screen(outer_socket)) and re.search(r"▊\s+m\s+▎", s),
        what="the palette to close and `m` to reach the composer",
    )
    assert cli("demo", "--stop").code == 0


def test_every_run_shows_the_whole_tui_and_quitting_it_says_what_next(cli, demo_socket):
    started = start_demo(cli, demo_socket)
    seat = seat_pane(demo_socket)
    wait_for(lambda: "demo: parser refactor" in screen(demo_socket, seat))

    def whole_tui_shown():
        window = shown(demo_socket, SESSION, "#{window_name} #{pane_id} #{window_zoomed_flag} #{window_panes}").split()
        return window[:2] == ["you", seat] and (window[2] == "1" or window[3] == "1")

    assert whole_tui_shown()
    # Someone looks at the agents, splits the TUI's window and zooms the other pane there:
    # every later run (a toggle would undo it on the second) shows the TUI whole again.
    tmux(demo_socket, "split-window", "-d", "-t", seat, "sleep 600")
    tmux(demo_socket, "resize-pane", "-Z", "-t", f"{SESSION}:you.1")
    tmux(demo_socket, "select-window", "-t", f"{SESSION}:agents")
    for _ in range(3):
        again = start_demo(cli, demo_socket)
        assert again["reused"] is True and whole_tui_shown()
        assert shown(demo_socket, seat, "#{window_zoomed_flag}") == "1"
    tmux(demo_socket, "kill-pane", "-t", f"{SESSION}:you.1")

    tmux(demo_socket, "send-keys", "-t", seat, "C-q")
    assert wait_for(lambda: shown(demo_socket, seat, "#{pane_dead}") == "1", 10)
    quit_screen = wait_for(lambda: s if "cafleet demo --stop" in (s := screen(demo_socket, seat)) else None)
    assert "The cafleet TUI has quit; the demo keeps running" in quit_screen
    assert re.search(r"^  cafleet demo +brings the TUI back", quit_screen, re.M)
    assert re.search(r"^  C-b d +detaches this terminal", quit_screen, re.M)  # started outside tmux

    again = start_demo(cli, demo_socket)
    assert again["reused"] is True and again["fleet_id"] == started["fleet_id"]
    assert wait_for(lambda: "demo: parser refactor" in screen(demo_socket, seat), 15)
    assert whole_tui_shown()

    # A demo an older cafleet left running (its TUI in the Director's pane) is replaced.
    state = local_directory() / "demo.json"
    old = json.loads(state.read_text())
    old["director_pane"] = old.pop("seat_pane")
    state.write_text(json.dumps(old))
    fresh = start_demo(cli, demo_socket)
    assert fresh["reused"] is False and fresh["fleet_id"] != started["fleet_id"]
    assert cli("--json", "fleet", "show", started["fleet_id"]).json()["deleted_at"]

    # From inside another tmux server the way out is that server's prefix first.
    nested = start_demo(cli, demo_socket, TMUX="/tmp/some-other-server,1,0", TMUX_PANE="%0")
    assert nested["leave"].startswith("C-b C-b d ") and nested["attach"].startswith("TMUX= ")
    # `--stop` from inside some other tmux server still stops this demo, on its own server.
    stopped = cli("demo", "--stop", env={"TMUX": "/tmp/some-other-server,1,0", "TMUX_PANE": "%0"})
    assert stopped.code == 0 and "deleted" in stopped.out
    assert tmux(demo_socket, "has-session", "-t", SESSION).returncode != 0


def test_inside_tmux_the_demo_joins_your_server_and_says_how_to_switch_back(cli, user_socket, outer_socket):
    """The user's own tmux server (prefix C-a), with their session `work`, shown in their
    terminal: `cafleet demo` there switches the client to the demo, leaves the server's options
    alone, and C-a L (what it tells) brings the user back to `work`, where its message waits."""
    tmux(user_socket, "-f", "/dev/null", "new-session", "-d", "-s", "work", "-x", "80", "-y", "24", "bash --norc --noprofile")
    tmux(user_socket, "set-option", "-g", "prefix", "C-a")
    escape_time = tmux(user_socket, "show-options", "-sv", "escape-time").stdout
    terminal(outer_socket, f"tmux -L {user_socket} attach -t work")
    wait_for(lambda: "$" in screen(outer_socket) or "#" in screen(outer_socket), what="the shell")
    tmux(user_socket, "send-keys", "-t", "work", "clear; " + cafleet_line("demo", "--tmux-socket", user_socket), "Enter")

    wait_for(lambda: "@name message" in screen(outer_socket), what="the client to switch to the TUI")
    assert tmux(user_socket, "show-options", "-sv", "escape-time").stdout == escape_time  # the user's, untouched
    assert shown(user_socket, SESSION, "#{@cafleet_demo_leave}").startswith("C-a L\t")

    tmux(outer_socket, "send-keys", "C-a", "L")
    back = wait_for(lambda: s if "switched to it" in (s := screen(outer_socket)) else None, what="the way back to `work`")
    assert "Leave:    C-a L  back to your session; C-a d would detach your client" in back and "cafleet demo --stop" in back
    assert tmux(user_socket, "has-session", "-t", SESSION).returncode == 0
    assert cli("demo", "--stop").code == 0
    assert tmux(user_socket, "has-session", "-t", "work").returncode == 0  # the user's session stays


@pytest.mark.parametrize("prefix", ["C-b", "C-Space"])
def test_what_the_demo_says_fits_an_80_column_terminal(prefix):
    from cafleet.demo.seat import after_tui
    from cafleet.demo.session import Showing, leave_keys

    for showing in Showing:
        how = leave_keys(showing, prefix, prefix)
        shown = after_tui(12345, f"{how.keys}\t{how.effect}")
        assert how.keys in shown and "cafleet demo --stop" in shown
        assert max(len(line) for line in shown.splitlines()) <= 80, shown
        assert len(f"Leave:    {how.line()}") <= 80
