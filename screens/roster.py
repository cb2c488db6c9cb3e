"""The roster sidebar: active agents first, deregistered ones muted."""

from __future__ import annotations

from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from cafleet.broker.reads import RosterEntry
from cafleet.domain import AgentKind, AgentStatus

from .hosts import HostMark
from .render import roster_entry


class RosterView(OptionList):
    """One option per agent; Enter opens the agent's detail."""

    class AgentSelected(Message):
        def __init__(self, entry: RosterEntry):
            super().__init__()
            self.entry = entry

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.entries: dict[int, RosterEntry] = {}

    def show(
        self, entries: list[RosterEntry], panes: dict[int, str], states: dict | None = None,
        hosts: dict[int, HostMark] | None = None,
    ) -> None:
        """`states`: agent id -> `SeenState`, what the courier last saw in each pane; `hosts`:
        agent id -> where it runs (empty in a fleet on one machine)."""
        index = self.highlighted
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        self.entries = {e.agent.id: e for e in entries}
        states, hosts = states or {}, hosts or {}
        self.set_options(
            Option(
                roster_entry(e, panes.get(e.agent.id, "pane ?"), states.get(e.agent.id), hosts.get(e.agent.id)),
                id=f"agent-{e.agent.id}",
            )
            for e in entries
        )
        if not entries:
            return
        # The first entry when first shown; afterwards the user's choice, wherever it moved.
        if highlighted in {f"agent-{i}" for i in self.entries}:
            self.highlighted = self.get_option_index(highlighted)
        else:
            self.highlighted = min(index or 0, len(entries) - 1)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.AgentSelected(self.entries[int((event.option.id or "")[6:])]))

    def names(self) -> list[str]:
        """Names that can be messaged from the composer (active, not the Administrator)."""
        return [
            e.agent.name for e in self.entries.values()
            if e.agent.status == AgentStatus.ACTIVE and e.agent.kind != AgentKind.ADMINISTRATOR
        ]
