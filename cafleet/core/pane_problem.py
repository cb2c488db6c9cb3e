"""Why nothing may be typed into an agent's pane, as `cafleet.panes.safety.target_problem`
finds it. The values are stored and printed as they are (`skipped:pane-gone`,
`pane=dead:pane-gone`, `… cannot be read (pane-gone)`)."""

from __future__ import annotations

from enum import StrEnum


class PaneProblem(StrEnum):
    NO_PLACEMENT = "no-placement"  # the agent has no pane on record
    # The pane lives on another machine: its socket path and pane id name some pane of this one.
    OTHER_HOST = "other-host"
    PENDING_PLACEMENT = "pending-placement"  # being spawned: its pane id is not recorded yet
    TMUX_SERVER_GONE = "tmux-server-gone"
    # Same socket, new server: pane ids restart at %0, so the recorded id may be someone else's pane.
    OTHER_TMUX_SERVER = "other-tmux-server"
    PANE_GONE = "pane-gone"
    PANE_SHOWS_CAFLEET_TUI = "pane-shows-cafleet-tui"  # the pane lives, and shows this TUI
