"""Which tmux pane is running this process, asked of tmux itself (one cheap `tmux` call, no libtmux)."""

from __future__ import annotations

import os

from cafleet.core.errors import NotInTmux
from cafleet.core.records import EnvPane, PaneLocation

_FIELDS = ("#{socket_path}", "#{pid}", "#{session_name}", "#{window_id}", "#{pane_id}")


def in_tmux() -> bool:
    return bool(os.environ.get("TMUX")) and bool(os.environ.get("TMUX_PANE"))


def pane_from_env() -> EnvPane | None:
    """The caller's pane from `$TMUX` (`socket,server pid,session`) and `$TMUX_PANE`.

    Costs no tmux call, so it also works inside a sandbox that may not reach the server.
    """
    if not in_tmux():
        return None
    socket, _, rest = os.environ["TMUX"].partition(",")
    pid = rest.partition(",")[0]
    return EnvPane(socket, int(pid) if pid.isascii() and pid.isdigit() else None, os.environ["TMUX_PANE"])


def calling_pane(command: str) -> PaneLocation:
    """The caller's pane, or `NotInTmux` explaining that `command` must run inside tmux."""
    import shutil
    import subprocess  # only here: every agent call reads $TMUX via pane_from_env, cheaply

    if not in_tmux():
        raise NotInTmux(f"`cafleet {command}` must run inside a tmux pane (TMUX and TMUX_PANE are not set); start tmux first")
    if shutil.which("tmux") is None:
        raise NotInTmux(f"`cafleet {command}` needs the tmux command, which is not on PATH; install tmux")
    pane = os.environ["TMUX_PANE"]
    result = subprocess.run(
        ["tmux", "display-message", "-p", "-t", pane, "\t".join(_FIELDS)],
        capture_output=True,
        text=True,
        timeout=10,
    )
    fields = result.stdout.rstrip("\n").split("\t")
    if result.returncode != 0 or len(fields) != len(_FIELDS) or not fields[4]:
        reason = result.stderr.strip() or "no answer"
        raise NotInTmux(
            f"tmux could not describe the calling pane {pane} ({reason}); run `cafleet {command}` from a live tmux pane"
        )
    socket, pid, session, window, pane_id = fields
    return PaneLocation(
        tmux_socket=socket,
        tmux_server_pid=int(pid) if pid.isdigit() else None,
        tmux_session=session,
        tmux_window_id=window,
        tmux_pane_id=pane_id,
    )
