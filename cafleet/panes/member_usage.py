"""What each member spent and how full its context is, read from its agent's own files.

`member list --usage`, `fleet usage`, the TUI and the courier's budget check all come here: a
member's saved conversation (`member_sessions`) names the file, its agent's reader
(`cafleet.backends.usage`) reads it, the price table (`cafleet.core.prices`) prices it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from cafleet.core.budget import Budget
from cafleet.core.prices import PriceTable
from cafleet.core.records import AgentRecord, SessionRecord
from cafleet.core.usage import MemberUsage, Tokens


class UsageReport(NamedTuple):
    """One member's usage as shown: nothing read (`usage` None) until its agent saved an answer."""

    agent_id: int
    coding_agent: str | None
    usage: MemberUsage | None
    tokens: Tokens
    cost: float | None  # US dollars; None when a model has no price
    model: str | None
    context_used: int | None
    context_window: int | None
    budget: int | None = None

    @property
    def context_percent(self) -> float | None:
        if self.context_used is None or not self.context_window:
            return None
        return 100 * self.context_used / self.context_window

    @property
    def budget_percent(self) -> float | None:
        return 100 * self.tokens.total / self.budget if self.budget else None

    def as_json(self) -> dict:
        return {
            "model": self.model,
            "answers": len(self.usage.answers) if self.usage else 0,
            "tokens": {
                "input": self.tokens.fresh,
                "cached": self.tokens.cached,
                "output": self.tokens.output,
                "total": self.tokens.total,
            },
            "cost_usd": None if self.cost is None else round(self.cost, 6),
            "context": {"used": self.context_used, "window": self.context_window, "percent": _rounded(self.context_percent)},
            "budget": None if self.budget is None else {"tokens": self.budget, "percent": _rounded(self.budget_percent)},
        }

    def summary(self) -> str:
        """One line of text: tokens, cost, context fill and budget."""
        budget = f" · budget {self.budget_percent:.0f} % of {self.budget:,}" if self.budget else ""
        if self.usage is None:
            return f"usage: none recorded yet{budget}"
        window = f"/{self.context_window:,}" if self.context_window else " (window ?)"
        fill = f" {self.context_percent:.0f} %" if self.context_percent is not None else ""
        context = f"context {self.context_used:,}{window}{fill}" if self.context_used is not None else "context ?"
        return (
            f"usage: in {self.tokens.fresh:,} · out {self.tokens.output:,} · cached {self.tokens.cached:,} · "
            f"{money(self.cost)} · {context} · {self.model or 'model ?'}{budget}"
        )


def money(cost: float | None) -> str:
    if cost is None:
        return "$?"
    return f"${cost:,.2f}" if cost >= 0.01 or cost == 0 else f"${cost:.4f}"


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def environment_of(session: SessionRecord) -> dict[str, str]:
    """Where the member's agent keeps its state, as its pane saw it."""
    return {**os.environ, **session.state_environment}


def coding_agent_of(member: AgentRecord, session: SessionRecord | None) -> str | None:
    """The member's coding agent: its placement's, else (a member deleted since) the built-in
    agent whose executable started it."""
    if member.placement is not None:
        return member.placement.coding_agent
    if session is None:
        return None
    from cafleet.backends import BACKENDS

    name = Path(session.executable).name
    return next((agent for agent, spec in BACKENDS.items() if spec.binary == name), None)


def read_usage(coding_agent: str | None, session: SessionRecord | None) -> MemberUsage | None:
    if coding_agent is None or session is None or not session.session_id:
        return None
    from cafleet.backends.usage import read_member_usage

    return read_member_usage(coding_agent, session.session_id, environment_of(session))


def report(
    member: AgentRecord,
    session: SessionRecord | None,
    prices: PriceTable,
    budget: Budget | None = None,
    since: float | None = None,
) -> UsageReport:
    coding_agent = coding_agent_of(member, session)
    usage = read_usage(coding_agent, session)
    if usage is None:
        return UsageReport(member.id, coding_agent, None, Tokens(), 0.0, None, None, None, budget and budget.tokens)
    return UsageReport(
        agent_id=member.id,
        coding_agent=coding_agent,
        usage=usage,
        tokens=usage.tokens(since),
        cost=prices.cost(usage, since),
        model=usage.model,
        context_used=usage.context_used,
        context_window=prices.context_window(usage),
        budget=budget and budget.tokens,
    )


def reports(
    members: Iterable[AgentRecord], prices: PriceTable | None = None, since: float | None = None
) -> dict[int, UsageReport]:
    """Each member's report, by agent id (its saved session and budget read in one query each)."""
    from cafleet.broker.budgets import budgets_of
    from cafleet.broker.sessions import sessions_of
    from cafleet.core.prices import load_prices

    members = list(members)
    prices = prices or load_prices()
    ids = [m.id for m in members]
    sessions = sessions_of(ids)
    budgets = budgets_of(ids)
    return {m.id: report(m, sessions.get(m.id), prices, budgets.get(m.id), since) for m in members}
