"""How the TUI shows what a member spent: a line in the roster (`64.0k tok $0.21 11%`: tokens
used, estimated cost, context fill) and a section in the agent detail; read from the agents'
own files in workers, on a cadence of their own (a member's answer changes no row).

Reading is incremental (`cafleet.backends.usage_files`): a look costs a `stat` per member and
a read of what its agent appended since.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual.message import Message

from cafleet.core.terminal import one_line

if TYPE_CHECKING:
    from cafleet.core.records import AgentRecord
    from cafleet.panes.member_usage import UsageReport

RECHECK_SECONDS = 10.0
# Context this full (percent) is shown in yellow, then red: the agent will compact soon.
FILLING, FULL = 70.0, 90.0


class UsageMark(NamedTuple):
    """A member's usage line in the roster."""

    tokens: int
    cost: float | None
    context_percent: float | None
    budget_percent: float | None


class UsageChecked(Message):
    """The marks of the fleet's members whose agents recorded answers, by agent id."""

    def __init__(self, marks: dict[int, UsageMark]):
        super().__init__()
        self.marks = marks


class UsageRead(Message):
    """One member's usage, read for its agent detail (None: nothing recorded, or no member)."""

    def __init__(self, report: UsageReport | None):
        super().__init__()
        self.report = report


def read_marks(members: list[AgentRecord]) -> dict[int, UsageMark]:
    """The marks of `members` (in a worker: it reads files). A price file that cannot be read
    leaves the costs unknown here; `member list --usage` says why."""
    from cafleet.core.errors import InvalidInput
    from cafleet.core.prices import BUILT_IN, PriceTable
    from cafleet.panes.member_usage import reports

    try:
        shown = reports(members)
    except InvalidInput:
        shown = reports(members, PriceTable(BUILT_IN))
    return {
        agent_id: UsageMark(r.tokens.total, r.cost, r.context_percent, r.budget_percent)
        for agent_id, r in shown.items()
        if r.usage is not None and r.tokens.total  # a conversation with no answer counted yet shows nothing
    }


def tokens_short(count: int) -> str:
    """`950`, `12.3k`, `4.56M`: a count in four or five columns."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k" if count < 100_000 else f"{count // 1000}k"
    return f"{count / 1_000_000:.2f}M" if count < 100_000_000 else f"{count // 1_000_000}M"


def _money(cost: float | None) -> str:
    from cafleet.panes.member_usage import money

    return money(cost)


def _fill_style(percent: float | None) -> str:
    if percent is None:
        return "dim"
    return "bold red" if percent >= FULL else "yellow" if percent >= FILLING else "dim"


def usage_line(mark: UsageMark) -> Text:
    """`64.0k tok $0.21 11%` (19 columns at most but for costs of $1,000 and more)."""
    # The space ends the first run: SVG drops a space that opens a run of its own.
    line = Text(f"{tokens_short(mark.tokens)} tok {_money(mark.cost)} ", style="dim")
    over = mark.budget_percent is not None and mark.budget_percent >= 100
    if over:
        line.stylize("bold red")
    fill = "?%" if mark.context_percent is None else f"{mark.context_percent:.0f}%"
    line.append(fill, style=_fill_style(mark.context_percent))
    return line


def usage_text(report: UsageReport) -> Text:
    """The agent detail's lines: tokens and cost, then the context and the budget."""
    from .render import DOT, SPACE, fields

    if report.usage is None:
        planned = f"budget {report.budget:,} tokens" if report.budget else None
        return fields(("Usage", "bold"), ("none recorded yet", "dim"), planned, sep=SPACE)
    tokens = report.tokens
    head = fields(
        ("Usage", "bold"),
        f"in {tokens.fresh:,}",
        f"out {tokens.output:,}",
        f"cached {tokens.cached:,}",
        (f"≈ {_money(report.cost)}", "bold"),
        sep=SPACE,
    )
    window = f"{report.context_window:,}" if report.context_window else "?"
    percent = f" ({report.context_percent:.0f} %)" if report.context_percent is not None else ""
    context = (f"context {report.context_used or 0:,} of {window}{percent}", _fill_style(report.context_percent))
    budget: tuple[str, str] | None = None
    if report.budget:
        used = report.budget_percent or 0.0
        budget = (f"budget {used:.0f} % of {report.budget:,}", "bold red" if used >= 100 else "yellow" if used >= 80 else "")
    model = one_line(report.model) if report.model else "model ?"  # the agent's file is not ours to trust
    return Text("\n").join([head, fields(context, budget, (model, "dim"), sep=DOT)])
