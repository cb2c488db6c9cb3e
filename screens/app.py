"""The cafleet Textual app: `cafleet ui [--fleet-id N]` and bare `cafleet` on a terminal."""

from __future__ import annotations

import os

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.worker import get_current_worker

# libtmux reads sys.stdout.encoding when first imported; inside a running app stdout is
# Textual's capture object, which has none. Import it before the app starts.
import cafleet.panes.tmux  # noqa: E402,F401
from cafleet import styles_dir
from cafleet.core.domain import TUI_PANE_OPTION

from .fleet_picker import FleetPickerScreen
from .live import DataChanged, watch
from .worker_errors import ReportsWorkerErrors


class CafleetApp(ReportsWorkerErrors, App):
    """Watches the database for changes and forwards them to the active screen."""

    TITLE = "cafleet"
    CSS_PATH = os.path.join(styles_dir(), "app.tcss")
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", priority=True)]

    def __init__(self, fleet_id: int | None = None, watch_changes: bool = True):
        super().__init__()
        self.initial_fleet_id = fleet_id
        self.watch_changes = watch_changes

    def on_mount(self) -> None:
        self.push_screen(FleetPickerScreen())
        if self.initial_fleet_id is not None:
            from .fleet_view import FleetViewScreen

            self.push_screen(FleetViewScreen(self.initial_fleet_id))
        if self.watch_changes:
            self.watch_database()

    @work(thread=True, exit_on_error=False, exclusive=True, group="watch")
    def watch_database(self) -> None:
        worker = get_current_worker()
        # post_message is thread-safe and never blocks, so the watcher cannot stall shutdown.
        watch(lambda: worker.is_cancelled, lambda: self.screen.post_message(DataChanged()))

    def format_title(self, title: str, sub_title: str) -> Content:
        # The separator trails the title: a run of text that opens with spaces loses them in
        # SVG viewers, and the title would read glued to the monitor state.
        if not sub_title:
            return Content(title)
        return Content.assemble(f"{title} ", ("— ", "dim"), Content(sub_title).stylize("dim"))

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield from getattr(screen, "system_commands", lambda: [])()


def mark_pane(showing: bool) -> None:
    """Tell cafleet's typists that this pane shows the TUI, so no notice is typed into it."""
    pane = os.environ.get("TMUX_PANE")
    if not pane or not os.environ.get("TMUX"):
        return
    import subprocess

    args = (
        ["tmux", "set-option", "-p", "-t", pane, TUI_PANE_OPTION, "1"]
        if showing
        else [
            "tmux",
            "set-option",
            "-p",
            "-u",
            "-t",
            pane,
            TUI_PANE_OPTION,
        ]
    )
    subprocess.run(args, capture_output=True, timeout=5)


def build_app(fleet_id: int | None = None, watch_changes: bool = True) -> CafleetApp:
    """The app for `cafleet ui` and for tests (which may turn the live watcher off)."""
    return CafleetApp(fleet_id=fleet_id, watch_changes=watch_changes)
