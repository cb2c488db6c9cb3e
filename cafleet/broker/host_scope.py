"""Which placements this host serves: the panes that live on it.

Only a process on a pane's own host may look at the pane or type into it; every query that
feeds the courier, the state watcher or spawn recovery is narrowed with these conditions.
"""

from __future__ import annotations

from cafleet.core.hosts import this_host
from cafleet.store.models import Placement


def placed_here():
    """A condition on `placements`: the pane lives on this host. A NULL host was placed before
    hosts were recorded, on the one machine of a SQLite database: this one."""
    return Placement.host.is_null() | (Placement.host == this_host())


def agents_placed_elsewhere():
    """The ids of agents whose pane lives on another host (a subquery)."""
    return Placement.select(Placement.agent).where(Placement.host.is_null(False) & (Placement.host != this_host()))
