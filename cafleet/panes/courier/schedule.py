"""Which panes the courier types into next: fair, one notice at a time per pane.

Every pane has its own queue (its agents' due notices, oldest first). A pane gets at most one
delivery in flight; a pane whose agent cannot take input yet waits out its retry delay and
holds back only its own queue; among the panes that may go, the one served longest ago goes
first (round-robin across panes, and so across fleets); and no round starts more deliveries
than there are free workers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import TypeVar

PaneKey = tuple[str, str]  # (tmux socket, pane id, or "pending-<agent id>" before it has one)
Item = TypeVar("Item")


class PaneScheduler:
    """Thread-safe: the courier's loop picks, its workers report back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[PaneKey] = set()
        self._retry_at: dict[PaneKey, float] = {}
        self._served: dict[PaneKey, int] = {}
        self._turns = itertools.count()

    def pick(self, candidates: Iterable[tuple[PaneKey, Item]], slots: int, now: float) -> list[tuple[PaneKey, Item]]:
        """Up to `slots` candidates, one per pane, that may start now; each chosen pane is
        busy until `done`. Candidates come oldest first; a pane's first one is its head."""
        with self._lock:
            heads: dict[PaneKey, Item] = {}
            for key, item in candidates:
                if key not in heads and key not in self._busy and self._retry_at.get(key, 0.0) <= now:
                    heads[key] = item
            order = sorted(heads, key=lambda key: self._served.get(key, -1))
            chosen = [(key, heads[key]) for key in order[: max(slots, 0)]]
            for key, _ in chosen:
                self._busy.add(key)
                self._retry_at.pop(key, None)
                self._served[key] = next(self._turns)
            return chosen

    def done(self, key: PaneKey, retry_in: float | None = None, now: float = 0.0) -> None:
        """The pane's delivery ended; with `retry_in`, its queue waits that long."""
        with self._lock:
            self._busy.discard(key)
            if retry_in is not None:
                self._retry_at[key] = now + retry_in

    def retry_due(self, now: float) -> bool:
        """Whether a waiting pane's delay has run out (then the courier looks again)."""
        with self._lock:
            return any(at <= now for at in self._retry_at.values())

    def busy(self) -> int:
        with self._lock:
            return len(self._busy)

    def forget(self, keep: set[PaneKey]) -> None:
        """Drop what is remembered of panes that have no due notice any more (bounded memory)."""
        with self._lock:
            for table in (self._retry_at, self._served):
                for key in [key for key in table if key not in keep and key not in self._busy]:
                    del table[key]
