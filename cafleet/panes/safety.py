"""Whether a placement's pane still exists where we recorded it, and what text may be typed.

Which program runs in the pane, and what it shows, is `cafleet.panes.observe`'s question."""

from __future__ import annotations

import re

from cafleet.core.hosts import is_this_host
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import PlacementRecord
from cafleet.panes.tmux import PaneState, Tmux

# ESC, the other C0 controls, DEL and the C1 controls. Newlines are handled before this.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TRAILING_MENTION = re.compile(r"@\S*\s*$")


def clean(text: str) -> str:
    """Text safe to type: tabs become spaces, every other control character is removed."""
    return _CONTROL.sub("", text.replace("\t", " "))


def newlines_as_symbol(text: str) -> str:
    """Newlines shown as ⏎ so the text stays one input line (a typed newline would submit it)."""
    return text.replace("\r\n", "⏎").replace("\n", "⏎").replace("\r", "⏎")


def inert_bangs(text: str) -> str:
    """`!` shown as `！` (fullwidth): with bracketed paste off, opencode takes a typed `!` as
    its shell-mode key even in the middle of a line, and the next Enter would run the rest
    of the line as a shell command. A notice is a preview; the message keeps its `!`."""
    return text.replace("!", "！")


def safe_ending(text: str) -> str:
    """Never end typed text with an @word: the agent's completion pop-up would eat the Enter."""
    return text + " ·" if _TRAILING_MENTION.search(text) else text


def pane_is_alive(problem: PaneProblem | None) -> bool:
    """True when `target_problem`'s answer still means a live pane (one we must not type into,
    perhaps, but one that exists and can be read, killed or split)."""
    return problem is None or problem == PaneProblem.PANE_SHOWS_CAFLEET_TUI


def target_problem(placement: PlacementRecord | None, tmux: Tmux | None, state: PaneState | None) -> PaneProblem | None:
    """Why nothing may be typed into this agent's pane; None when it is safe."""
    if placement is None:
        return PaneProblem.NO_PLACEMENT
    if not is_this_host(placement.host):
        return PaneProblem.OTHER_HOST
    if placement.tmux_pane_id is None:
        return PaneProblem.PENDING_PLACEMENT
    if tmux is None or tmux.server_pid is None:
        return PaneProblem.TMUX_SERVER_GONE
    if placement.tmux_server_pid is not None and tmux.server_pid != placement.tmux_server_pid:
        return PaneProblem.OTHER_TMUX_SERVER
    if state is None or state.dead:
        return PaneProblem.PANE_GONE
    if state.shows_cafleet_tui:
        return PaneProblem.PANE_SHOWS_CAFLEET_TUI
    return None


class PaneSurvey:
    """Pane problems for many placements at one `list-panes -a` per tmux server."""

    def __init__(self):
        self._servers: dict[str, Tmux] = {}
        self._panes: dict[str, dict[str, PaneState]] = {}

    def server(self, socket: str) -> Tmux:
        return self._servers.setdefault(socket, Tmux(socket))

    def problem(self, placement: PlacementRecord | None) -> tuple[PaneProblem | None, PaneState | None]:
        """`target_problem` for this placement, and the pane's state when it exists."""
        if placement is None or placement.tmux_pane_id is None or not is_this_host(placement.host):
            return target_problem(placement, None, None), None
        socket = placement.tmux_socket
        tmux = self._servers.setdefault(socket, Tmux(socket))
        if socket not in self._panes:
            self._panes[socket] = tmux.panes()
        state = self._panes[socket].get(placement.tmux_pane_id)
        return target_problem(placement, tmux, state), state
