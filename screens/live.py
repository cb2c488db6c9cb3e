"""Reloading when another process commits (`cafleet.store.changes`: data_version or LISTEN/NOTIFY)."""

from __future__ import annotations

import time

from textual.message import Message

POLL_SECONDS = 0.25


class DataChanged(Message):
    """Something in the database changed; the active screen reloads what it shows."""


def watch(is_cancelled, on_change) -> None:
    """Run in a thread worker: call `on_change()` after every commit made elsewhere."""
    from cafleet.store.changes import open_feed

    feed = open_feed()
    try:
        while not is_cancelled():
            if feed.wait(POLL_SECONDS):
                on_change()
                time.sleep(POLL_SECONDS)  # a burst of commits is one reload, not one each
    finally:
        feed.close()
