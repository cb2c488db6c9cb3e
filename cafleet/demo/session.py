"""`cafleet demo`: a live fleet with no coding agent installed.

A tmux session of three windows:

- `you`: the TUI, the human's seat (`seat`): what you type there is sent as the Administrator;
- `agents`: the Director and three members (planner, coder, reviewer), each a stand-in agent
  (the `standin` coding agent) that reads its notices, polls when the monitor pings it, acks
  and answers;
- `monitor`: the monitor, which pings the Director every minute and a member with unread mail.

Outside tmux the session gets a tmux server of its own (`tmux -L cafleet-demo`), whose options
are the demo's to set; inside tmux it joins the current server, so the client can switch to it.
The state (tmux socket, session, fleet, the TUI's pane) is kept in the database's local
directory so `cafleet demo --stop` can take it all down from anywhere.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from cafleet.core.config import database_setting, local_directory
from cafleet.core.errors import NotInTmux, Refused
from cafleet.demo.seat import LEAVE_OPTION

SESSION = "cafleet-demo"
OWN_SERVER = "cafleet-demo"  # the `tmux -L` socket the demo starts outside tmux
MEMBERS = (
    ("planner", "Breaks the work into steps"),
    ("coder", "Implements the steps"),
    ("reviewer", "Reviews every change"),
)
KICKOFF = "Kickoff: we refactor the parser today. planner, please plan; everyone, report when done."
# tmux's default (500 ms, before tmux 3.5) holds a lone Escape that long, and reads Escape
# then a key typed within it as Alt+key: the TUI's dialogs would not close. Set only on a
# server the demo started; escape-time is a server option, so the user's own stays theirs.
ESCAPE_TIME_MS = 10
STANDIN_READY_SECONDS = 20.0
SEAT_DEAD_LINE = "cafleet demo reopens the TUI · cafleet demo --stop ends the demo"


class DemoState(NamedTuple):
    socket_name: str | None
    session: str
    fleet_id: int
    director_id: int
    socket_path: str  # the demo's tmux server, wherever `--stop` or a reattach is run from
    seat_pane: str  # the pane that shows the TUI (the human's seat; no agent's pane)

    def tmux_args(self) -> list[str]:
        return ["tmux", "-S", self.socket_path]


class Showing(StrEnum):
    """How this terminal shows the demo, which decides how it leaves it again."""

    ATTACH = "attach"  # a plain terminal attaches a tmux client
    SWITCH = "switch"  # a tmux client of the demo's own server switches to its session
    NESTED = "nested"  # inside another tmux server: a client attached inside a pane of it


class Leave(NamedTuple):
    """How the terminal that shows the demo leaves it again."""

    keys: str  # e.g. "C-b d", with the prefixes the servers really use
    effect: str

    def line(self) -> str:
        return f"{self.keys}  {self.effect}"


def state_file() -> Path:
    return local_directory() / "demo.json"


def load_state() -> DemoState | None:
    try:
        data = json.loads(state_file().read_text())
        if "director_pane" in data:  # an older demo, its TUI in the Director's pane: stopped, never reused
            del data["director_pane"]
            data["seat_pane"] = ""
        return DemoState(**data)
    except (OSError, ValueError, TypeError):
        return None


def start(socket_name: str | None = None) -> tuple[DemoState, bool]:
    """Bring the demo up, or find it running. Returns (state, reused), the TUI shown."""
    from cafleet.broker.guards import live_fleet
    from cafleet.store.db import open_database

    if shutil.which("tmux") is None:
        raise NotInTmux("`cafleet demo` needs tmux, which is not on PATH; install it (e.g. apt-get install tmux)")
    open_database()
    existing = load_state()
    if existing is not None and existing.seat_pane and session_alive(existing):
        try:
            live_fleet(existing.fleet_id)
            state = _reopen_tui(existing)
            _show_seat(state)
            return state, True
        except Refused:
            pass
    if existing is not None:
        stop()
    if socket_name is None and not os.environ.get("TMUX"):
        socket_name = OWN_SERVER
    tmux = ["tmux"] + (["-L", socket_name] if socket_name else [])
    if _run(tmux + ["has-session", "-t", SESSION], check=False).returncode == 0:
        raise Refused(f"a tmux session named {SESSION!r} exists but is not a cafleet demo; close it first")
    server_was_running = _run(tmux + ["list-sessions"], check=False).returncode == 0
    _run(
        tmux
        + ["-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-n", "you", "-x", "200", "-y", "50"]
        + [*_pane_environment(), "sleep 86400"]
    )
    try:
        if not server_was_running:
            _run(tmux + ["set-option", "-s", "escape-time", str(ESCAPE_TIME_MS)])
        state = _populate(tmux, socket_name)
    except BaseException:
        _run(tmux + ["kill-session", "-t", SESSION], check=False)
        raise
    _save(state)
    return state, False


def _populate(tmux: list[str], socket_name: str | None) -> DemoState:
    from cafleet.backends.standin import answering_standin
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.monitor import configure
    from cafleet.core.domain import CodingAgent
    from cafleet.demo.responder import DEMO_PROMPT
    from cafleet.panes.members import spawn_member
    from cafleet.services.sending import broadcast

    seat = _pane_location(tmux, f"{SESSION}:you")
    # The Director's stand-in runs before its fleet exists (the fleet is created from its pane)
    # and learns who it is with `cafleet whoami`; once its screen shows it ready, nothing that
    # looks at the pane can take it for anything but the stand-in.
    director_start = shlex.join(answering_standin(sys.executable, "director"))
    _run(tmux + ["new-window", "-d", "-t", SESSION, "-n", "agents", *_pane_environment(), director_start])
    director_pane = _pane_location(tmux, f"{SESSION}:agents")
    _wait_until_ready(tmux, director_pane.tmux_pane_id)
    created = create_fleet(director_pane, label="demo: parser refactor", coding_agent=CodingAgent.STANDIN)
    fleet_id, director_id = created.fleet.id, created.director.id
    for name, description in MEMBERS:
        member = spawn_member(fleet_id, director_id, name, description, CodingAgent.STANDIN, prompt=DEMO_PROMPT).member
        configure(fleet_id, member.id, interval=30, enabled=True)
    configure(fleet_id, director_id, interval=60, enabled=True)

    state = DemoState(socket_name, SESSION, fleet_id, director_id, seat.tmux_socket, seat.tmux_pane_id)
    _seat_tui(state, respawn_args=["-k"])
    _run(
        state.tmux_args()
        + [
            "new-window",
            "-d",
            "-t",
            SESSION,
            "-n",
            "monitor",
            *_pane_environment(),
            f"{_cafleet(fleet_id)} monitor start --tick 2",
        ]
    )
    _show_seat(state)
    # The courier types the kick-off into each stand-in once its screen shows it ready.
    broadcast(fleet_id, director_id, KICKOFF)
    return state


def _pane_location(tmux: list[str], target: str):
    from cafleet.core.records import PaneLocation

    shown = _run(
        tmux + ["display-message", "-p", "-t", target, "#{socket_path}\t#{pid}\t#{session_name}\t#{window_id}\t#{pane_id}"]
    )
    fields = shown.stdout.strip().split("\t")
    return PaneLocation(fields[0], int(fields[1]), fields[2], fields[3], fields[4])


def _wait_until_ready(tmux: list[str], pane_id: str) -> None:
    deadline = time.monotonic() + STANDIN_READY_SECONDS
    while time.monotonic() < deadline:
        screen = _run(tmux + ["capture-pane", "-p", "-t", pane_id], check=False).stdout
        if "ready" in screen:
            return
        time.sleep(0.05)
    raise Refused(f"the demo's Director (a stand-in agent in pane {pane_id}) did not start within {STANDIN_READY_SECONDS:g}s")


def _cafleet(fleet_id: int) -> str:
    return shlex.join([sys.executable, "-m", "cafleet", "--fleet-id", str(fleet_id)])


def _seat_tui(state: DemoState, respawn_args: list[str]) -> None:
    """Run the TUI in the seat's pane. The pane stays (dead) when the TUI quits, showing what to
    do next, so `cafleet demo` can run it there again."""
    tmux = state.tmux_args()
    _run(tmux + ["set-option", "-p", "-t", state.seat_pane, "remain-on-exit", "on"])
    # tmux 3.3 and later: the dead pane's status line says the same (older: "Pane is dead").
    _run(tmux + ["set-option", "-p", "-t", state.seat_pane, "remain-on-exit-format", SEAT_DEAD_LINE], check=False)
    seat = shlex.join([sys.executable, "-m", "cafleet.demo.seat", str(state.fleet_id)])
    _run(tmux + ["respawn-pane", *respawn_args, "-t", state.seat_pane, *_pane_environment(), seat])


def _reopen_tui(state: DemoState) -> DemoState:
    """After Ctrl+Q the seat's pane is left dead: run the TUI in it again. A seat that was
    closed gets a new window."""
    shown = _run(state.tmux_args() + ["display-message", "-p", "-t", state.seat_pane, "#{pane_id} #{pane_dead}"], check=False)
    if shown.returncode == 0 and shown.stdout.split() == [state.seat_pane, "1"]:
        _seat_tui(state, respawn_args=[])
    elif shown.returncode != 0 or shown.stdout.split()[:1] != [state.seat_pane]:
        created = _run(
            state.tmux_args()
            + [
                "new-window",
                "-d",
                "-t",
                state.session,
                "-n",
                "you",
                "-P",
                "-F",
                "#{pane_id}",
                *_pane_environment(),
                "sleep 86400",
            ]
        )
        state = state._replace(seat_pane=created.stdout.strip())
        _seat_tui(state, respawn_args=["-k"])
        _save(state)
    return state


def _show_seat(state: DemoState) -> None:
    """Make the TUI what a client of the session sees, whole: its window current, its pane
    active, and zoomed if someone split that window (zoom is a toggle: set it only when off)."""
    tmux = state.tmux_args()
    _run(tmux + ["select-window", "-t", state.seat_pane])
    _run(tmux + ["select-pane", "-t", state.seat_pane])
    panes, zoomed = _run(
        tmux + ["display-message", "-p", "-t", state.seat_pane, "#{window_panes} #{window_zoomed_flag}"]
    ).stdout.split()
    if panes != "1" and zoomed != "1":
        _run(tmux + ["resize-pane", "-Z", "-t", state.seat_pane])


def stop() -> DemoState | None:
    """Delete the demo fleet and close its tmux session. Safe to repeat."""
    from cafleet.broker.fleets import delete_fleet
    from cafleet.core.errors import NotFound
    from cafleet.store.db import open_database

    state = load_state()
    if state is None:
        return None
    open_database()
    try:
        delete_fleet(state.fleet_id)
    except NotFound:
        pass
    _run(state.tmux_args() + ["kill-session", "-t", state.session], check=False)
    if state.socket_name:
        # The demo's own server ends with its last session; one that is still ending may yet
        # answer with no sessions, so either way it is killed and its socket file removed
        # (tmux leaves that file behind).
        left = _run(state.tmux_args() + ["list-sessions", "-F", "#{session_name}"], check=False)
        if left.returncode != 0 or not left.stdout.strip():
            _run(state.tmux_args() + ["kill-server"], check=False)
            Path(state.socket_path).unlink(missing_ok=True)
    state_file().unlink(missing_ok=True)
    return state


def _inside_same_server(state: DemoState) -> bool:
    return os.environ.get("TMUX", "").split(",")[0] == state.socket_path


def showing_here(state: DemoState) -> Showing:
    if _inside_same_server(state):
        return Showing.SWITCH
    return Showing.NESTED if os.environ.get("TMUX") else Showing.ATTACH


def leave(state: DemoState, showing: Showing) -> Leave:
    """How this terminal leaves the demo, with the prefix keys its tmux servers really use."""
    outer = _prefix(["tmux", "-S", os.environ.get("TMUX", "").split(",")[0]]) if showing is Showing.NESTED else ""
    return leave_keys(showing, _prefix(state.tmux_args()), outer)


def leave_keys(showing: Showing, prefix: str, outer_prefix: str = "") -> Leave:
    if showing is Showing.SWITCH:
        return Leave(f"{prefix} L", f"back to your session; {prefix} d would detach your client")
    if showing is Showing.NESTED:
        # Keys reach the user's own tmux first: the demo's prefix must be sent through it.
        keys = f"{outer_prefix} {prefix} d" if outer_prefix == prefix else f"{prefix} d"
        return Leave(keys, "detaches the demo's tmux inside yours")
    return Leave(f"{prefix} d", "detaches this terminal; the demo keeps running")


def _prefix(tmux: list[str]) -> str:
    shown = _run(tmux + ["show-options", "-gv", "prefix"], check=False)
    return shown.stdout.strip() if shown.returncode == 0 and shown.stdout.strip() else "C-b"


def set_leave_hint(state: DemoState, how: Leave) -> None:
    """What the TUI's pane says, once the TUI quits, about leaving the session."""
    _run(state.tmux_args() + ["set-option", "-t", state.session, LEAVE_OPTION, f"{how.keys}\t{how.effect}"], check=False)


def attach(state: DemoState, showing: Showing) -> bool:
    """Show the demo in this terminal: switch this tmux client to it (returns at once), or
    attach a client to it and return when that client detaches. False when there is no
    client to switch (print the hint)."""
    if showing is Showing.SWITCH:
        return _run(state.tmux_args() + ["switch-client", "-t", state.session], check=False).returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}  # nesting is deliberate
    subprocess.run(state.tmux_args() + ["attach-session", "-t", state.session], env=env)
    return True


def attach_hint(state: DemoState) -> str:
    """The command that shows the demo, for where it is printed (inside tmux or not)."""
    if _inside_same_server(state):
        return shlex.join(["tmux", "switch-client", "-t", state.session])
    command = shlex.join(state.tmux_args() + ["attach-session", "-t", state.session])
    return f"TMUX= {command}" if os.environ.get("TMUX") else command


def session_alive(state: DemoState) -> bool:
    return _run(state.tmux_args() + ["has-session", "-t", state.session], check=False).returncode == 0


def _save(state: DemoState) -> None:
    state_file().write_text(json.dumps(state._asdict()))


def _pane_environment() -> list[str]:
    return ["-e", f"CAFLEET_DATABASE_URL={database_setting()}"]


def _run(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise Refused(f"`{shlex.join(args)}` failed: {result.stderr.strip() or 'no reason given'}")
    return result
