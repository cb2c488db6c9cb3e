"""`member list --activity`: pane liveness from one tmux query per server, plus message activity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

from cafleet.broker.agent_states import seen_states
from cafleet.broker.members import activity
from cafleet.core.agent_state import HELD
from cafleet.core.holds import Hold
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import AgentRecord
from cafleet.core.timestamps import parse_stamp, short, to_stamp
from cafleet.panes.observe import observe
from cafleet.panes.safety import PaneSurvey, pane_is_alive


class Activity(NamedTuple):
    pane_alive: bool
    pane_status: str
    state: str  # starting / ready / busy / asking / draft / retrying / limited / … / exited / gone
    question: str | None  # what the member asks, while `asking`
    reason: str  # what a held member's agent says (its provider's refusal), else why nothing may be typed
    resets: str  # when a held member's limit resets, as its agent shows it
    resets_at: str | None  # the same as a time, as the courier read it when first shown
    idle_seconds: int | None
    last_sent_at: str | None
    last_received_at: str | None
    last_acked_at: str | None
    unread: int

    def summary(self) -> str:
        idle = "-" if self.idle_seconds is None else f"{self.idle_seconds}s"
        asks = f" asks={self.question!r}" if self.question else ""
        if self.resets_at:
            asks += f" resets={short(self.resets_at)}"
        elif self.resets:
            asks += f" resets={self.resets!r}"
        return (
            f"state={self.state}{asks} pane={self.pane_status} idle={idle} unread={self.unread} "
            f"sent={short(self.last_sent_at)} received={short(self.last_received_at)} acked={short(self.last_acked_at)}"
        )


def member_activity(members: list[AgentRecord]) -> list[tuple[AgentRecord, Activity]]:
    """Idle time is the time since the member last sent or acked a message (or was spawned):
    tmux 3.3 keeps no per-pane activity clock, and cafleet sees only what the member does."""
    stats = activity([m.id for m in members])
    stored = seen_states([m.id for m in members])
    survey = PaneSurvey()
    now = datetime.now(UTC)
    rows = []
    for member in members:
        problem, pane = survey.problem(member.placement)
        alive = pane_is_alive(problem)
        server = survey.server(member.placement.tmux_socket) if member.placement is not None else None
        seen = observe(server, member.placement, pane)
        stat = stats[member.id]
        latest = max(s for s in (stat.last_sent_at, stat.last_acked_at, member.registered_at) if s)
        hold = stored[member.id].hold if member.id in stored and seen.state in HELD else Hold()
        rows.append(
            (
                member,
                Activity(
                    pane_alive=alive,
                    pane_status=_pane_status(problem, alive, member.placement),
                    state=seen.state.value,
                    question=seen.question,
                    reason=seen.reason if seen.state in HELD else "",
                    resets=seen.resets,
                    resets_at=to_stamp(hold.resets_at) if hold.resets_at is not None else None,
                    idle_seconds=int((now - parse_stamp(latest)).total_seconds()),
                    last_sent_at=stat.last_sent_at,
                    last_received_at=stat.last_received_at,
                    last_acked_at=stat.last_acked_at,
                    unread=stat.unread,
                ),
            )
        )
    return rows


def _pane_status(problem: PaneProblem | None, alive: bool, placement) -> str:
    if problem is None:
        return "alive"
    if problem is PaneProblem.OTHER_HOST:
        return f"on-host:{placement.host}"  # not looked at from here; its host's courier watches it
    return ("alive:" if alive else "dead:") + problem
