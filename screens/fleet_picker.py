"""The first screen: every fleet that is not deleted. Enter opens one."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from cafleet.core.terminal import one_line

from .human_inbox import FleetHeader
from .live import DataChanged
from .render import clock, day, indented
from .worker_errors import ReportsWorkerErrors

EMPTY_HELP = Text.assemble(
    "No fleets yet.\n\nA fleet is created from the tmux pane of its Director:\n\n",
    indented(Text("cafleet fleet create --label my-project", style="bold")),
    "\n\nRun it inside tmux; the fleet appears here at once.",
)


COLUMNS = ("Fleet", "Label", "Agents", "Unread", "Created (UTC)")


class FleetsLoaded(Message):
    """The fleet list, read by the load worker."""

    def __init__(self, fleets: list) -> None:
        super().__init__()
        self.fleets = fleets


class FleetPickerScreen(ReportsWorkerErrors, Screen):
    """Fleets with their label, active agents, unread messages and creation time."""

    BINDINGS = [Binding("enter", "open", "Open fleet", priority=True)]

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        yield DataTable(id="fleets", cursor_type="row", zebra_stripes=True)
        yield Static(EMPTY_HELP, id="empty-fleets")
        yield Footer()

    def on_mount(self) -> None:
        self.shown: list | None = None
        self.loaded = False
        self.sub_title = "fleets"
        self.query_one("#empty-fleets").display = False
        self.load()

    def on_screen_resume(self) -> None:
        self.load()

    @on(DataChanged)
    def reload(self) -> None:
        self.load()

    @work(thread=True, exit_on_error=False, exclusive=True, group="load")
    def load(self) -> None:
        from cafleet.broker.fleets import list_fleets

        self.post_message(FleetsLoaded(list_fleets()))

    @on(FleetsLoaded)
    def show(self, event: FleetsLoaded) -> None:
        fleets = event.fleets
        if fleets == self.shown:
            # Resume and a data change often arrive together: rebuilding an identical table
            # only makes it flicker.
            return
        self.shown = fleets
        self.loaded = True
        rows = [
            (
                str(fleet.id),
                one_line(fleet.label) or "—",
                str(fleet.active_agents),
                str(fleet.unread),
                f"{day(fleet.created_at)} {clock(fleet.created_at)}",
            )
            for fleet in fleets
        ]
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        # Columns get widths measured here: DataTable measures auto-width columns on idle
        # but keeps rows it rendered before that, cut to the header's width.
        table.clear(columns=True)
        for index, header in enumerate(COLUMNS):
            table.add_column(header, width=max(cell_len(text) for text in [header, *(row[index] for row in rows)]))
        for fleet, row in zip(fleets, rows, strict=True):
            table.add_row(*row, key=str(fleet.id))
        table.display = bool(fleets)
        self.query_one("#empty-fleets").display = not fleets
        if fleets:
            table.move_cursor(row=min(cursor, len(fleets) - 1))
            table.focus()
        self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        # No "Open fleet" in the footer while there is none to open.
        return self.query_one(DataTable).row_count > 0 if action == "open" else True

    @on(DataTable.RowSelected)
    def open_selected(self, event: DataTable.RowSelected) -> None:
        self.open_fleet(int(event.row_key.value or 0))

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            self.open_fleet(int(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or 0))

    def open_fleet(self, fleet_id: int) -> None:
        from .fleet_view import FleetViewScreen

        self.app.push_screen(FleetViewScreen(fleet_id))

    def system_commands(self):
        if self.query_one(DataTable).row_count:  # as in the footer: none while there is none to open
            yield SystemCommand("Open fleet", "Open the highlighted fleet", self.action_open)
