"""The user's notifiers and event thresholds: `$XDG_CONFIG_HOME/cafleet/notifiers.json`
(default `~/.config/cafleet`), the only place their secrets (webhook URLs, ntfy topics, tokens)
are kept. The directory is 0700, the file 0600, written whole to a temporary file and renamed
over the old one, under a lock, so a reader never sees half a file and two writers never lose
each other's change."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from cafleet.core.errors import Refused
from cafleet.core.notify import EventKind, Notifier, NotifierKind, PayloadFormat

FILE_NAME = "notifiers.json"
# A member counts as idle with unread messages, or as stalled, after this long (seconds).
DEFAULT_IDLE_UNREAD_SECONDS = 600.0
DEFAULT_STALLED_SECONDS = 600.0


class NotifyConfig(NamedTuple):
    notifiers: tuple[Notifier, ...] = ()
    idle_unread_seconds: float = DEFAULT_IDLE_UNREAD_SECONDS
    stalled_seconds: float = DEFAULT_STALLED_SECONDS

    def named(self, name: str) -> Notifier | None:
        return next((n for n in self.notifiers if n.name.lower() == name.lower()), None)


def config_directory() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "cafleet"


def config_path() -> Path:
    return config_directory() / FILE_NAME


def load(path: Path | None = None) -> NotifyConfig:
    """The config as the file says (none: no notifiers, default thresholds). A file that is
    not cafleet's notifier config is refused, naming it."""
    path = path or config_path()
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return NotifyConfig()
    except OSError as exc:
        raise Refused(f"cannot read the notifier config {path}: {exc.strerror}; fix its permissions") from None
    try:
        document = json.loads(raw)
        notifiers = tuple(_notifier(item) for item in document.get("notifiers", []))
        thresholds = document.get("thresholds", {})
        return NotifyConfig(
            notifiers,
            float(thresholds.get("idle_unread_seconds", DEFAULT_IDLE_UNREAD_SECONDS)),
            float(thresholds.get("stalled_seconds", DEFAULT_STALLED_SECONDS)),
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # The exception's words may quote a secret: name only where it broke.
        raise Refused(f"the notifier config {path} is not valid ({type(exc).__name__}); fix or remove the file") from None


def _notifier(item: dict) -> Notifier:
    return Notifier(
        name=str(item["name"]),
        kind=NotifierKind(item["kind"]),
        url=str(item.get("url", "")),
        format=PayloadFormat(item.get("format", PayloadFormat.JSON.value)),
        token=str(item.get("token", "")),
        command=tuple(str(a) for a in item.get("command", [])),
        fleet_id=int(item["fleet_id"]) if item.get("fleet_id") is not None else None,
        events=tuple(EventKind(e) for e in item.get("events", [])),
        min_interval=float(item.get("min_interval", 10.0)),
    )


def _document(config: NotifyConfig) -> dict:
    notifiers = []
    for n in config.notifiers:
        item: dict = {"name": n.name, "kind": n.kind.value}
        if n.url:
            item["url"] = n.url
        if n.kind is NotifierKind.WEBHOOK:
            item["format"] = n.format.value
        if n.token:
            item["token"] = n.token
        if n.command:
            item["command"] = list(n.command)
        if n.fleet_id is not None:
            item["fleet_id"] = n.fleet_id
        if n.events:
            item["events"] = [e.value for e in n.events]
        item["min_interval"] = n.min_interval
        notifiers.append(item)
    return {
        "notifiers": notifiers,
        "thresholds": {"idle_unread_seconds": config.idle_unread_seconds, "stalled_seconds": config.stalled_seconds},
    }


@contextlib.contextmanager
def changing() -> Iterator[list[NotifyConfig]]:
    """Read the config under the lock, and write back what the caller puts in `box[0]`:

    with changing() as box:
        box[0] = box[0]._replace(...)
    """
    directory = config_directory()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    lock = os.open(directory / ".notifiers.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = load()
        box = [before]
        yield box
        if box[0] != before:
            _write(box[0])
    finally:
        os.close(lock)


def _write(config: NotifyConfig) -> None:
    path = config_path()
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(_document(config), out, indent=2)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    os.chmod(path, 0o600)


class ConfigWatch:
    """The config, read again only when its file changed (the courier looks every round)."""

    def __init__(self):
        self._seen: tuple[int, int, int] | None = None
        self._config = NotifyConfig()

    def current(self) -> NotifyConfig:
        try:
            info = os.stat(config_path())
            seen: tuple[int, int, int] | None = (info.st_ino, info.st_mtime_ns, info.st_size)
        except OSError:
            seen = None
        if seen != self._seen:
            self._config = load() if seen is not None else NotifyConfig()
            self._seen = seen
        return self._config
