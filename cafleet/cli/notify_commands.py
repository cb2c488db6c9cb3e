"""`cafleet notify …`: the notifiers that reach the human away from the terminal.

They live in the user's config file (`cafleet.services.notifier_config`), secrets included;
every output here shows them masked. Adding, removing and tuning them is the human's business:
refused from an agent's pane (a command notifier runs whatever it names, outside any sandbox).
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, FleetScope, settings
from cafleet.cli.types import Seconds
from cafleet.core.errors import Conflict, InvalidInput, NotFound, Refused
from cafleet.core.notify import FILTERABLE_EVENTS, EventKind, Notifier, NotifierKind, PayloadFormat, masked_url, valid_name
from cafleet.core.terminal import one_line


@click.group("notify", cls=CafleetSubgroup)
def notify_group():
    """Notifiers that reach you away from the terminal: a webhook, ntfy, a desktop
    notification, or a command. See docs/notifications.md."""


@notify_group.command("add", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice([k.value for k in NotifierKind]), help="What kind of notifier.")
@click.option("--url", metavar="URL|-", help="webhook, ntfy: where to POST (an ntfy topic URL); `-` reads it from stdin.")
@click.option(
    "--format",
    "shape",
    type=click.Choice([f.value for f in PayloadFormat]),
    help="webhook: cafleet's JSON (default), or Slack's or Discord's payload.",
)
@click.option("--token", metavar="TOKEN|-", help="ntfy: an access token (sent as a bearer token); `-` reads it from stdin.")
@click.option(
    "--command",
    "command_line",
    metavar="COMMAND",
    help="command: the program (and arguments) that reads the event as JSON on stdin.",
)
@click.option("--events", metavar="KIND,...", help=f"Only these events ({', '.join(FILTERABLE_EVENTS)}); default all.")
@click.option(
    "--min-interval",
    type=Seconds(0, 86400),
    default=10,
    show_default=True,
    metavar="SECONDS",
    help="At most one request per this long; events meanwhile go together as one summary.",
)
def add_command(name, kind, url, shape, token, command_line, events, min_interval):
    """Add a notifier NAME, for the fleet --fleet-id names or (without it) for every fleet."""
    from cafleet.services.notifier_config import changing

    _refuse_from_agent_pane("notify add")
    kind = NotifierKind(kind)
    fleet_id = settings().fleet_id
    if not valid_name(name):
        raise InvalidInput(
            f"notifier name '{one_line(name)[:60]}' is not valid; use up to 40 letters, digits, '.', '_' or '-', e.g. phone"
        )
    _only_for(kind, url=url, shape=shape, token=token, command_line=command_line)
    notifier = Notifier(
        name=name,
        kind=kind,
        url=_checked_url(kind, _from_stdin(url, "--url")) if url is not None else "",
        format=PayloadFormat(shape) if shape else PayloadFormat.JSON,
        token=_checked_token(_from_stdin(token, "--token")) if token is not None else "",
        command=_checked_command(command_line) if command_line is not None else (),
        fleet_id=fleet_id,
        events=_checked_events(events) if events is not None else (),
        min_interval=float(min_interval),
    )
    if kind in (NotifierKind.WEBHOOK, NotifierKind.NTFY) and not notifier.url:
        raise InvalidInput(f"a {kind} notifier needs --url URL (or --url - to read it from stdin)")
    if kind is NotifierKind.COMMAND and not notifier.command:
        raise InvalidInput("a command notifier needs --command COMMAND")
    if kind is NotifierKind.DESKTOP and shutil.which("notify-send") is None:
        raise Refused(
            "notify-send is not installed on this machine, so a desktop notifier cannot show anything; "
            "install it (Debian, Ubuntu: apt install libnotify-bin) or add a webhook or ntfy notifier instead"
        )
    if fleet_id is not None:
        _check_fleet(fleet_id)
    with changing() as box:
        if box[0].named(name) is not None:
            raise Conflict(
                f"a notifier named '{name}' exists already; remove it first (cafleet notify remove {name}) or pick another name"
            )
        box[0] = box[0]._replace(notifiers=(*box[0].notifiers, notifier))
    emit(_json(notifier), lambda: f"Added notifier {_line(notifier)}")


@notify_group.command("list", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
def list_command():
    """The notifiers (secrets masked), each with its last delivery. With --fleet-id: those that reach that fleet."""
    from cafleet.services.notifier_config import load

    config = load()
    fleet_id = settings().fleet_id
    notifiers = [n for n in config.notifiers if fleet_id is None or n.fleet_id in (None, fleet_id)]
    last = _last_deliveries([n.name for n in notifiers])
    document = [_json(n) | {"last_delivery": last.get(n.name)} for n in notifiers]

    def render() -> str:
        if not notifiers:
            return "no notifiers; add one with: cafleet notify add NAME --kind webhook|ntfy|desktop|command ..."
        return "\n".join(_line(n) + _last_words(last.get(n.name)) for n in notifiers)

    emit(document, render)


@notify_group.command("remove", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.argument("name")
def remove_command(name):
    """Remove the notifier NAME (its deliveries not sent yet are dropped)."""
    from cafleet.services.notifier_config import changing

    _refuse_from_agent_pane("notify remove")
    with changing() as box:
        found = box[0].named(name)
        if found is None:
            raise NotFound(f"no notifier named '{one_line(name)[:60]}'; `cafleet notify list` shows them")
        box[0] = box[0]._replace(notifiers=tuple(n for n in box[0].notifiers if n is not found))
    _drop_waiting(found.name)
    emit({"name": found.name, "removed": True}, lambda: f"Removed notifier {found.name}")


@notify_group.command("test", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.argument("name")
def test_command(name):
    """Send NAME a test event now, and say what happened (exit 1 when it failed)."""
    import uuid

    from cafleet.core.notify import NotifyEvent
    from cafleet.core.timestamps import utc_now
    from cafleet.services.notifier_config import load
    from cafleet.services.notify_payloads import notice_of
    from cafleet.services.notify_send import SendFailed, send

    notifier = load().named(name)
    if notifier is None:
        raise NotFound(f"no notifier named '{one_line(name)[:60]}'; `cafleet notify list` shows them")
    event = NotifyEvent(
        0, EventKind.TEST, None, None, None, "cafleet test", f"A test from cafleet to the notifier {notifier.name}.", utc_now()
    )
    try:
        outcome, ok = send(notifier, notice_of([event])), True
    except SendFailed as exc:
        outcome, ok = str(exc), False
    _record_test(notifier.name, event, ok, outcome, f"test:{uuid.uuid4().hex}")
    if not ok:
        raise Refused(f"the test to {notifier.name} ({notifier.shown_target()}) failed: {outcome}")
    emit(
        {"name": notifier.name, "sent": True, "outcome": outcome},
        lambda: f"Sent a test to {notifier.name} ({notifier.shown_target()}): {outcome}",
    )


@notify_group.command("thresholds", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option(
    "--idle-unread",
    type=Seconds(1, 7 * 86400),
    metavar="SECONDS",
    help="A member idle this long with unread messages is an event.",
)
@click.option(
    "--stalled",
    type=Seconds(1, 7 * 86400),
    metavar="SECONDS",
    help="A member busy this long with no change on its screen is an event.",
)
def thresholds_command(idle_unread, stalled):
    """Show (or set) when a member counts as idle with unread messages, or as stalled (default 600 s each)."""
    from cafleet.services.notifier_config import changing, load

    if idle_unread is None and stalled is None:
        config = load()
    else:
        _refuse_from_agent_pane("notify thresholds")
        with changing() as box:
            if idle_unread is not None:
                box[0] = box[0]._replace(idle_unread_seconds=float(idle_unread))
            if stalled is not None:
                box[0] = box[0]._replace(stalled_seconds=float(stalled))
            config = box[0]
    document = {"idle_unread_seconds": config.idle_unread_seconds, "stalled_seconds": config.stalled_seconds}
    emit(document, lambda: f"idle-unread after {config.idle_unread_seconds:g} s; stalled after {config.stalled_seconds:g} s")


# -- checking input ---------------------------------------------------------------------------


def _refuse_from_agent_pane(command: str) -> None:
    from cafleet.cli.identity import pane_agents

    pane, here = pane_agents()
    if here:
        raise Refused(
            f"`cafleet {command}` changes the human's notifiers, and this {pane.describe()} is an agent's "
            f"({here[0].handle}); run it from your own terminal, outside every agent's pane"
        )


def _only_for(kind: NotifierKind, **given) -> None:
    allowed = {
        NotifierKind.WEBHOOK: {"url", "shape"},
        NotifierKind.NTFY: {"url", "token"},
        NotifierKind.DESKTOP: set(),
        NotifierKind.COMMAND: {"command_line"},
    }[kind]
    flags = {"url": "--url", "shape": "--format", "token": "--token", "command_line": "--command"}
    extra = [flags[key] for key, value in given.items() if value is not None and key not in allowed]
    if extra:
        raise InvalidInput(f"{', '.join(extra)} does not apply to a {kind} notifier; leave it out")


def _from_stdin(value: str, flag: str) -> str:
    if value != "-":
        return value
    read = sys.stdin.readline().strip()
    if not read:
        raise InvalidInput(f"{flag} - read nothing from stdin; pipe the value in, or give it after {flag}")
    return read


def _checked_url(kind: NotifierKind, url: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        parts, port_ok = None, False
    unsafe = any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or unsafe:
        shown = (
            masked_url(url) if parts is not None and parts.scheme in ("http", "https") else "(not shown: it may hold a secret)"
        )
        raise InvalidInput(
            f"--url {shown} is not an http:// or https:// URL with a host; give the full URL, e.g. https://ntfy.sh/TOPIC"
        )
    if kind is NotifierKind.NTFY and not parts.path.strip("/"):
        raise InvalidInput(f"--url {masked_url(url)} names no topic; an ntfy URL ends with the topic, e.g. https://ntfy.sh/TOPIC")
    return url


def _checked_token(token: str) -> str:
    if not token or any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in token):
        raise InvalidInput("--token is empty or holds spaces or control characters (not shown); give the token as ntfy issued it")
    return token


def _checked_command(line: str) -> tuple[str, ...]:
    try:
        argv = tuple(shlex.split(line))
    except ValueError as exc:
        raise InvalidInput(f"--command cannot be split into words ({exc}); quote it as a shell would") from None
    if not argv:
        raise InvalidInput("--command is empty; name the program that reads the event on stdin")
    program = argv[0]
    found = shutil.which(program) if "/" not in program else (program if Path(program).is_file() else None)
    if found is None:
        raise Refused(f"--command names '{one_line(program)[:80]}', which is not an executable on PATH; give its full path")
    return argv


def _checked_events(text: str) -> tuple[EventKind, ...]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in FILTERABLE_EVENTS]
    if unknown or not names:
        raise InvalidInput(
            f"--events '{one_line(text)[:80]}' names no known event{': ' + ', '.join(unknown) if unknown else ''}; "
            f"use some of {', '.join(FILTERABLE_EVENTS)}, comma-separated"
        )
    return tuple(dict.fromkeys(EventKind(n) for n in names))


def _check_fleet(fleet_id: int) -> None:
    from cafleet.broker.guards import live_fleet
    from cafleet.store.db import open_database

    open_database()
    live_fleet(fleet_id)


# -- output -----------------------------------------------------------------------------------


def _json(n: Notifier) -> dict:
    return {
        "name": n.name,
        "kind": n.kind.value,
        "target": n.shown_target(),
        "format": n.format.value if n.kind is NotifierKind.WEBHOOK else None,
        "fleet_id": n.fleet_id,
        "events": [e.value for e in n.events] or None,
        "min_interval": n.min_interval,
    }


def _line(n: Notifier) -> str:
    scope = f"fleet {n.fleet_id}" if n.fleet_id is not None else "every fleet"
    shape = f" ({n.format})" if n.kind is NotifierKind.WEBHOOK else ""
    events = ",".join(n.events) if n.events else "all events"
    return f"{n.name}: {n.kind}{shape} {n.shown_target()}; {scope}; {events}; at most one per {n.min_interval:g} s"


def _last_deliveries(names: list[str]) -> dict[str, dict]:
    """Each notifier's last delivery, when the database exists (an empty one is not made for it)."""
    if not names:
        return {}
    from cafleet.core.config import PostgresServer, database_target

    target = database_target()
    if not isinstance(target, PostgresServer) and not target.exists():
        return {}
    from cafleet.broker.notify_events import last_deliveries
    from cafleet.store.db import open_database

    open_database()
    return {name: last._asdict() for name, last in last_deliveries(names).items()}


def _drop_waiting(name: str) -> None:
    """Its events not sent yet are settled as failed: nobody will send them now."""
    from cafleet.core.config import PostgresServer, database_target

    target = database_target()
    if not isinstance(target, PostgresServer) and not target.exists():
        return
    from cafleet.broker.notify_events import drop_pending
    from cafleet.store.db import open_database

    open_database()
    drop_pending(name, "not sent: the notifier was removed")


def _last_words(last: dict | None) -> str:
    if not last or not last["at"]:
        waiting = f"; {last['waiting']} waiting" if last and last["waiting"] else ""
        return f"; never sent{waiting}"
    waiting = f"; {last['waiting']} waiting" if last["waiting"] else ""
    return f"; last {last['at']} {last['status']}: {one_line(last['outcome'] or '')}{waiting}"


def _record_test(name: str, event, ok: bool, outcome: str, key: str) -> None:
    from cafleet.broker.notify_events import record_test
    from cafleet.store.db import open_database

    try:
        open_database()
        record_test(name, event, ok, outcome, key)
    except Exception:  # noqa: BLE001  (no usable database: the test's outcome is printed all the same)
        pass
