"""What the fleet view's background workers compute, and the typed messages that carry it to
the screen. Nothing here touches a widget: workers run in threads and only post messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from textual.message import Message

if TYPE_CHECKING:
    from cafleet.broker.hosts_view import FleetHosts

PAGE = 500


class Side(NamedTuple):
    """Everything around the timeline: header, roster, the human's inbox, the monitor."""

    label: str
    roster: list
    panes: dict[int, str]
    states: dict[int, Any]
    inbox: list
    monitor: Any
    hosts: FleetHosts


class FleetLoaded(Message):
    def __init__(self, administrator_id: int | None, page: list, changed_since: str, side: Side):
        super().__init__()
        self.administrator_id, self.page, self.changed_since, self.side = administrator_id, page, changed_since, side


class FleetRefreshed(Message):
    """New and changed messages since the last look (or a whole page when there was none)."""

    def __init__(self, changes, page: list | None, side: Side):
        super().__init__()
        self.changes, self.page, self.side = changes, page, side


class HostsChecked(Message):
    """The hosts read again between refreshes: waiting notices get stuck as time passes."""

    def __init__(self, hosts: FleetHosts):
        super().__init__()
        self.hosts = hosts


class OlderLoaded(Message):
    def __init__(self, tasks: list):
        super().__init__()
        self.tasks = tasks


class Delivered(Message):
    """The composer's message was stored (`error` is None) or refused."""

    def __init__(self, error: str | None):
        super().__init__()
        self.error = error


class Acked(Message):
    def __init__(self, error: str | None):
        super().__init__()
        self.error = error


def side_data(fleet_id: int, administrator_id: int | None) -> Side:
    from cafleet.broker import reads
    from cafleet.broker.agent_states import seen_states
    from cafleet.broker.hosts_view import fleet_hosts
    from cafleet.broker.monitor import runtime
    from cafleet.notify import ensure_courier

    ensure_courier(always=True)  # the TUI keeps notices moving (and agent states fresh) while it runs
    roster = reads.roster(fleet_id)
    return Side(
        label=reads.fleet_label(fleet_id),
        roster=roster,
        panes=pane_states(roster),
        states=seen_states([e.agent.id for e in roster]),
        inbox=reads.agent_inbox(administrator_id) if administrator_id else [],
        monitor=runtime(fleet_id),
        hosts=fleet_hosts(fleet_id),
    )


def pane_states(roster) -> dict[int, str]:
    """A short pane label per agent, from one `list-panes` per tmux server."""
    from cafleet.panes.safety import OTHER_HOST, PaneSurvey

    survey = PaneSurvey()
    labels = {}
    for entry in roster:
        placement = entry.agent.placement
        if placement is None:
            continue
        if placement.tmux_pane_id is None:
            labels[entry.agent.id] = "pending"
            continue
        problem, _ = survey.problem(placement)
        if problem == OTHER_HOST:
            labels[entry.agent.id] = f"{placement.tmux_pane_id} @{placement.host}"
        elif problem is None:
            labels[entry.agent.id] = f"{placement.tmux_pane_id} ●"
        elif problem == "pane-shows-cafleet-tui":
            labels[entry.agent.id] = f"{placement.tmux_pane_id} tui"
        else:
            labels[entry.agent.id] = "✗ gone"
    return labels
