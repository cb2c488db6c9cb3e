"""A fleet's usage over time (`fleet usage`): every member's, deleted members' too (their
conversations stay saved), per member, in total, and per hour or day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from cafleet.core.prices import PriceTable
from cafleet.core.records import AgentRecord
from cafleet.core.usage import Tokens
from cafleet.panes.member_usage import UsageReport, report

BUCKETS = ("hour", "day")


class Period(NamedTuple):
    start: str  # ISO-8601, UTC
    tokens: Tokens
    cost: float | None  # None when an answer in it is of a model with no price
    answers: int


class FleetUsage(NamedTuple):
    members: list[tuple[AgentRecord, UsageReport]]
    tokens: Tokens
    cost: float | None
    periods: list[Period]


def fleet_usage(agents: list[AgentRecord], prices: PriceTable, since: float | None, by: str) -> FleetUsage:
    from cafleet.broker.sessions import sessions_of

    sessions = sessions_of([a.id for a in agents])
    members = [(a, report(a, sessions[a.id], prices, since=since)) for a in agents if a.id in sessions]
    total = Tokens()
    cost: float | None = 0.0
    buckets: dict[str, tuple[Tokens, float | None, int]] = {}
    for _, shown in members:
        total = total + shown.tokens
        cost = None if cost is None or shown.cost is None else cost + shown.cost
        for answer in shown.usage.answers if shown.usage else ():
            if answer.at is None or (since is not None and answer.at < since):
                continue
            key = _bucket(answer.at, by)
            tokens, spent, count = buckets.get(key, (Tokens(), 0.0, 0))
            price = prices.price(answer.model)
            spent = None if spent is None or price is None else spent + price.cost(answer.tokens)
            buckets[key] = (tokens + answer.tokens, spent, count + 1)
    periods = [Period(key, *buckets[key]) for key in sorted(buckets)]
    return FleetUsage(members, total, cost, periods)


def _bucket(at: float, by: str) -> str:
    moment = datetime.fromtimestamp(at, UTC)
    if by == "day":
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:00Z")
