"""A thin layer over libtmux for one tmux server, addressed by its socket path.

Every call goes through `Server.cmd` with explicit arguments: libtmux's convenience methods
drop text that starts with `-` and several were removed in 0.62.
"""

from __future__ import annotations

import os
import time
from typing import NamedTuple

from libtmux import Server

from cafleet.core.domain import TUI_PANE_OPTION
from cafleet.core.errors import Refused

_PANE_FORMAT = "\t".join(
    (
        "#{pane_id}",
        "#{pane_dead}",
        "#{pane_current_command}",
        "#{pane_in_mode}",
        "#{pane_pid}",
        "#{window_id}",
        "#{session_name}",
        "#{" + TUI_PANE_OPTION + "}",
    )
)


class PaneState(NamedTuple):
    pane_id: str
    dead: bool
    current_command: str
    in_mode: bool
    pid: int | None
    window_id: str
    session: str
    shows_cafleet_tui: bool


class TmuxError(Refused):
    """tmux refused a command (the message carries tmux's own words)."""


def split_arguments(window_id: str, command: str, environment: dict[str, str], cwd: str | None = None) -> list[str]:
    """What `Tmux.split` sends the tmux server (its size is what tmux's limit counts)."""
    env_args = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
    where = ["-c", cwd] if cwd is not None else []
    return ["split-window", "-d", "-h", "-t", window_id, "-P", "-F", "#{pane_id}", *where, *env_args, command]


def new_window_arguments(
    after_window: str, name: str, command: str, environment: dict[str, str], cwd: str | None = None
) -> list[str]:
    """What `Tmux.new_window` sends: a window placed right after `after_window`, in its session."""
    env_args = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
    where = ["-c", cwd] if cwd is not None else []
    fields = "#{window_id}\t#{pane_id}"
    return ["new-window", "-d", "-a", "-t", after_window, "-n", name, "-P", "-F", fields, *where, *env_args, command]


class Tmux:
    """One tmux server. `server_pid` is None when no server answers on the socket."""

    def __init__(self, socket_path: str):
        self.socket_path = socket_path
        self._server = Server(socket_path=socket_path)
        self._server_pid: int | None | bool = False

    def run(self, *args: str) -> list[str]:
        """Run a tmux command; its stdout lines, or `TmuxError` with tmux's message."""
        result = self._server.cmd(*args)
        if result.returncode != 0:
            raise TmuxError(
                f"tmux {args[0]} failed on {self.socket_path}: {' '.join(result.stderr).strip() or 'no reason given'}"
            )
        return result.stdout

    def forget_server(self) -> None:
        """Ask tmux again next time (a long-running loop outlives servers)."""
        self._server_pid = False

    @property
    def server_pid(self) -> int | None:
        if self._server_pid is False:
            if not os.path.exists(self.socket_path):
                self._server_pid = None
            else:
                result = self._server.cmd("display-message", "-p", "#{pid}")
                out = result.stdout[0] if result.returncode == 0 and result.stdout else ""
                self._server_pid = int(out) if out.isdigit() else None
        return self._server_pid

    def panes(self) -> dict[str, PaneState]:
        """Every pane of the server in one tmux call (cheap enough for every monitor tick)."""
        if self.server_pid is None:
            return {}
        try:
            lines = self.run("list-panes", "-a", "-F", _PANE_FORMAT)
        except TmuxError:
            return {}
        states = {}
        for line in lines:
            fields = line.split("\t")
            if len(fields) != 8:
                continue
            pane_id, dead, command, in_mode, pid, window, session, tui = fields
            states[pane_id] = PaneState(
                pane_id=pane_id,
                dead=dead == "1",
                current_command=command,
                in_mode=in_mode == "1",
                pid=int(pid) if pid.isdigit() else None,
                window_id=window,
                session=session,
                shows_cafleet_tui=bool(tui),
            )
        return states

    def pane(self, pane_id: str) -> PaneState | None:
        return self.panes().get(pane_id)

    def split(self, window_id: str, command: str, environment: dict[str, str], cwd: str | None = None) -> str:
        """Split `window_id` without focusing the new pane; run `command` in it (in `cwd`, else
        in the directory of the process asking); its pane id."""
        return self.run(*split_arguments(window_id, command, environment, cwd))[0].strip()

    def new_window(
        self, after_window: str, name: str, command: str, environment: dict[str, str], cwd: str | None = None
    ) -> tuple[str, str]:
        """A new window right after `after_window` (not focused) running `command`: its window
        and pane ids."""
        out = self.run(*new_window_arguments(after_window, name, command, environment, cwd))[0].strip()
        window_id, _, pane_id = out.partition("\t")
        return window_id, pane_id

    def pane_paths(self) -> dict[str, str]:
        """The working directory of each live pane's foreground program, by pane id."""
        if self.server_pid is None:
            return {}
        try:
            lines = self.run("list-panes", "-a", "-F", "#{pane_id}\t#{pane_dead}\t#{pane_current_path}")
        except TmuxError:
            return {}
        paths = {}
        for line in lines:
            pane_id, dead, path = (line.split("\t", 2) + ["", ""])[:3]
            if dead != "1" and path:
                paths[pane_id] = path
        return paths

    def panes_started_with(self, marker: str) -> list[str]:
        """Ids of the panes whose start command begins with `marker` (after any quoting tmux adds)."""
        if self.server_pid is None:
            return []
        # Only the start's first characters: the rest (a prompt) may hold tabs and newlines.
        lines = self.run("list-panes", "-a", "-F", "#{pane_id}\t#{=" + str(len(marker) + 24) + ":pane_start_command}")
        return [line.split("\t", 1)[0] for line in lines if marker in line.partition("\t")[2]]

    def select_layout(self, window_id: str, layout: str = "main-vertical") -> None:
        self.run("select-layout", "-t", window_id, layout)

    def kill_pane(self, pane_id: str) -> None:
        self.run("kill-pane", "-t", pane_id)

    def capture(self, pane_id: str, history_lines: int, ansi: bool = False) -> list[str]:
        args = ["capture-pane", "-p", "-J", "-t", pane_id, "-S", f"-{history_lines}"]
        if ansi:
            args.append("-e")
        return self.run(*args)

    def leave_mode(self, pane_id: str) -> None:
        """Take the pane out of copy mode so keystrokes reach the program, not the scroller."""
        self.run("send-keys", "-t", pane_id, "-X", "cancel")

    def press_key(self, pane_id: str, guard: str, key: str = "Enter") -> bool:
        """Press one key (a tmux key name: Enter, Tab, Right, 2) if `guard` holds."""
        return self.guarded(pane_id, guard, f"send-keys -t {pane_id} {key}")

    def guarded(self, pane_id: str, guard: str, command: str, otherwise: str = "") -> bool:
        """Run `command` only if the format `guard` is true for the pane, decided inside the
        tmux server at that instant (so nothing can replace the program between check and
        keystroke). True when it ran."""
        refused = f"{otherwise} ; display-message -p refused" if otherwise else "display-message -p refused"
        out = self.run("if-shell", "-F", "-t", pane_id, guard, f"{command} ; display-message -p typed", refused)
        return "typed" in out

    def paste(self, pane_id: str, text: str, guard: str, bracketed: bool = True) -> bool:
        """Paste `text` if `guard` holds; True when it was pasted. Bracketed, an embedded
        newline does not submit it; plain, it arrives as if typed (no quoting needed)."""
        buffer = f"cafleet-{os.getpid()}-{time.monotonic_ns()}"
        self.run("set-buffer", "-b", buffer, "--", text)
        flags = "-p -d" if bracketed else "-d"
        return self.guarded(
            pane_id,
            guard,
            f"paste-buffer {flags} -b {buffer} -t {pane_id}",
            otherwise=f"delete-buffer -b {buffer}",
        )
