"""`fleet usage` as JSON and as text, and its `--since`."""

from __future__ import annotations

import re
import time

from cafleet.cli.output import fleet_line
from cafleet.core.errors import InvalidInput
from cafleet.core.records import FleetRecord
from cafleet.core.timestamps import parse_stamp, parse_user_time, short, to_stamp
from cafleet.core.usage import Tokens
from cafleet.panes.fleet_usage import FleetUsage
from cafleet.panes.member_usage import money

_AGO = re.compile(r"(\d{1,6})([mhd])")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def since_seconds(text: str) -> float:
    """`--since`: an ISO-8601 time, or a time ago (`90m`, `2h`, `3d`), as epoch seconds."""
    ago = _AGO.fullmatch(text.strip())
    if ago:
        return time.time() - int(ago[1]) * _UNIT_SECONDS[ago[2]]
    try:
        return parse_stamp(parse_user_time(text, "--since")).timestamp()
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}; or give a time ago such as 90m, 2h or 3d") from None


def tokens_json(tokens: Tokens) -> dict:
    return {"input": tokens.fresh, "cached": tokens.cached, "output": tokens.output, "total": tokens.total}


def _cost(cost: float | None) -> float | None:
    return None if cost is None else round(cost, 6)


def _since(start: float | None) -> str | None:
    from datetime import UTC, datetime

    return None if start is None else short(to_stamp(datetime.fromtimestamp(start, UTC)))


def fleet_usage_json(fleet: FleetRecord, spent: FleetUsage, start: float | None, by: str) -> dict:
    return {
        "fleet_id": fleet.id,
        "since": _since(start),
        "members": [
            {
                "agent_id": agent.id,
                "name": agent.name,
                "status": agent.status,
                "coding_agent": shown.coding_agent,
                "model": shown.model,
                "answers": sum(1 for a in shown.usage.answers if start is None or (a.at or 0) >= start) if shown.usage else 0,
                "tokens": tokens_json(shown.tokens),
                "cost_usd": _cost(shown.cost),
            }
            for agent, shown in spent.members
        ],
        "total": {"tokens": tokens_json(spent.tokens), "cost_usd": _cost(spent.cost)},
        "by": by,
        "periods": [
            {"start": p.start, "answers": p.answers, "tokens": tokens_json(p.tokens), "cost_usd": _cost(p.cost)}
            for p in spent.periods
        ],
    }


def _counts(tokens: Tokens, cost: float | None) -> str:
    return f"in {tokens.fresh:,} · out {tokens.output:,} · cached {tokens.cached:,} · {money(cost)}"


def fleet_usage_lines(fleet: FleetRecord, spent: FleetUsage, start: float | None, by: str) -> list[str]:
    since = f" since {_since(start)}" if start is not None else ""
    lines = [f"{fleet_line(fleet)}", f"Usage{since}:"]
    if not spent.members:
        return [*lines, "  No member has a saved conversation."]
    width = max(len(f"{a.name}#{a.id}") for a, _ in spent.members)
    for agent, shown in spent.members:
        gone = " (deleted)" if agent.status != "active" else ""
        lines.append(
            f"  {agent.name}#{agent.id:<{width - len(agent.name) - 1}}  {_counts(shown.tokens, shown.cost)}  {shown.coding_agent or '?'}{gone}"
        )
    lines.append(f"  {'total':<{width}}  {_counts(spent.tokens, spent.cost)}")
    if spent.periods:
        lines.append(f"Per {by} (UTC):")
        lines.extend(f"  {p.start}  {_counts(p.tokens, p.cost)}  {p.answers} answers" for p in spent.periods)
    return lines
