"""A fleet whose Director's or members' panes are gone, and how `doctor` and the TUI say so.

Their conversations are not gone: `cafleet fleet restore N` starts each lost agent again in a
new pane with its saved session, and moves the Director's placement to the pane it runs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from cafleet.core.domain import AgentKind
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.terminal import one_line

NAMES_SHOWN = 5  # lost members named in a line; the rest are counted


class PlacedAgent(NamedTuple):
    """A Director or member with a pane on this host, as a loss report sees it."""

    agent_id: int
    name: str
    kind: str
    tmux_socket: str
    lost: PaneProblem | None  # why its pane is gone for sure; None while it lives or cannot be seen

    @property
    def handle(self) -> str:
        return f"{self.name}#{self.agent_id}"


class FleetLoss(NamedTuple):
    """Whose panes of one fleet are gone, and the words for it."""

    fleet_id: int
    members: int  # its members with a pane (not being spawned) on this host
    lost_members: tuple[PlacedAgent, ...]
    director: PlacedAgent | None  # the Director, when its pane is gone too

    @property
    def lost(self) -> tuple[PlacedAgent, ...]:
        return ((self.director,) if self.director else ()) + self.lost_members

    @property
    def restore_command(self) -> str:
        return f"cafleet fleet restore {self.fleet_id}"

    def what(self) -> str:
        """`all 4 members' panes are gone`, `the Director's pane and 2 of 4 members' panes are
        gone: coder#5, tests#6`, `member coder#5's pane is gone`."""
        lost, members = len(self.lost_members), self.members
        if lost == 0:
            whose = ""
        elif lost == members == 1:
            whose = f"member {self.lost_members[0].handle}'s pane"
        elif lost == members:
            whose = f"all {members} members' panes"
        else:
            whose = f"{lost} of {members} members' panes"
        if self.director is not None:
            whose = "the Director's pane" + (f" and {whose}" if whose else "")
        verb = "is" if len(self.lost) == 1 else "are"
        named = ""
        if 0 < lost < members:
            handles = [agent.handle for agent in self.lost_members[:NAMES_SHOWN]]
            more = f" and {lost - NAMES_SHOWN} more" if lost > NAMES_SHOWN else ""
            named = f": {', '.join(handles)}{more}"
        return f"{whose} {verb} gone{named}"

    def why(self, sockets: bool = True) -> str:
        """`tmux server /tmp/tmux-0/default is not running`, `pane closed`, … (each cause once;
        without `sockets`, servers go unnamed)."""
        closed = sum(1 for agent in self.lost if agent.lost is PaneProblem.PANE_GONE)
        causes: dict[str, None] = {}  # in order, each once
        for agent in self.lost:
            server = f"tmux server {one_line(agent.tmux_socket)}" if sockets else "tmux server"
            if agent.lost is PaneProblem.TMUX_SERVER_GONE:
                causes[f"{server} is not running"] = None
            elif agent.lost is PaneProblem.OTHER_TMUX_SERVER:
                causes[f"{server} was restarted"] = None
            else:
                causes["pane closed" if closed == 1 else "panes closed"] = None
        return "; ".join(causes)

    def fix(self) -> str:
        """What brings them back (from the Director's new pane, when its own is gone)."""
        them = "it" if len(self.lost) == 1 else "them"
        where = " (run in the Director's new pane)" if self.director is not None else ""
        return f"bring {them} back with: {self.restore_command}{where}"


def fleet_loss(fleet_id: int, agents: Iterable[PlacedAgent]) -> FleetLoss | None:
    """What of the fleet's Director and members (`agents`: those with a pane on this host) is
    lost; None when nothing is."""
    placed = sorted(agents, key=lambda agent: agent.agent_id)
    members = [agent for agent in placed if agent.kind == AgentKind.MEMBER]
    director = next((a for a in placed if a.kind == AgentKind.DIRECTOR and a.lost is not None), None)
    lost_members = tuple(agent for agent in members if agent.lost is not None)
    if not lost_members and director is None:
        return None
    return FleetLoss(fleet_id, len(members), lost_members, director)
