"""The fleet's message timeline: newest at the bottom, paged, following new messages."""

from __future__ import annotations

from contextlib import suppress

from textual.geometry import Size
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.records import TaskRecord

from .render import day, day_separator, timeline_entry

OLDER = "load-older"


class TimelineView(OptionList):
    """One option per message (a broadcast once); day separators between days.

    Follows new messages while the view is scrolled to the bottom, and stays put when the
    user scrolled up to read.
    """

    class MessageSelected(Message):
        def __init__(self, task: TaskRecord):
            super().__init__()
            self.task = task

    class OlderWanted(Message):
        """The user asked for the page before the oldest message shown."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.tasks: dict[int, TaskRecord] = {}
        self.has_older = False
        # Whether the view sticks to the newest message: set by where the user scrolled, not
        # recomputed from the geometry, which a resize (a composer error line) changes.
        self.following = True
        self.unread_only = False  # show only messages nobody has acked yet
        self.cursor_wanted: int | None = None  # a message just sent, to put the cursor on once listed

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.following = new_value >= self.max_scroll_y

    def on_resize(self) -> None:
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False)

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        # Entries are measured when drawn: one that grew (an ack's time wrapping its header
        # at 80 columns) lengthens the list after any scroll to its end was made.
        if self.following and new.height > old.height:
            self.scroll_end(animate=False)  # deferred until the list is laid out anew

    def show_page(self, tasks: list[TaskRecord], has_older: bool) -> None:
        """Replace everything with `tasks` (oldest first)."""
        self.tasks = {t.id: t for t in tasks}
        self.has_older = has_older
        self._rebuild()
        self.jump_to_newest()

    def jump_to_newest(self) -> None:
        self.following = True
        self.call_after_refresh(self.scroll_end, animate=False)
        if self.option_count:
            self.highlighted = self.option_count - 1

    def follow(self, task_id: int) -> None:
        """Follow the newest messages again, the cursor on `task_id` (now, or once it is listed)."""
        self.cursor_wanted = task_id
        self._place_wanted_cursor()

    def _place_wanted_cursor(self) -> None:
        if self.cursor_wanted in self.tasks:  # listed (or known and hidden by the unread filter)
            with suppress(OptionDoesNotExist):
                self.highlighted = self.get_option_index(f"task-{self.cursor_wanted}")
            self.cursor_wanted = None
        # After the cursor moved (which scrolls only as far as its entry): the end is where to stay.
        self.following = True
        self.scroll_end(animate=False)

    def set_unread_only(self, unread_only: bool) -> None:
        self.unread_only = unread_only
        self._rebuild()
        self.jump_to_newest()

    def _shown(self, task: TaskRecord) -> bool:
        if not self.unread_only:
            return True
        if task.kind == TaskKind.BROADCAST_SUMMARY:
            return task.delivery_totals.unread > 0
        return task.state == TaskState.UNREAD

    def _rebuild(self) -> None:
        shown = [t for t in sorted(self.tasks.values(), key=lambda t: t.id) if self._shown(t)]
        self.set_options(self._entry_options(shown, leading_older=self.has_older))

    def prepend_older(self, tasks: list[TaskRecord], has_older: bool) -> None:
        self.tasks.update({t.id: t for t in tasks})
        self.has_older = has_older
        highlighted = self.highlighted_option.id if self.highlighted_option else None
        self._rebuild()
        if highlighted:
            self.highlighted = self.get_option_index(highlighted)

    def add_new(self, tasks: list[TaskRecord]) -> None:
        last = max((t for t in self.tasks.values() if self._shown(t)), key=lambda t: t.id, default=None)
        options = []
        for task in tasks:
            if task.id in self.tasks:
                continue
            if not self._shown(task):
                self.tasks[task.id] = task
                continue
            if last is None or day(last.created_at) != day(task.created_at):
                options.append(Option(day_separator(task.created_at), id=f"day-{day(task.created_at)}-{task.id}", disabled=True))
            options.append(Option(timeline_entry(task), id=f"task-{task.id}"))
            self.tasks[task.id] = task
            last = task
        if options:
            self.add_options(options)  # a following view scrolls as the list grows (watch_virtual_size)
        if self.cursor_wanted in self.tasks:
            self._place_wanted_cursor()

    def update_entries(self, tasks: list[TaskRecord]) -> None:
        """Re-render entries whose state (or whose deliveries' states) changed."""
        hidden_now = False
        for task in tasks:
            if task.id in self.tasks:
                self.tasks[task.id] = task
                if self._shown(task):
                    self.replace_option_prompt(f"task-{task.id}", timeline_entry(task))
                else:
                    hidden_now = True
        if hidden_now:  # an acked message leaves the unread-only view
            self._rebuild()

    def _entry_options(self, tasks: list[TaskRecord], leading_older: bool) -> list[Option]:
        options = []
        if leading_older:
            options.append(Option("  ↑ older messages — press Enter to load", id=OLDER))
        previous_day = None
        for task in tasks:
            if day(task.created_at) != previous_day:
                previous_day = day(task.created_at)
                options.append(Option(day_separator(task.created_at), id=f"day-{previous_day}-{task.id}", disabled=True))
            options.append(Option(timeline_entry(task), id=f"task-{task.id}"))
        return options

    def reveal(self, task_id: int) -> bool:
        """Put the cursor on `task_id`'s entry and stop following; False if it is not shown."""
        if self.unread_only and task_id in self.tasks and not self._shown(self.tasks[task_id]):
            self.set_unread_only(False)
        try:
            index = self.get_option_index(f"task-{task_id}")
        except OptionDoesNotExist:
            return False
        self.following = False
        self.cursor_wanted = None
        self.highlighted = index
        self.call_after_refresh(self.scroll_to_highlight, top=True)
        return True

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if option_id == OLDER:
            self.post_message(self.OlderWanted())
        elif option_id.startswith("task-"):
            self.post_message(self.MessageSelected(self.tasks[int(option_id[5:])]))

    @property
    def oldest_id(self) -> int | None:
        return min(self.tasks, default=None)

    @property
    def newest_id(self) -> int:
        return max(self.tasks, default=0)
