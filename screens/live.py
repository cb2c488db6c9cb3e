"""Cheap change detection: SQLite's data_version changes whenever another connection commits."""

from __future__ import annotations

import time

from textual.message import Message

POLL_SECONDS = 0.25


class DataChanged(Message):
    """Something in the database changed; the active screen reloads what it shows."""


def watch(is_cancelled, on_change) -> None:
    """Run in a thread worker: call `on_change()` after every commit made elsewhere."""
    from cafleet.db import data_version

    last = data_version()
    while not is_cancelled():
        time.sleep(POLL_SECONDS)
        current = data_version()
        if current != last:
            last = current
            on_change()
