"""What each kind of notifier is sent for one event, or for a burst of them as one summary."""

from __future__ import annotations

import base64
import json
from typing import NamedTuple

from cafleet.core.notify import URGENT_EVENTS, EventKind, NotifyEvent, PayloadFormat
from cafleet.core.terminal import block, one_line

# ntfy's tags are emoji short codes, shown before the title.
NTFY_TAGS = {
    EventKind.NEEDS_YOU: "raising_hand",
    EventKind.ADMIN_MESSAGE: "speech_balloon",
    EventKind.HELD: "warning",
    EventKind.UNREADABLE: "eyes",
    EventKind.IDLE_UNREAD: "envelope",
    EventKind.STALLED: "hourglass",
    EventKind.BUDGET: "moneybag",
    EventKind.TEST: "white_check_mark",
}
DISCORD_LIMIT = 2000  # characters of `content` Discord accepts
MAX_BODY = 3000


class Notice(NamedTuple):
    """One request's worth: a title line and a body, and the events it stands for."""

    title: str
    body: str
    events: tuple[NotifyEvent, ...]

    @property
    def urgent(self) -> bool:
        return any(e.kind in URGENT_EVENTS for e in self.events)

    @property
    def kind(self) -> str:
        return self.events[0].kind.value if len(self.events) == 1 else "summary"


def notice_of(events: list[NotifyEvent]) -> Notice:
    """The event itself, or a summary of a burst: one line per event, most recent last."""
    if len(events) == 1:
        event = events[0]
        return Notice(one_line(event.title), block(event.body)[:MAX_BODY], (event,))
    fleets = sorted({e.fleet_id for e in events if e.fleet_id is not None})
    where = f" in fleet {fleets[0]}" if len(fleets) == 1 else ""
    lines = [f"- {one_line(e.title)}" for e in events]
    return Notice(f"cafleet: {len(events)} events{where}", "\n".join(lines)[:MAX_BODY], tuple(events))


def event_json(event: NotifyEvent) -> dict:
    return {
        "event_id": event.event_id,
        "kind": event.kind.value,
        "fleet_id": event.fleet_id,
        "agent_id": event.agent_id,
        "agent": event.agent_name,
        "title": one_line(event.title),
        "text": block(event.body),
        "created_at": event.created_at,
    }


def json_document(notice: Notice) -> dict:
    """cafleet's own shape (webhook `json`, and a command's stdin)."""
    return {
        "source": "cafleet",
        "kind": notice.kind,
        "title": notice.title,
        "text": notice.body,
        "events": [event_json(e) for e in notice.events],
    }


def webhook_body(notice: Notice, shape: PayloadFormat) -> bytes:
    if shape is PayloadFormat.SLACK:
        document: dict = {"text": f"*{notice.title}*\n{notice.body}"}
    elif shape is PayloadFormat.DISCORD:
        document = {"content": f"**{notice.title}**\n{notice.body}"[:DISCORD_LIMIT]}
    else:
        document = json_document(notice)
    return json.dumps(document, ensure_ascii=False).encode()


def ntfy_headers(notice: Notice) -> dict[str, str]:
    """Title, Priority (4 high for what needs the human, 3 default) and Tags, as ntfy reads them."""
    tags = sorted({NTFY_TAGS[e.kind] for e in notice.events}) if len(notice.events) == 1 else ["bell"]
    return {"Title": header_text(notice.title), "Priority": "4" if notice.urgent else "3", "Tags": ",".join(tags)}


def header_text(text: str) -> str:
    """A header value HTTP can carry: ASCII as is, anything else as an RFC 2047 encoded word
    (which ntfy decodes)."""
    if text.isascii():
        return text
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="
