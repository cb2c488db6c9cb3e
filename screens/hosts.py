"""How the fleet view speaks of hosts: the roster's `on host` line, only in a fleet that spans
machines, and the warning about a host whose notices wait for a courier that is not there."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text

from cafleet.core.terminal import one_line

from .render import ROSTER_TEXT_WIDTH, clock, day, fit, host_line

if TYPE_CHECKING:
    from cafleet.broker.hosts_view import FleetHosts, HostState

UNKNOWN_HOST = "host unknown"  # placed before hosts were recorded


class HostMark(NamedTuple):
    """What the roster shows under a placed agent: where it runs, and whether the notices of
    that host are stuck."""

    label: str
    stuck: bool


def roster_hosts(hosts: FleetHosts) -> dict[int, HostMark]:
    """Agent id -> its host mark; none at all while the fleet lives on one machine, so a
    single-machine roster stays as it always was."""
    if not hosts.spans_hosts():
        return {}
    stuck = {h.host for h in hosts.stuck()}
    names = short_names({host for host in hosts.agent_hosts.values() if host is not None})
    marks = {}
    for agent_id, host in hosts.agent_hosts.items():
        room = ROSTER_TEXT_WIDTH - host_line(HostMark("", host in stuck)).cell_len
        label = fit(one_line(names[host]), room) if host is not None else UNKNOWN_HOST
        marks[agent_id] = HostMark(label, host in stuck)
    return marks


def short_names(hosts: set[str]) -> dict[str, str]:
    """Each host by its first DNS label (`build-3` for `build-3.lab.example.com`) where that
    label names one host only; addresses and clashing labels stay whole."""

    def first_label(host: str) -> str:
        return host if _is_address(host) else host.split(".", 1)[0]

    firsts = [first_label(host) for host in hosts]
    return {host: first_label(host) if firsts.count(first_label(host)) == 1 else host for host in hosts}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _since(stamp: str, now: str) -> str:
    """`09:00:06 UTC`, with the date when that was not today."""
    moment = f"{clock(stamp)} UTC"
    return moment if day(stamp) == day(now) else f"{day(stamp)} {moment}"


def courier_warning(hosts: FleetHosts) -> Text:
    """One line per host whose notices are stuck for want of a courier; empty when none is.
    Plain text, not markup: a host name (whatever CAFLEET_HOST_ID said) is shown as it is."""
    return Text("\n".join(_warning_line(h, hosts.read_at) for h in hosts.stuck()))


def _warning_line(state: HostState, now: str) -> str:
    host, count = one_line(state.host or ""), state.notices_waiting
    waiting = f"{count} notice{'s' if count != 1 else ''} waiting since {_since(state.waiting_since or now, now)}"
    if state.host is None:
        return f"⚠ No courier: {waiting}. Run `cafleet ui`, or any send or poll, where the agents' tmux runs."
    return f"⚠ {host}: no courier, {waiting}. Run `cafleet ui`, or any send or poll, on {host}."
