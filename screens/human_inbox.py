"""The human's inbox on every screen: a badge in the header counting the messages to the
Administrator still unread (the replies and questions for the human), and the way to them."""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Header, Static
from textual.widgets._header import HeaderIcon, HeaderTitle


class HumanInboxCounted(Message):
    """Unread messages to each live fleet's Administrator, read by the app's worker."""

    def __init__(self, counts: dict[int, int]) -> None:
        super().__init__()
        self.counts = counts


def badge_words(counts: Mapping[int, int], fleet_id: int | None) -> str:
    """`✉ 2 for you`, `✉ 2 for you · 1 in fleet 4`, `✉ 3 for you in 2 fleets`; "" for none.
    A screen of one fleet counts that fleet first: the others are named so none is missed."""
    here = counts.get(fleet_id, 0) if fleet_id is not None else 0
    others = {fleet: n for fleet, n in counts.items() if fleet != fleet_id and n}
    elsewhere = sum(others.values())
    if fleet_id is None:
        if not others:
            return ""
        return f"✉ {elsewhere} for you" + (f" in {len(others)} fleets" if len(others) > 1 else f" in fleet {next(iter(others))}")
    if not here and not elsewhere:
        return ""
    place = f"in fleet {next(iter(others))}" if len(others) == 1 else f"in {len(others)} other fleets"
    if not here:
        return f"✉ {elsewhere} for you {place}"
    return f"✉ {here} for you" + (f" · {elsewhere} {place}" if elsewhere else "")


class InboxBadge(Static):
    """Shown while the human has unread messages; a click opens the inbox (as Ctrl+O does)."""

    DEFAULT_CSS = """
    InboxBadge {
        dock: right;
        width: auto;
        padding: 0 1;
        background: $warning;
        color: black;
        text-style: bold;
        display: none;
    }
    InboxBadge.-waiting {
        display: block;
    }
    """

    def on_mount(self) -> None:
        self.watch(self.app, "unread_for_the_human", self._show)

    def _show(self, counts: dict[int, int]) -> None:
        words = badge_words(counts, getattr(self.screen, "fleet_id", None))
        self.update(words)
        self.set_class(bool(words), "-waiting")

    async def on_click(self) -> None:
        await self.app.run_action("open_human_inbox")


class FleetHeader(Header):
    """Textual's header, with the inbox badge where its clock would be."""

    def compose(self) -> ComposeResult:
        yield HeaderIcon().data_bind(Header.icon)
        yield HeaderTitle()
        yield InboxBadge()
