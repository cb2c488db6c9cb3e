"""Where each roster entry sits, in lines, for a roster of any size.

The roster draws only the lines on screen, so it must answer "which entry is at line y" and
"on which line does entry i start" without walking every entry. Entries are kept in two runs,
active agents then deregistered ones, each in id order; each run sums its entries' heights in
a Fenwick tree: a height changes, a line is found, an entry's first line is summed, all in
O(log n). A newly registered agent (the highest id yet) is appended in O(log n) too; only a
deregistration, which moves an entry between the runs, rebuilds them.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable


class LineIndex:
    """Heights of a run of entries, summed for lookups by line."""

    def __init__(self, heights: Iterable[int] = ()):
        self._heights: list[int] = list(heights)
        self._tree = [0] * (len(self._heights) + 1)  # 1-based Fenwick tree
        for i, height in enumerate(self._heights, 1):
            self._tree[i] += height
            parent = i + (i & -i)
            if parent < len(self._tree):
                self._tree[parent] += self._tree[i]
        self.total = sum(self._heights)

    def __len__(self) -> int:
        return len(self._heights)

    def height(self, index: int) -> int:
        return self._heights[index]

    def set_height(self, index: int, height: int) -> None:
        delta = height - self._heights[index]
        if not delta:
            return
        self._heights[index] = height
        self.total += delta
        i = index + 1
        while i < len(self._tree):
            self._tree[i] += delta
            i += i & -i

    def append(self, height: int) -> None:
        n = len(self._heights) + 1
        # Node n covers entries (n - lowbit(n), n]: the new height plus the ones before it there.
        self._tree.append(height + self.first_line(n - 1) - self.first_line(n - (n & -n)))
        self._heights.append(height)
        self.total += height

    def first_line(self, index: int) -> int:
        """Lines above entry `index` (the sum of the heights before it)."""
        lines = 0
        while index > 0:
            lines += self._tree[index]
            index -= index & -index
        return lines

    def at_line(self, line: int) -> tuple[int, int]:
        """(entry, line within it) of `line`, 0 <= line < total."""
        position, rest = 0, line
        step = 1 << (len(self._heights).bit_length())
        while step:
            following = position + step
            if following <= len(self._heights) and self._tree[following] <= rest:
                position = following
                rest -= self._tree[following]
            step >>= 1
        return position, rest


class RosterLayout:
    """Agent ids in roster order (active first, then deregistered, each by id) and their lines."""

    def __init__(self) -> None:
        self._active: list[int] = []
        self._gone: list[int] = []
        self._active_lines = LineIndex()
        self._gone_lines = LineIndex()

    def rebuild(self, active: list[int], gone: list[int], height_of: Callable[[int], int]) -> None:
        """Lay out again from sorted id lists; O(n)."""
        self._active, self._gone = active, gone
        self._active_lines = LineIndex(height_of(i) for i in active)
        self._gone_lines = LineIndex(height_of(i) for i in gone)

    def append_active(self, agent_id: int, height: int) -> bool:
        """Add a newly registered agent after the active ones; False when its id is not the
        highest (then the caller rebuilds)."""
        if self._active and agent_id <= self._active[-1]:
            return False
        self._active.append(agent_id)
        self._active_lines.append(height)
        return True

    def __len__(self) -> int:
        return len(self._active) + len(self._gone)

    @property
    def total_lines(self) -> int:
        return self._active_lines.total + self._gone_lines.total

    def ids(self) -> tuple[list[int], list[int]]:
        return self._active, self._gone

    def index_of(self, agent_id: int) -> int | None:
        for offset, run in ((0, self._active), (len(self._active), self._gone)):
            at = bisect_left(run, agent_id)
            if at < len(run) and run[at] == agent_id:
                return offset + at
        return None

    def id_at(self, index: int) -> int:
        if index < 0:
            raise IndexError(index)
        if index < len(self._active):
            return self._active[index]
        return self._gone[index - len(self._active)]

    def _run(self, index: int) -> tuple[LineIndex, int, int]:
        """The run holding entry `index`, the index within it, and the lines above the run."""
        if index < len(self._active):
            return self._active_lines, index, 0
        return self._gone_lines, index - len(self._active), self._active_lines.total

    def height(self, index: int) -> int:
        run, at, _ = self._run(index)
        return run.height(at)

    def set_height(self, index: int, height: int) -> None:
        run, at, _ = self._run(index)
        run.set_height(at, height)

    def first_line(self, index: int) -> int:
        run, at, above = self._run(index)
        return above + run.first_line(at)

    def at_line(self, line: int) -> tuple[int, int]:
        """(entry index, line within the entry) of `line`; IndexError past the last line."""
        if line < 0 or line >= self.total_lines:
            raise IndexError(line)
        if line < self._active_lines.total:
            return self._active_lines.at_line(line)
        at, offset = self._gone_lines.at_line(line - self._active_lines.total)
        return len(self._active) + at, offset
