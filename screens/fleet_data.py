"""What the fleet view's background workers compute, and the typed messages that carry it to
the screen. Nothing here touches a widget: workers run in threads and only post messages."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from textual.message import Message

from cafleet.core.pane_problem import PaneProblem

if TYPE_CHECKING:
    from cafleet.broker.agent_states import SeenState
    from cafleet.broker.hosts_view import FleetHosts
    from cafleet.broker.reads import FleetChanges, RosterEntry
    from cafleet.core.records import PlacementRecord
    from cafleet.panes.safety import PaneSurvey

PAGE = 500


class PaneLook(StrEnum):
    """What one `list-panes` says of a placed agent's pane."""

    PENDING = "pending"  # being spawned: no pane id recorded yet
    ALIVE = "alive"
    SHOWS_TUI = "tui"  # the pane lives and shows this TUI
    ON_OTHER_HOST = "other-host"  # not looked at from here
    LOST = "lost"  # gone for sure: its tmux server died or was replaced, or the pane was closed
    GONE = "gone"  # no tmux server answers here, and this process cannot tell whether one died


class PaneMark(NamedTuple):
    """A placed agent's pane as the roster marks it."""

    look: PaneLook
    host: str | None = None  # the pane's host, when it is another one
    lost: PaneProblem | None = None  # why, when the pane is lost


class Side(NamedTuple):
    """Everything around the timeline and the roster's entries: header, the pane marks (of the
    placed agents: a few, however many agents the fleet has), the human's inbox, the monitor."""

    label: str
    panes: dict[int, PaneMark]
    states: dict[int, Any]
    inbox: list | None  # None: unchanged since the last look
    monitor: Any
    hosts: FleetHosts


class FleetLoaded(Message):
    def __init__(self, administrator_id: int | None, page: list, revision: int, roster: list[RosterEntry], side: Side):
        super().__init__()
        self.administrator_id, self.page, self.revision, self.roster, self.side = administrator_id, page, revision, roster, side


class FleetRefreshed(Message):
    """New and changed messages and agents since the last look."""

    def __init__(self, changes: FleetChanges, side: Side):
        super().__init__()
        self.changes, self.side = changes, side


class HostsChecked(Message):
    """The hosts read again between refreshes: waiting notices get stuck as time passes."""

    def __init__(self, hosts: FleetHosts):
        super().__init__()
        self.hosts = hosts


class PanesChecked(Message):
    """The placed agents' panes looked at again between refreshes, and the states shown for them."""

    def __init__(self, panes: dict[int, PaneMark], states: dict[int, Any]):
        super().__init__()
        self.panes, self.states = panes, states


class OlderLoaded(Message):
    def __init__(self, tasks: list):
        super().__init__()
        self.tasks = tasks


class Delivered(Message):
    """The composer's message was stored as `task_id` (its timeline entry: a broadcast's
    summary), or refused (`error`)."""

    def __init__(self, task_id: int | None, error: str | None = None):
        super().__init__()
        self.task_id, self.error = task_id, error


class Acked(Message):
    def __init__(self, error: str | None):
        super().__init__()
        self.error = error


def side_data(fleet_id: int, administrator_id: int | None, placements: list[PlacementRecord], inbox: bool) -> Side:
    """`placements`: the fleet's (one per placed agent); `inbox`: read the Administrator's
    inbox (it moved, or nothing is shown yet)."""
    from cafleet.broker import reads
    from cafleet.broker.hosts_view import fleet_hosts
    from cafleet.broker.monitor import runtime
    from cafleet.services.courier_launcher import ensure_courier

    ensure_courier(always=True)  # the TUI keeps notices moving (and agent states fresh) while it runs
    inbox_tasks = None
    if inbox:
        inbox_tasks = reads.agent_inbox(administrator_id) if administrator_id else []
    panes = pane_states(placements)
    return Side(
        label=reads.fleet_label(fleet_id),
        panes=panes,
        states=shown_states(panes, reads.seen_states(fleet_id)),
        inbox=inbox_tasks,
        monitor=runtime(fleet_id),
        hosts=fleet_hosts(fleet_id),
    )


def pane_states(placements: list[PlacementRecord]) -> dict[int, PaneMark]:
    """A pane mark per placed agent, from one `list-panes` per tmux server."""
    from cafleet.panes.safety import PaneSurvey

    survey = PaneSurvey()
    return {placement.agent_id: _pane_mark(survey, placement) for placement in placements}


def shown_states(panes: dict[int, PaneMark], rows: dict[int, SeenState]) -> dict[int, SeenState]:
    """The states the roster shows: the courier's rows, corrected by what this TUI saw of the
    panes just now. The courier leaves with the last tmux server, so a pane seen lost is `lost`
    whatever its row says; a `lost` row of a pane seen alive or being spawned again is old."""
    from cafleet.broker.agent_states import SeenState
    from cafleet.core.agent_state import AgentState
    from cafleet.core.timestamps import utc_now

    shown = dict(rows)
    for agent_id, pane in panes.items():
        row = rows.get(agent_id)
        was_lost = row is not None and row.state is AgentState.LOST
        if pane.look is PaneLook.LOST and not was_lost:
            shown[agent_id] = SeenState(agent_id, AgentState.LOST, pane.lost or "", None, utc_now())
        elif was_lost and pane.look is PaneLook.PENDING:
            shown[agent_id] = SeenState(agent_id, AgentState.STARTING, PaneProblem.PENDING_PLACEMENT, None, utc_now())
        elif was_lost and pane.look in (PaneLook.ALIVE, PaneLook.SHOWS_TUI):
            del shown[agent_id]
    return shown


def _pane_mark(survey: PaneSurvey, placement: PlacementRecord) -> PaneMark:
    from cafleet.services.lost_servers import lost_because

    if placement.tmux_pane_id is None:
        return PaneMark(PaneLook.PENDING)
    problem, _ = survey.problem(placement)
    if problem is PaneProblem.OTHER_HOST:
        return PaneMark(PaneLook.ON_OTHER_HOST, placement.host)
    if problem is None:
        return PaneMark(PaneLook.ALIVE)
    if problem is PaneProblem.PANE_SHOWS_CAFLEET_TUI:
        return PaneMark(PaneLook.SHOWS_TUI)
    lost = lost_because(placement, problem)
    return PaneMark(PaneLook.LOST, lost=lost) if lost else PaneMark(PaneLook.GONE)
