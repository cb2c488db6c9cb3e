"""A worktree member's work as a diff: its commits against its base, or (u) what its worktree
holds uncommitted; its commits and files first, then the patch, coloured and scrollable. `M`
merges the branch from here, as from the agent detail."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from .diff_text import DiffPage, diff_page
from .diff_view import DiffView
from .human_inbox import FleetHeader
from .worker_errors import ReportsWorkerErrors
from .worktree_merge import MergesWorktree, WorktreeMerged


def full_diff_command(fleet_id: int, director_id: int, member_id: int, uncommitted: bool) -> str:
    """The CLI command that prints all of the diff."""
    return f"cafleet --fleet-id {fleet_id} member diff --agent-id {director_id} --member-id {member_id}" + (
        " --uncommitted" if uncommitted else ""
    )


class DiffLoaded(Message):
    def __init__(self, page: DiffPage | None, uncommitted: bool, refusal: str | None = None, keep_place: bool = False):
        super().__init__()
        self.page, self.uncommitted, self.refusal, self.keep_place = page, uncommitted, refusal, keep_place


class WorktreeDiffScreen(MergesWorktree, ReportsWorkerErrors, Screen):
    """Member `member_id`'s diff, read as its Director `director_id` reads it."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        # One key, two labels: the footer names the view that `u` switches to.
        Binding("u", "uncommitted", "Uncommitted"),
        Binding("u", "committed", "Committed"),
        Binding("n", "next_file", "Next file"),
        Binding("p", "previous_file", "Prev file"),
        Binding("r", "reload", "Reload"),
        Binding("M", "merge", "Merge"),
        Binding("ctrl+q", "app.quit", "Quit", show=False, priority=True),  # every key here fits in 80 columns
    ]

    def __init__(self, fleet_id: int, director_id: int, member_id: int, handle: str, uncommitted: bool = False):
        super().__init__()
        self.fleet_id, self.director_id, self.member_id, self.handle = fleet_id, director_id, member_id, handle
        self.uncommitted = uncommitted
        self.page: DiffPage | None = None
        self.refusal: str | None = None

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        yield Static(Text(f"{self.handle}: reading its diff…", style="dim"), id="diff-title")
        yield DiffView(id="diff")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"cafleet · fleet {self.fleet_id}"
        self.sub_title = f"diff of {self.handle}"
        self.query_one(DiffView).focus()
        self.load_diff(self.uncommitted)

    def merge_director(self) -> tuple[int, str] | None:
        return self.director_id, self.handle

    def on_worktree_merged(self, _: WorktreeMerged) -> None:
        self.load_diff(self.uncommitted, keep_place=True)

    # -- loading ---------------------------------------------------------------------------

    @work(thread=True, exit_on_error=False, exclusive=True, group="worktree-diff")
    def load_diff(self, uncommitted: bool, keep_place: bool = False) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.services.worktree_review import member_diff

        from .error_text import error_text

        try:
            diff = member_diff(self.fleet_id, self.director_id, self.member_id, uncommitted=uncommitted)
            page = diff_page(diff, full_diff_command(self.fleet_id, self.director_id, self.member_id, uncommitted))
        except CafleetError as exc:
            self.post_message(DiffLoaded(None, uncommitted, error_text(exc)))
            return
        if not get_current_worker().is_cancelled:  # the other view was asked for meanwhile
            self.post_message(DiffLoaded(page, uncommitted, keep_place=keep_place))

    @on(DiffLoaded)
    def _loaded(self, loaded: DiffLoaded) -> None:
        try:
            title, view = self.query_one("#diff-title", Static), self.query_one(DiffView)
        except NoMatches:  # closed while the worker ran
            return
        self.uncommitted, self.page, self.refusal = loaded.uncommitted, loaded.page, loaded.refusal
        if loaded.page is None:
            title.update(Text(f"✗ {loaded.refusal}", style="bold red"))
            view.show([], 0, [])
        else:
            title.update(loaded.page.title)
            view.show(loaded.page.lines, loaded.page.width, loaded.page.file_starts, keep_place=loaded.keep_place)
        self.refresh_bindings()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "uncommitted":
            return not self.uncommitted
        if action == "committed":
            return self.uncommitted
        return True

    def action_uncommitted(self) -> None:
        self.uncommitted = True
        self.refresh_bindings()
        self.load_diff(True)

    def action_committed(self) -> None:
        self.uncommitted = False
        self.refresh_bindings()
        self.load_diff(False)

    def action_next_file(self) -> None:
        self.query_one(DiffView).next_file()

    def action_previous_file(self) -> None:
        self.query_one(DiffView).previous_file()

    def action_reload(self) -> None:
        self.load_diff(self.uncommitted, keep_place=True)

    def action_back(self) -> None:
        self.dismiss()

    def system_commands(self):
        if self.uncommitted:
            yield SystemCommand("Committed work", "The member's commits against its base", self.action_committed)
        else:
            yield SystemCommand("Uncommitted changes", "What the member's worktree holds uncommitted", self.action_uncommitted)
        yield SystemCommand("Merge branch", "Merge the member's branch (shows what it brings first)", self.action_merge)
        yield SystemCommand("Reload diff", "Read the diff again", self.action_reload)
        yield SystemCommand("Back", "Back to the agent", self.action_back)
