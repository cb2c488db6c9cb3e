"""Notifiers: what reaches the human away from the terminal (a webhook, ntfy, a desktop
notification, a command), the events they are sent, and how a notifier is shown without its
secrets.

A notifier lives in the user's config file (`cafleet.services.notifier_config`); the database
holds only its name, beside each event it was sent (`cafleet.broker.notify_events`).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import NamedTuple
from urllib.parse import urlsplit


class NotifierKind(StrEnum):
    WEBHOOK = "webhook"  # a JSON POST (plain, Slack's or Discord's shape)
    NTFY = "ntfy"  # a POST to an ntfy topic URL (ntfy.sh or a self-hosted server)
    DESKTOP = "desktop"  # notify-send on this machine
    COMMAND = "command"  # a program that reads the event as JSON on stdin


class PayloadFormat(StrEnum):
    """The body of a webhook's POST."""

    JSON = "json"  # cafleet's own document
    SLACK = "slack"  # {"text": …}: Slack's incoming webhooks, Mattermost, Rocket.Chat
    DISCORD = "discord"  # {"content": …}: Discord's webhooks


class EventKind(StrEnum):
    """What happened; the names a notifier's `--events` filter takes."""

    NEEDS_YOU = "needs-you"  # a member shows a question or permission menu
    ADMIN_MESSAGE = "admin-message"  # an agent wrote to the Administrator (the human)
    HELD = "held"  # a member's provider holds it: a limit, long retries, a refused login, a full context
    UNREADABLE = "unreadable"  # a member's screen shows no state cafleet can read
    IDLE_UNREAD = "idle-unread"  # a member waits for input while its messages stay unread
    STALLED = "stalled"  # a member busy with no change on its screen for a while
    BUDGET = "budget"  # a member used 80 % or 100 % of its token budget
    TEST = "test"  # `cafleet notify test`


# How much an event matters: ntfy's priority (1-5) and notify-send's urgency follow it.
URGENT_EVENTS = frozenset({EventKind.NEEDS_YOU, EventKind.HELD, EventKind.STALLED})
FILTERABLE_EVENTS: tuple[str, ...] = tuple(kind.value for kind in EventKind if kind is not EventKind.TEST)

MASK = "***"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")


def valid_name(name: str) -> bool:
    return bool(_NAME.fullmatch(name))


class Notifier(NamedTuple):
    """One notifier as the config file holds it. `url`, `token` and `command` are secret: shown
    only through `shown_target`; `fleet_id` None reaches every fleet; `events` empty: every kind."""

    name: str
    kind: NotifierKind
    url: str = ""  # webhook and ntfy: where to POST
    format: PayloadFormat = PayloadFormat.JSON  # webhook only
    token: str = ""  # ntfy: an access token (sent as a bearer token)
    command: tuple[str, ...] = ()  # command: the program and its arguments
    fleet_id: int | None = None
    events: tuple[EventKind, ...] = ()
    min_interval: float = 10.0  # seconds between two sends; events meanwhile go as one summary

    def wants(self, kind: EventKind, fleet_id: int | None) -> bool:
        if kind is EventKind.TEST:
            return True
        if self.fleet_id is not None and fleet_id != self.fleet_id:
            return False
        return not self.events or kind in self.events

    def secrets(self) -> list[str]:
        """Every piece of this notifier that must never be shown, longest first (so a part
        masked inside a whole is masked whole)."""
        parts = {self.url, self.token, *self.command[1:]}
        split = urlsplit(self.url) if self.url else None
        if split is not None:
            parts |= {split.path.strip("/"), split.query, split.password or "", split.username or ""}
            parts |= {segment for segment in split.path.split("/") if len(segment) >= 4}
        return sorted((p for p in parts if p and len(p) >= 3), key=len, reverse=True)

    def shown_target(self) -> str:
        """Where it sends, secrets masked: `https://ntfy.sh/***`, `notify-send`, `my-hook *** (2 args)`."""
        if self.kind is NotifierKind.DESKTOP:
            return "notify-send"
        if self.kind is NotifierKind.COMMAND:
            rest = f" {MASK} ({len(self.command) - 1} args)" if len(self.command) > 1 else ""
            return f"{self.command[0] if self.command else ''}{rest}"
        return masked_url(self.url) + (f" (token {MASK})" if self.token else "")


def masked_url(url: str) -> str:
    """Scheme, host and port only: the path (a webhook's key, an ntfy topic), the query and any
    credentials are secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    hidden = "/" + MASK if (parts.path.strip("/") or parts.query) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def redact(text: str, notifiers: list[Notifier] | Notifier) -> str:
    """`text` (an error, a log line) with every secret of these notifiers masked."""
    many = [notifiers] if isinstance(notifiers, Notifier) else notifiers
    secrets = sorted({s for n in many for s in n.secrets()}, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class NotifyEvent(NamedTuple):
    """One event as it is sent: `title` a line, `body` a few lines, both free of secrets."""

    event_id: int
    kind: EventKind
    fleet_id: int | None
    agent_id: int | None
    agent_name: str | None
    title: str
    body: str
    created_at: str
