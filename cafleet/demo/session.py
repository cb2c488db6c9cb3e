"""`cafleet demo`: a live fleet with no coding agent installed.

A tmux session whose first pane is the Director running the TUI, three stand-in members
(planner, coder, reviewer) that read their notices, ack and answer, and the monitor in a
second window. The state (tmux socket, session, fleet) is kept in the database's local directory so
`cafleet demo --stop` can take it all down.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from cafleet.core.config import database_setting, local_directory
from cafleet.core.errors import NotInTmux, Refused

SESSION = "cafleet-demo"
MEMBERS = (
    ("planner", "Breaks the work into steps"),
    ("coder", "Implements the steps"),
    ("reviewer", "Reviews every change"),
)
KICKOFF = "Kickoff: we refactor the parser today. planner, please plan; everyone, report when done."


class DemoState(NamedTuple):
    socket_name: str | None
    session: str
    fleet_id: int
    director_id: int
    socket_path: str  # the demo's tmux server, wherever `--stop` or a reattach is run from
    director_pane: str  # the pane that shows the TUI

    def tmux_args(self) -> list[str]:
        return ["tmux", "-S", self.socket_path]


def state_file() -> Path:
    return local_directory() / "demo.json"


def load_state() -> DemoState | None:
    try:
        return DemoState(**json.loads(state_file().read_text()))
    except (OSError, ValueError, TypeError):
        return None


def start(socket_name: str | None = None) -> tuple[DemoState, bool]:
    """Bring the demo up, or find it running. Returns (state, reused)."""
    from cafleet.broker.guards import live_fleet
    from cafleet.store.db import open_database

    if shutil.which("tmux") is None:
        raise NotInTmux("`cafleet demo` needs tmux, which is not on PATH; install it (e.g. apt-get install tmux)")
    open_database()
    existing = load_state()
    if existing is not None and _session_alive(existing):
        try:
            live_fleet(existing.fleet_id)
            _reopen_tui(existing)
            return existing, True
        except Refused:
            pass
    if existing is not None:
        stop()
    tmux = ["tmux"] + (["-L", socket_name] if socket_name else [])
    if _run(tmux + ["has-session", "-t", SESSION], check=False).returncode == 0:
        raise Refused(f"a tmux session named {SESSION!r} exists but is not a cafleet demo; close it first")
    env = _pane_environment()
    _run(
        tmux
        + ["-f", "/dev/null", "new-session", "-d", "-s", SESSION, "-n", "fleet", "-x", "200", "-y", "50", *env, "sleep 86400"]
    )
    try:
        state = _populate(tmux, socket_name)
    except BaseException:
        _run(tmux + ["kill-session", "-t", SESSION], check=False)
        raise
    state_file().write_text(json.dumps(state._asdict()))
    return state, False


def _populate(tmux: list[str], socket_name: str | None) -> DemoState:
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.monitor import configure
    from cafleet.core.records import PaneLocation
    from cafleet.demo.responder import DEMO_PROMPT
    from cafleet.panes.members import spawn_member
    from cafleet.services.sending import broadcast

    fields = (
        _run(
            tmux
            + [
                "display-message",
                "-p",
                "-t",
                f"{SESSION}:fleet",
                "#{socket_path}\t#{pid}\t#{session_name}\t#{window_id}\t#{pane_id}",
            ]
        )
        .stdout.strip()
        .split("\t")
    )
    pane = PaneLocation(fields[0], int(fields[1]), fields[2], fields[3], fields[4])
    created = create_fleet(pane, label="demo: parser refactor", coding_agent="claude")
    fleet_id, director_id = created.fleet.id, created.director.id

    os.environ["PATH"] = f"{_stand_in_bin()}{os.pathsep}{os.environ.get('PATH', '')}"
    for name, description in MEMBERS:
        member = spawn_member(fleet_id, director_id, name, description, "claude", prompt=DEMO_PROMPT).member
        configure(fleet_id, member.id, interval=30, enabled=True)
    configure(fleet_id, director_id, interval=60, enabled=True)

    state = DemoState(socket_name, SESSION, fleet_id, director_id, pane.tmux_socket, pane.tmux_pane_id)
    tmux = state.tmux_args()
    # The TUI pane stays (dead) when the TUI quits, so `cafleet demo` can bring it back.
    _run(tmux + ["set-option", "-p", "-t", pane.tmux_pane_id, "remain-on-exit", "on"])
    _run(tmux + ["respawn-pane", "-k", "-t", pane.tmux_pane_id, *_pane_environment(), _tui_command(fleet_id)])
    _fit_tui_to_any_terminal(state)
    _run(
        tmux
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
    # The courier types the kick-off into each stand-in once its screen shows it ready.
    broadcast(fleet_id, director_id, KICKOFF)
    return state


def _cafleet(fleet_id: int) -> str:
    return shlex.join([sys.executable, "-m", "cafleet", "--fleet-id", str(fleet_id)])


def _tui_command(fleet_id: int) -> str:
    return f"{_cafleet(fleet_id)} ui"


def _fit_tui_to_any_terminal(state: DemoState) -> None:
    """The session is made detached at 200×50; a terminal that attaches shrinks it, and the
    members' panes would squeeze the TUI to a strip. Zoom the TUI pane to the whole window,
    again whenever a client attaches (the members stay a prefix-z away, and in the TUI)."""
    target = state.director_pane
    zoom = f"if-shell -F '#{{window_zoomed_flag}}' '' 'resize-pane -Z -t {target}'"
    _run(state.tmux_args() + ["select-window", "-t", f"{state.session}:fleet"])
    _run(state.tmux_args() + ["select-pane", "-t", target])
    _run(state.tmux_args() + ["resize-pane", "-Z", "-t", target])
    _run(state.tmux_args() + ["set-hook", "-t", state.session, "client-attached", zoom])


def _reopen_tui(state: DemoState) -> None:
    """After Ctrl+Q the TUI's pane is left dead; run the TUI in it again."""
    dead = _run(state.tmux_args() + ["display-message", "-p", "-t", state.director_pane, "#{pane_dead}"], check=False)
    if dead.returncode == 0 and dead.stdout.strip() == "1":
        _run(state.tmux_args() + ["respawn-pane", "-t", state.director_pane, *_pane_environment(), _tui_command(state.fleet_id)])
        _fit_tui_to_any_terminal(state)


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
    if state.socket_name and _run(state.tmux_args() + ["list-sessions"], check=False).returncode != 0:
        _run(state.tmux_args() + ["kill-server"], check=False)
    state_file().unlink(missing_ok=True)
    return state


def _inside_same_server(state: DemoState) -> bool:
    return os.environ.get("TMUX", "").split(",")[0] == state.socket_path


def attach(state: DemoState) -> bool:
    """Show the demo in this terminal: switch this tmux client to it, or replace this process
    with a client attached to it. False when there is no client to switch (print the hint)."""
    if _inside_same_server(state):
        return _run(state.tmux_args() + ["switch-client", "-t", state.session], check=False).returncode == 0
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}  # nesting is deliberate
    os.execvpe("tmux", state.tmux_args() + ["attach-session", "-t", state.session], env)
    return True


def attach_hint(state: DemoState) -> str:
    """The command that shows the demo, for where it is printed (inside tmux or not)."""
    if _inside_same_server(state):
        return shlex.join(["tmux", "switch-client", "-t", state.session])
    command = shlex.join(state.tmux_args() + ["attach-session", "-t", state.session])
    return f"TMUX= {command}" if os.environ.get("TMUX") else command


def _session_alive(state: DemoState) -> bool:
    return _run(state.tmux_args() + ["has-session", "-t", state.session], check=False).returncode == 0


def _stand_in_bin() -> Path:
    """A `claude` that is the stand-in agent in demo mode, so no real agent is ever started."""
    directory = local_directory() / "demo-bin"
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    script = directory / "claude"
    script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m cafleet.demo.standin_agent --demo "$@"\n')
    script.chmod(0o700)
    return directory


def _pane_environment() -> list[str]:
    return ["-e", f"CAFLEET_DATABASE_URL={database_setting()}"]


def _run(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise Refused(f"`{shlex.join(args)}` failed: {result.stderr.strip() or 'no reason given'}")
    return result
