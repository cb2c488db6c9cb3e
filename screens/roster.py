"""The roster sidebar: active agents first, deregistered ones muted.

An OptionList on the outside (same looks, keys and messages), virtual on the inside: a fleet
may hold 100,000 agents, so an entry is rendered only when it is drawn (a bounded cache keeps
the recent ones), heights come from `RosterLayout`, and a change redraws only the entries it
touched. Entries are measured exactly when they come on screen; the others count the lines
they would have if none wrapped (`roster_height`), which is exact unless a line is wider than
the roster (a very long name). A fleet of up to `MEASURE_ALL_UP_TO` agents is measured whole,
so its scrollbar is exact as well.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from textual.cache import LRUCache
from textual.css.styles import RulesMap
from textual.geometry import Region, Size, clamp
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from cafleet.broker.reads import RosterChanges, RosterCursor, RosterEntry
from cafleet.core.domain import AgentKind, AgentStatus

from .render import roster_entry, roster_height
from .roster_layout import RosterLayout

if TYPE_CHECKING:
    from .fleet_data import PaneMark
    from .hosts import HostMark
    from .usage_marks import UsageMark
    from .worktree_marks import WorktreeMark

MEASURE_ALL_UP_TO = 2000
RENDERED_ENTRIES = 1024  # options (rendered entries) kept; the visible ones are a few dozen
ID_PREFIX = "agent-"


class _Options(Sequence):
    """The roster's options, made when asked for (OptionList reads `_options` by index)."""

    def __init__(self, roster: RosterView):
        self._roster = roster

    def __len__(self) -> int:
        return len(self._roster._layout)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        return self._roster._option(self._roster._layout.id_at(index))


class _Lines(Sequence):
    """OptionList's line table, (entry index, line within it) per line, computed per lookup."""

    def __init__(self, layout: RosterLayout):
        self._layout = layout

    def __len__(self) -> int:
        return self._layout.total_lines

    def __getitem__(self, line):
        return self._layout.at_line(line)


class _ByIndex:
    """A read-only mapping from entry index (or option) to a number, as OptionList reads it."""

    def __init__(self, lookup):
        self._lookup = lookup

    def __getitem__(self, key):
        try:
            return self._lookup(key)
        except IndexError:
            raise KeyError(key) from None


class RosterView(OptionList):
    """One option per agent; Enter opens the agent's detail."""

    class AgentSelected(Message):
        def __init__(self, entry: RosterEntry):
            super().__init__()
            self.entry = entry

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.entries: dict[int, RosterEntry] = {}
        self._panes: dict[int, PaneMark] = {}
        self._states: dict[int, Any] = {}
        self._hosts: dict[int, HostMark] = {}
        self._worktrees: dict[int, WorktreeMark] = {}  # read on a cadence of their own (worktree_marks.py)
        self._usage: dict[int, UsageMark] = {}  # likewise (usage_marks.py)
        self._layout = RosterLayout()
        self._measured: set[int] = set()  # ids whose height is their drawn one at `_width`
        self._width: int | None = None
        self._rendered: LRUCache[int, Option] = LRUCache(RENDERED_ENTRIES)
        self._names: list[str] = []
        self._cursor = RosterCursor.of([])
        # OptionList's own tables, answered from the layout instead of being kept whole.
        self._options = _Options(self)
        self._option_to_index = _ByIndex(self._index_of_option)
        self._line_view = _Lines(self._layout)

    # -- filling -------------------------------------------------------------------------------

    def load(self, entries: list[RosterEntry], panes: dict[int, PaneMark], states: dict, hosts: dict[int, HostMark]) -> None:
        """Show `entries` (every agent of the fleet, from `reads.roster`) and their pane marks."""
        self.entries = {e.agent.id: e for e in entries}
        self._panes, self._states, self._hosts = dict(panes), dict(states), dict(hosts)
        self._cursor = RosterCursor.of(entries)
        self._relayout()  # highlights the first entry when first shown

    def apply(self, changes: RosterChanges) -> None:
        """Take the fresh entries of `reads.fleet_changes`; redraw only those that differ."""
        moved: set[int] = set()
        reorder = False
        for agent_id in changes.removed:
            if self.entries.pop(agent_id, None) is not None:
                reorder = True
        appended: list[int] = []
        for entry in changes.entries:
            agent_id = entry.agent.id
            old = self.entries.get(agent_id)
            if old == entry:
                continue
            self.entries[agent_id] = entry
            if old is None and entry.agent.status == AgentStatus.ACTIVE:
                appended.append(agent_id)
            elif old is None or old.agent.status != entry.agent.status:
                reorder = True
            else:
                moved.add(agent_id)
        self._cursor = changes.cursor
        if reorder:
            self._relayout()
            return
        for agent_id in sorted(appended):
            if not self._layout.append_active(agent_id, self._estimate(agent_id)):
                self._relayout()
                return
        if appended:
            self._names = self._names + [
                self.entries[i].agent.name for i in appended if self.entries[i].agent.kind != AgentKind.ADMINISTRATOR
            ]
            self._measure_all_if_small()
            self._extend()
            self.refresh()
        self._redraw(moved)

    def show_marks(self, panes: dict[int, PaneMark], states: dict, hosts: dict[int, HostMark]) -> None:
        """New pane marks, seen states and host marks (for placed agents: a few)."""
        moved = {
            agent_id
            for old, new in ((self._panes, panes), (self._states, states), (self._hosts, hosts))
            for agent_id in old.keys() | new.keys()
            if old.get(agent_id) != new.get(agent_id)
        }
        self._panes, self._states, self._hosts = dict(panes), dict(states), dict(hosts)
        self._redraw(moved & self.entries.keys())

    def show_worktrees(self, worktrees: dict[int, WorktreeMark]) -> None:
        """New worktree marks (of the members that work in a worktree); redraws those that moved."""
        moved = {i for i in self._worktrees.keys() | worktrees.keys() if self._worktrees.get(i) != worktrees.get(i)}
        self._worktrees = dict(worktrees)
        self._redraw(moved & self.entries.keys())

    def show_usage(self, usage: dict[int, UsageMark]) -> None:
        """New usage marks (of the members whose agents recorded answers); redraws those that moved."""
        moved = {i for i in self._usage.keys() | usage.keys() if self._usage.get(i) != usage.get(i)}
        self._usage = dict(usage)
        self._redraw(moved & self.entries.keys())

    def cursor(self) -> RosterCursor:
        return self._cursor

    def names(self) -> list[str]:
        """Names that can be messaged from the composer (active, not the Administrator)."""
        return self._names

    # -- keeping the layout --------------------------------------------------------------------

    def _relayout(self) -> None:
        """Order and measure every entry again, keeping the highlight on its agent; O(n)."""
        highlighted = (
            self._layout.id_at(self.highlighted)
            if self.highlighted is not None and self.highlighted < len(self._layout)
            else None
        )
        index = self.highlighted
        active = sorted(i for i, e in self.entries.items() if e.agent.status == AgentStatus.ACTIVE)
        gone = sorted(i for i, e in self.entries.items() if e.agent.status != AgentStatus.ACTIVE)
        self._rendered.clear()
        self._option_render_cache.clear()
        self._measured.clear()
        self._layout.rebuild(active, gone, self._estimate)
        self._measure_all_if_small()
        self._names_changed()
        self._extend()
        self.refresh()
        if not self.entries:
            self.highlighted = None
            return
        # The user's choice, wherever it moved; else the same place.
        at = self._layout.index_of(highlighted) if highlighted is not None else None
        self.highlighted = at if at is not None else min(index or 0, len(self._layout) - 1)

    def _names_changed(self) -> None:
        self._names = [
            e.agent.name
            for e in self.entries.values()
            if e.agent.status == AgentStatus.ACTIVE and e.agent.kind != AgentKind.ADMINISTRATOR
        ]

    def _redraw(self, agent_ids: set[int]) -> None:
        for agent_id in agent_ids:
            index = self._layout.index_of(agent_id)
            if index is None:
                continue
            self._rendered.discard(agent_id)
            self._measured.discard(agent_id)
            self._layout.set_height(index, self._estimate(agent_id))
            if len(self._layout) <= MEASURE_ALL_UP_TO:
                self._measure(index)
        if agent_ids:
            self._extend()
            self.refresh()

    def _estimate(self, agent_id: int) -> int:
        return roster_height(
            self.entries[agent_id],
            self._states.get(agent_id),
            self._hosts.get(agent_id),
            self._worktrees.get(agent_id),
            self._usage.get(agent_id),
        )

    def _measure(self, index: int) -> bool:
        """Give entry `index` its drawn height; True if that moved anything."""
        agent_id = self._layout.id_at(index)
        if agent_id in self._measured or self._width is None:
            return False
        self._measured.add(agent_id)
        padding = self.get_component_styles("option-list--option").padding
        height = self._get_visual(self._option(agent_id)).get_height(cast(RulesMap, self.styles), self._width - padding.width)
        if height == self._layout.height(index):
            return False
        self._layout.set_height(index, height)
        return True

    def _measure_all_if_small(self) -> None:
        if len(self._layout) <= MEASURE_ALL_UP_TO:
            for index in range(len(self._layout)):
                self._measure(index)

    def _measure_visible(self) -> None:
        """Measure the entries on screen before they are drawn (their lines must be right)."""
        top = int(self.scroll_offset.y)
        bottom = top + self.scrollable_content_region.height
        line, changed = top, False
        while line < min(bottom, self._layout.total_lines):
            index, _ = self._layout.at_line(line)
            changed |= self._measure(index)  # a new height moves the entries after it
            line = self._layout.first_line(index) + self._layout.height(index)
        if changed:
            self._extend()

    def _measure_around(self, index: int) -> None:
        """Measure entry `index` and a screenful of entries either side of it: scrolling to it
        must count their drawn lines, or measuring them once drawn would push it off screen."""
        reach = self.scrollable_content_region.height
        for step in (-1, 1):
            at, lines = index, 0
            while 0 <= at < len(self._layout) and lines <= reach:
                self._measure(at)
                lines += self._layout.height(at)
                at += step
        self._extend()

    def _extend(self) -> None:
        """Tell the scroll view how many lines there are now."""
        if not self.scrollable_content_region:
            return
        virtual_size = Size(self.scrollable_content_region.width - self._get_left_gutter_width(), self._layout.total_lines)
        if virtual_size != self.virtual_size:
            self.virtual_size = virtual_size
            self._scroll_update(virtual_size)

    def _option(self, agent_id: int) -> Option:
        option = self._rendered.get(agent_id)
        if option is None:
            entry = self.entries[agent_id]
            prompt = roster_entry(
                entry,
                self._panes.get(agent_id),
                self._states.get(agent_id),
                self._hosts.get(agent_id),
                self._worktrees.get(agent_id),
                self._text_width(),
                self._usage.get(agent_id),
            )
            option = Option(prompt, id=f"{ID_PREFIX}{agent_id}")
            self._rendered.set(agent_id, option)
        return option

    def _text_width(self) -> int | None:
        """The columns an entry's text has (None until the roster is laid out)."""
        if self._width is None:
            return None
        return self._width - self.get_component_styles("option-list--option").padding.width

    def _index_of_option(self, option: Option) -> int:
        index = self._layout.index_of(int((option.id or "")[len(ID_PREFIX) :]))
        if index is None:
            raise IndexError(option.id)
        return index

    # -- OptionList's hooks, answered from the layout ------------------------------------------

    @property
    def _lines(self) -> Sequence[tuple[int, int]]:
        self._update_lines()
        return self._line_view

    @property
    def _heights(self):
        return _ByIndex(self._layout.height)

    @property
    def _index_to_line(self):
        return _ByIndex(self._layout.first_line)

    def _update_lines(self) -> None:
        if not self.scrollable_content_region:
            return
        width = self.scrollable_content_region.width - self._get_left_gutter_width()
        if width != self._width:
            self._width = width
            self._measured.clear()
            for agent_id in self._worktrees:  # a branch is cut to the width (the rest is not)
                self._rendered.discard(agent_id)
            self._measure_all_if_small()
        self._extend()

    def _clear_caches(self) -> None:
        """A resize: entries render and wrap anew."""
        self._option_render_cache.clear()
        self._width = None
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._update_lines()
        self._measure_visible()
        return super().render_lines(crop)

    def scroll_to_highlight(self, top: bool = False) -> None:
        if self.highlighted is not None and self.is_mounted and self.scrollable_content_region:
            self._update_lines()
            self._measure_around(self.highlighted)
        super().scroll_to_highlight(top)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self._layout.total_lines

    def get_option(self, option_id: str) -> Option:
        if self.get_option_index(option_id) is not None:
            return self._option(int(option_id[len(ID_PREFIX) :]))
        raise OptionDoesNotExist(f"There is no option with an ID of {option_id!r}")

    def get_option_index(self, option_id: str) -> int:
        number = option_id[len(ID_PREFIX) :] if option_id.startswith(ID_PREFIX) else ""
        index = self._layout.index_of(int(number)) if number.isdigit() else None
        if index is None:
            raise OptionDoesNotExist(f"There is no option with an ID of {option_id!r}")
        return index

    def _move_page(self, direction) -> None:
        # OptionList skips disabled options by slicing them all; no roster entry is disabled.
        if not len(self._layout):
            return
        line = self._layout.first_line(self.highlighted or 0) + direction * self.scrollable_content_region.height
        self.highlighted = self._layout.at_line(clamp(line, 0, self._layout.total_lines - 1))[0]

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.AgentSelected(self.entries[int((event.option.id or "")[len(ID_PREFIX) :])]))
