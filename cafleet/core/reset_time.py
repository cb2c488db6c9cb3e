"""When an agent's limit resets, from the words its screen shows (`ScreenReading.resets`).

Agents show a clock time in their own local zone ("10:47pm", "11:38 PM"), a date and time
("Dec 9, 10:59pm", "Dec 9th, 2026 10:49 PM"), or a wait ("in 28s", "in 1m 30s"). A shown
time lies after the moment the agent first showed it, so it is read against that moment,
never against a later look at a screen that still shows it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

_WAIT = re.compile(r"(?:in\s+)?((?:\d+\s*[hms]\s*)+)", re.I)
_WAIT_PART = re.compile(r"(\d+)\s*([hms])", re.I)
_CLOCK = re.compile(r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>[ap]\.?m\.?)?", re.I)
_DATE = re.compile(
    r"(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?"
    r"(?:\s+(?P<year>\d{4}))?,?\s*(?:at\s+)?",
    re.I,
)
_ZONE = re.compile(r"\s*\((?P<zone>[A-Za-z_/+-]+)\)\s*$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# Clocks show minutes: a time up to this long before the agent showed it is that same minute.
_SAME_MINUTE = timedelta(minutes=1)


def reset_at(shown: str, since: datetime) -> datetime | None:
    """The moment `shown` names, read as shown at `since` (timezone-aware: the agent's local
    zone, unless the text names one, like claude's "(UTC)"); None when it names no time."""
    text = shown.strip()
    if not text or since.tzinfo is None:
        return None
    wait = _WAIT.fullmatch(text)
    if wait:
        seconds = {"h": 3600, "m": 60, "s": 1}
        return since + timedelta(seconds=sum(int(n) * seconds[unit.lower()] for n, unit in _WAIT_PART.findall(wait[1])))
    zone: tzinfo = since.tzinfo
    named = _ZONE.search(text)
    if named:
        zone = _zone(named["zone"]) or zone
        text = text[: named.start()]
    local_since = since.astimezone(zone)
    date = _DATE.match(text)
    clock = _CLOCK.fullmatch(text[date.end() :] if date else text)
    if clock is None or (clock["half"] is None and clock["minute"] is None):
        return None  # a bare number is no time
    hour, minute = int(clock["hour"]), int(clock["minute"] or 0)
    if clock["half"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if clock["half"][0].lower() == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    if date is None:
        moment = local_since.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return moment if moment >= local_since - _SAME_MINUTE else moment + timedelta(days=1)
    month = _MONTHS.index(date["month"][:3].lower()) + 1
    year = int(date["year"]) if date["year"] else local_since.year
    try:
        moment = local_since.replace(
            year=year, month=month, day=int(date["day"]), hour=hour, minute=minute, second=0, microsecond=0
        )
    except ValueError:
        return None
    if not date["year"] and moment < local_since - timedelta(days=1):
        moment = moment.replace(year=year + 1)  # "Jan 2" shown on Dec 31
    return moment


def is_wait(shown: str) -> bool:
    """Whether `shown` is a wait ("in 28s"), which names another moment on every later look."""
    return bool(_WAIT.fullmatch(shown.strip()))


def precision(shown: str) -> timedelta:
    """How far after `reset_at(shown, …)` the reset may really lie: a wait counts seconds, a
    clock shows the minute (the reset falls somewhere in it)."""
    return timedelta(seconds=1) if is_wait(shown) else _SAME_MINUTE


def _zone(name: str) -> tzinfo | None:
    # Only a reset time that names a zone needs the tz database (~15 ms to import).
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
