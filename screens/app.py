"""The cafleet Textual app: `cafleet ui [--fleet-id N]` and bare `cafleet` on a terminal."""

from __future__ import annotations

import os

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.reactive import var
from textual.worker import get_current_worker

# libtmux reads sys.stdout.encoding when first imported; inside a running app stdout is
# Textual's capture object, which has none. Import it before the app starts.
import cafleet.panes.tmux  # noqa: E402,F401
from cafleet import styles_dir
from cafleet.core.domain import TUI_PANE_OPTION

from .fleet_picker import FleetPickerScreen
from .human_inbox import HumanInboxCounted
from .live import DataChanged, watch
from .worker_errors import ReportsWorkerErrors


class CafleetApp(ReportsWorkerErrors, App):
    """Watches the database for changes and forwards them to the active screen."""

    TITLE = "cafleet"
    CSS_PATH = os.path.join(styles_dir(), "app.tcss")
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+o", "open_human_inbox", "Inbox", show=False),
    ]

    unread_for_the_human: var[dict[int, int]] = var(dict)
    """Per fleet, unread messages to its Administrator: every screen's header shows them."""

    def __init__(self, fleet_id: int | None = None, watch_changes: bool = True):
        super().__init__()
        self.initial_fleet_id = fleet_id
        self.watch_changes = watch_changes

    def on_mount(self) -> None:
        self.push_screen(FleetPickerScreen())
        if self.initial_fleet_id is not None:
            from .fleet_view import FleetViewScreen

            self.push_screen(FleetViewScreen(self.initial_fleet_id))
        self.count_human_inbox()
        if self.watch_changes:
            self.watch_database()

    @work(thread=True, exit_on_error=False, exclusive=True, group="watch")
    def watch_database(self) -> None:
        worker = get_current_worker()
        # post_message is thread-safe and never blocks, so the watcher cannot stall shutdown.
        watch(lambda: worker.is_cancelled, lambda: self.screen.post_message(DataChanged()))

    def on_data_changed(self, _: DataChanged) -> None:
        # Posted to the active screen, it bubbles up here: the badge follows every change.
        self.count_human_inbox()

    @work(thread=True, exit_on_error=False, exclusive=True, group="human-inbox")
    def count_human_inbox(self) -> None:
        from cafleet.broker.reads import unread_for_the_human

        self.post_message(HumanInboxCounted(unread_for_the_human()))

    def on_human_inbox_counted(self, counted: HumanInboxCounted) -> None:
        self.unread_for_the_human = counted.counts

    async def action_open_human_inbox(self) -> None:
        """The fleet view's inbox: of this screen's fleet if it has unread messages for the
        human (or no other fleet has), else of the first fleet that has."""
        from .fleet_view import FleetViewScreen

        counts = self.unread_for_the_human
        here = getattr(self.screen, "fleet_id", None)
        waiting = [fleet for fleet in sorted(counts) if counts[fleet]]
        fleet_id = here if here is not None and (counts.get(here) or not waiting) else (waiting[0] if waiting else None)
        if fleet_id is None:
            self.notify("No message waits for you.")
            return
        views = [s for s in self.screen_stack if isinstance(s, FleetViewScreen) and s.fleet_id == fleet_id]
        if views:
            while self.screen is not views[-1]:
                self.pop_screen()
            views[-1].action_inbox()
        else:
            view = FleetViewScreen(fleet_id)
            await self.push_screen(view)
            view.action_inbox()

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
