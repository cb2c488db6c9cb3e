"""The fleet view's side of search: open the search dialog, then bring the chosen message
into the timeline (loading older pages up to it) and put the cursor on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from .fleet_data import PAGE
from .message_modal import MessageModal
from .timeline import TimelineView

# Further back than this many pages the timeline would grow too long to stay quick: the
# message opens in its dialog instead.
MAX_PAGES_TO_JUMP = 20


class RangeLoaded(Message):
    """Older timeline entries down to `target` (or, when it is too far back, just the target)."""

    def __init__(self, target: int, tasks: list, has_older: bool, too_far):
        super().__init__()
        self.target, self.tasks, self.has_older, self.too_far = target, tasks, has_older, too_far


# For the type checker the mixin is the screen it is mixed into; at run time it adds only itself.
if TYPE_CHECKING:
    from textual.screen import Screen as _ScreenBase
    from textual.widget import AwaitMount
else:
    _ScreenBase = object


class SearchesTimeline(_ScreenBase):
    """Mixed into FleetViewScreen (which has `fleet_id` and `administrator_id`)."""

    if TYPE_CHECKING:
        fleet_id: int
        administrator_id: int | None

        def _open_task(self, task) -> None: ...

        def _hop(self, widget) -> None: ...

    def action_search(self, query: str = "") -> None:
        self.open_search(query)

    def open_search(self, query: str) -> AwaitMount | None:
        """Open the search with `query` in it; None while the fleet is still loading."""
        from .search import SearchScreen

        if self.administrator_id is None:
            return None
        return self.app.push_screen(SearchScreen(self.fleet_id, self.administrator_id, query), self._jump_to)

    def _jump_to(self, task_id: int | None) -> None:
        if task_id is None:
            return
        timeline = self.query_one(TimelineView)
        if task_id in timeline.tasks or (timeline.tasks and task_id > timeline.newest_id):
            self._reveal(task_id)
        else:
            self.load_down_to(task_id, timeline.oldest_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-older")
    def load_down_to(self, target: int, oldest_id: int | None) -> None:
        from cafleet.broker import reads
        from cafleet.broker.messages import load_task

        pages: list = []
        before = oldest_id
        for _ in range(MAX_PAGES_TO_JUMP):
            page = reads.timeline(self.fleet_id, before_id=before, limit=PAGE)
            pages = page + pages
            if not page or page[0].id <= target:
                self.post_message(RangeLoaded(target, pages, len(page) == PAGE and page[0].id > target, None))
                return
            before = page[0].id
        self.post_message(RangeLoaded(target, [], True, load_task(target)))

    # Named, not @on: Textual collects @on handlers only from message-pump classes, not mixins.
    def on_range_loaded(self, loaded: RangeLoaded) -> None:
        if loaded.too_far is not None:
            self.notify(f"#{loaded.target} is far back in the timeline; it is shown here.", timeout=5)
            self._open_task(loaded.too_far)
            return
        timeline = self.query_one(TimelineView)
        timeline.prepend_older(loaded.tasks, loaded.has_older)
        self._reveal(loaded.target)

    def _reveal(self, task_id: int) -> None:
        from textual.widgets import TabbedContent

        self.query_one(TabbedContent).active = "timeline-tab"
        timeline = self.query_one(TimelineView)
        self._hop(timeline)
        if not timeline.reveal(task_id):
            # Not loaded yet (it arrived a moment ago) or hidden by the unread filter.
            task = timeline.tasks.get(task_id)
            if task is not None:
                self.app.push_screen(MessageModal(task, can_ack=False, can_reply=False))
