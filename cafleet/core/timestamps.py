"""Times are stored and printed as fixed-width ISO-8601 UTC strings, so text order is time order."""

from __future__ import annotations

from datetime import UTC, datetime

from cafleet.core.errors import InvalidInput
from cafleet.core.terminal import one_line

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_now() -> str:
    """Now, as `2026-11-21T11:20:00.123456Z`."""
    return _format(datetime.now(UTC))


def to_stamp(moment: datetime) -> str:
    """`moment` in UTC (naive means UTC); OverflowError if that falls outside years 1-9999."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return _format(moment.astimezone(UTC))


def _format(moment: datetime) -> str:
    # Not strftime: its %Y does not pad years before 1000, which would break text order.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}Z"
    )


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp, _FORMAT).replace(tzinfo=UTC)


def parse_user_time(text: str, option: str) -> str:
    """Turn a user-supplied ISO-8601 time (naive means UTC) into a stored-format stamp."""
    raw = text.strip()
    example = "use e.g. 2026-11-21T09:30:00Z (a time without an offset is taken as UTC)"
    if not raw:
        raise InvalidInput(f"{option} is empty; {example}, or leave {option} out")
    try:
        moment = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise InvalidInput(f"{option} '{one_line(text)}' is not an ISO-8601 time; {example}") from None
    try:
        return to_stamp(moment)
    except OverflowError:
        raise InvalidInput(
            f"{option} '{one_line(text)}' is outside years 1-9999 once converted to UTC; "
            "use a time between 0001-01-02 and 9999-12-30"
        ) from None


def short(stamp: str | None) -> str:
    """Seconds precision for compact text output: `2026-11-21T11:20:00Z`."""
    return f"{stamp[:19]}Z" if stamp else "-"
