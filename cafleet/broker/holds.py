"""What the broker does about a held member (`cafleet.core.holds`): one message to its
Director (and the Administrator) per hold, and the monitor's wake-ups counted."""

from __future__ import annotations

from datetime import datetime

from cafleet.broker import notify_sources
from cafleet.broker.agent_states import Watched, stored_hold, tell_director
from cafleet.broker.monitor import runtime
from cafleet.core.agent_state import HELD, AgentState, Observation
from cafleet.core.holds import LONG_RETRY, Hold, WakePolicy, clock, in_words, next_wake, tell_due
from cafleet.core.invocation import fleet_command
from cafleet.core.terminal import one_line
from cafleet.core.timestamps import parse_stamp, to_stamp
from cafleet.store.models import AgentStateRow, database

# What happened, in the words a Director acts on.
_WHAT = {
    AgentState.RETRYING: "{who}'s provider keeps refusing it (for {held} now) and it keeps retrying",
    AgentState.LIMITED: "{who} hit its provider's limit",
    AgentState.AUTH_EXPIRED: "{who}'s provider refuses its login or key: log it in again in its pane",
    AgentState.CONTEXT_FULL: "{who}'s conversation no longer fits its model: compact it or start it anew",
}


def hold_tag(state: AgentState) -> str:
    """`[limited]`: how a hold's message starts."""
    return f"[{state}]"


def tell_of_hold(member: Watched, seen: Observation, now: datetime | None = None) -> list[int]:
    """Tell the member's Director (and the Administrator) of the hold the member is in, once
    per hold, when `core.holds.tell_due` says so. The new task ids."""
    if seen.state not in HELD or member.placement.director_id is None:
        return []
    now = now or datetime.now().astimezone()
    with database.atomic():
        row = AgentStateRow.get_or_none(AgentStateRow.agent == member.agent_id)
        if row is None or row.state != seen.state.value:
            return []  # not recorded yet: the next look tells
        since, hold = parse_stamp(row.changed_at), stored_hold(row)
        if not tell_due(seen.state, since, hold, now):
            return []
        text = hold_text(member, seen, since, hold, now)
        event = notify_sources.held(
            f"{member.name}#{member.agent_id}", member.fleet_id, member.agent_id, seen.state, row.changed_at, text
        )
        created = tell_director(member, text, event)
        AgentStateRow.update(told_at=to_stamp(now)).where(AgentStateRow.agent == member.agent_id).execute()
    return created


def hold_text(member: Watched, seen: Observation, since: datetime, hold: Hold, now: datetime) -> str:
    """`[limited] worker#5 hit its provider's limit: … It resets at 23:32 UTC (in 2h 10m). …`"""
    fleet = fleet_command(member.fleet_id)
    who = f"{member.name}#{member.agent_id}"
    said = f": {one_line(seen.reason).rstrip('.')}" if seen.reason else ""
    parts = [f"{hold_tag(seen.state)} {_WHAT[seen.state].format(who=who, held=in_words(now - since))}{said}."]
    if hold.resets_at is not None and seen.state != AgentState.RETRYING:
        parts.append(f"It resets at {clock(hold.resets_at, now)} UTC (in {in_words(hold.resets_at - now)}).")
    elif hold.resets_at is not None and hold.resets_at - now >= LONG_RETRY:
        parts.append(f"Its next try is at {clock(hold.resets_at, now)} UTC (in {in_words(hold.resets_at - now)}).")
    parts.append(f"Its notices wait until it takes input again; {_wake_words(member, seen, since, hold, now, fleet)}.")
    director = member.placement.director_id
    parts.append(f"See it with: {fleet} member capture --agent-id {director} --member-id {member.agent_id}")
    return " ".join(parts)


def _wake_words(member: Watched, seen: Observation, since: datetime, hold: Hold, now: datetime, fleet: str) -> str:
    if seen.state == AgentState.RETRYING:
        return "it tries again by itself"
    loop = runtime(member.fleet_id)
    running = loop is not None and loop.live
    when = next_wake(seen.state, since, hold, WakePolicy())
    if when is None or not seen.box_open:  # claude continues at the reset, opencode retries a while
        itself = "it goes on by itself" + (" at the reset" if hold.resets_at is not None else "")
        monitor = "the monitor" if running else f"the monitor (not running: start it with {fleet} monitor start)"
        return f"{itself}; should it stop trying, {monitor} wakes it"
    moment = f"at {clock(when, now)} UTC (in {in_words(when - now)})"
    if hold.resets_at is None:
        moment += ", then less often (at most hourly) while it stays held"
    if running:
        return f"the monitor wakes it {moment}"
    return f"the monitor would wake it {moment}, but it is not running: start it with {fleet} monitor start"


def note_wake(agent_id: int, now: datetime) -> None:
    """The monitor woke the agent at `now`: the next wake backs off further. Counted while the
    hold lasts, even if the courier saw the woken turn start first."""
    with database.atomic():
        row = AgentStateRow.get_or_none(AgentStateRow.agent == agent_id)
        if row is None or (AgentState(row.state) not in HELD and stored_hold(row) == Hold()):
            return
        AgentStateRow.update(woken_at=to_stamp(now), wakes=AgentStateRow.wakes + 1).where(
            AgentStateRow.agent == agent_id
        ).execute()
