"""Times are stored and printed as fixed-width ISO-8601 UTC strings, so text order is time order."""

from __future__ import annotations

from datetime import datetime, timezone

from cafleet.errors import InvalidInput

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> str:
    """Now, as `2026-11-21T11:20:00.123456Z`."""
    return datetime.now(timezone.utc).strftime(_FORMAT)


def to_stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, _FORMAT).replace(tzinfo=timezone.utc)


def parse_user_time(text: str, option: str) -> str:
    """Turn a user-supplied ISO-8601 time (naive means UTC) into a stored-format stamp."""
    raw = text.strip()
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise InvalidInput(
            f"{option} {text!r} is not an ISO-8601 time; use e.g. 2026-11-21T09:30:00Z "
            "(a time without an offset is taken as UTC)"
        ) from None
    return to_stamp(moment)


def short(stamp: str | None) -> str:
    """Seconds precision for compact text output: `2026-11-21T11:20:00Z`."""
    return f"{stamp[:19]}Z" if stamp else "-"
