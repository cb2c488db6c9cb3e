"""A read-only view of many lines of styled text that draws only the lines on screen.

A Static holding the whole diff would render every line on the UI thread whenever it is laid
out (a 5,000-line patch: most of a second); this view renders a line when it comes into view
and keeps the recent ones (Textual's line API, as its `Log` does).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

KEPT_LINES = 1024


class DiffView(ScrollView, can_focus=True):
    """Lines of text, scrolled both ways; `n`/`p` (the screen's keys) jump between files."""

    DEFAULT_CSS = """
    DiffView {
        background: $surface;
        overflow: auto auto;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.lines: list[Text] = []
        self.file_starts: list[int] = []
        self._strips: LRUCache[int, Strip] = LRUCache(KEPT_LINES)

    def show(self, lines: list[Text], width: int, file_starts: list[int], keep_place: bool = False) -> None:
        """Show `lines` (`width`: the widest, in cells), from the top unless `keep_place`."""
        self.lines, self.file_starts = lines, file_starts
        self._strips.clear()
        self.virtual_size = Size(width, len(lines))
        if not keep_place:
            self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def next_file(self) -> None:
        at = bisect_right(self.file_starts, int(self.scroll_offset.y))
        if at < len(self.file_starts):
            self.scroll_to(y=self.file_starts[at], animate=False)

    def previous_file(self) -> None:
        at = bisect_left(self.file_starts, int(self.scroll_offset.y))
        self.scroll_to(y=self.file_starts[at - 1] if at > 0 else 0, animate=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        style = self.rich_style
        width = self.scrollable_content_region.width
        if index >= len(self.lines):
            return Strip.blank(width, style)
        strip = self._strips.get(index)
        if strip is None:
            line, console = self.lines[index], self.app.console
            # Text.render leaves out the text's own style when it has no spans: apply it under them.
            under = style + console.get_style(line.style) if line.style else style
            segments = Segment.apply_style(line.render(console), under)
            strip = Strip(list(segments), line.cell_len)
            self._strips.set(index, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)
