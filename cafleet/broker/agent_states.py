"""Each placed agent's state as the courier last saw it (with the hold a refused agent is in),
and the "needs you" message a Director gets when one of its members starts asking."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from cafleet.broker.convert import placement_record
from cafleet.broker.dialect import upsert
from cafleet.broker.host_scope import placed_here
from cafleet.broker.notifications import initial_notice, placements_of
from cafleet.broker.notify_sources import EventSpec, record
from cafleet.broker.revisions import next_revision
from cafleet.core.agent_state import HELD, AgentState, Observation
from cafleet.core.domain import NEEDS_YOU_TAG, AgentKind, AgentStatus, TaskKind, TaskState
from cafleet.core.holds import Hold, carried
from cafleet.core.records import PlacementRecord
from cafleet.core.timestamps import parse_stamp, to_stamp, utc_now
from cafleet.store.models import Agent, AgentStateRow, Fleet, Placement, Task, database


class SeenState(NamedTuple):
    agent_id: int
    state: AgentState
    reason: str
    question: str | None
    changed_at: str  # since when it shows this; for a held state, since it was first seen so
    hold: Hold = Hold()  # kept while a hold lasts (a flicker out of it included)


class Watched(NamedTuple):
    """A placed agent the courier keeps an eye on."""

    agent_id: int
    fleet_id: int
    name: str
    kind: str
    placement: PlacementRecord


def watched_agents() -> list[Watched]:
    """Every active agent of a live fleet placed on this host (only its panes can be looked at)."""
    query = (
        Placement.select(Placement, Agent)
        .join(Agent, on=(Placement.agent == Agent.id))
        .join(Fleet, on=(Agent.fleet == Fleet.id))
        .where((Agent.status == AgentStatus.ACTIVE) & Fleet.deleted_at.is_null() & placed_here())
    )
    return [Watched(p.agent.id, p.agent.fleet_id, p.agent.name, p.agent.kind, placement_record(p)) for p in query]


def seen_state(row: AgentStateRow) -> SeenState:
    """A stored row as a record."""
    return SeenState(row.agent_id, AgentState(row.state), row.reason, row.question, row.changed_at, stored_hold(row))


def stored_hold(row: AgentStateRow | None) -> Hold:
    if row is None:
        return Hold()
    return Hold(row.resets, _moment(row.resets_at), _moment(row.told_at), _moment(row.woken_at), row.wakes)


def seen_states(agent_ids: list[int]) -> dict[int, SeenState]:
    rows = AgentStateRow.select().where(AgentStateRow.agent.in_(agent_ids))
    return {r.agent_id: seen_state(r) for r in rows}


def in_hold(agent_id: int) -> bool:
    """Whether a hold on the agent lasts (it may be busy meanwhile: a request of its own retry
    in flight, or a turn the monitor's wake started that its provider may refuse again)."""
    row = AgentStateRow.get_or_none(AgentStateRow.agent == agent_id)
    return row is not None and (AgentState(row.state) in HELD or stored_hold(row) != Hold())


def record_state(agent_id: int, seen: Observation, now: datetime | None = None) -> bool:
    """Store what the agent's pane shows at `now` (aware; the agent's local zone reads the
    reset time it shows), and the hold it is in; only a change is written. True when the state
    changed."""
    now = now or datetime.now().astimezone()
    with database.atomic():
        row = AgentStateRow.get_or_none(AgentStateRow.agent == agent_id)
        was = AgentState(row.state) if row is not None else None
        since = parse_stamp(row.changed_at) if row is not None else now
        before = stored_hold(row)
        hold = carried(before, was, since, seen.state, seen.resets, now)
        same = row is not None and (row.state, row.reason, row.question) == (seen.state.value, seen.reason, seen.question)
        if same and hold == before:
            return False
        # A held agent whose words change (a countdown, a new attempt) is held since it first was.
        still = same or (was == seen.state and seen.state in HELD)
        upsert(
            AgentStateRow,
            agent=agent_id,
            state=seen.state.value,
            reason=seen.reason,
            question=seen.question,
            changed_at=row.changed_at if still and row is not None else to_stamp(now),
            resets=hold.resets,
            resets_at=_stamp(hold.resets_at),
            told_at=_stamp(hold.told_at),
            woken_at=_stamp(hold.woken_at),
            wakes=hold.wakes,
        )
        if was == AgentState.ASKING and seen.state != AgentState.ASKING:
            _withdraw_questions_to_the_human(agent_id)
    return not same


def _withdraw_questions_to_the_human(member_id: int) -> None:
    """The member's question was answered, by whatever route (the TUI, `member send-input`, the
    Director): its unread "needs you" messages in the human's inbox are withdrawn (canceled, as
    their sender would), so the inbox's badge counts only what still waits for the human. The
    Director's copies stay: it may be acting on one already."""
    waiting = (
        Task.select(Task.id, Task.fleet)
        .join(Agent, on=(Task.recipient == Agent.id))
        .where(
            (Task.sender == member_id)
            & (Agent.kind == AgentKind.ADMINISTRATOR)
            & (Task.state == TaskState.UNREAD)
            & Task.text.startswith(NEEDS_YOU_TAG)
        )
    )
    for task in list(waiting):
        now = utc_now()
        Task.update(state=TaskState.CANCELED, state_changed_at=now, revision=next_revision(task.fleet_id)).where(
            (Task.id == task.id) & (Task.state == TaskState.UNREAD)
        ).execute()


def _moment(stamp: str | None) -> datetime | None:
    return parse_stamp(stamp) if stamp else None


def _stamp(moment: datetime | None) -> str | None:
    return to_stamp(moment) if moment is not None else None


def record_lost(agent_ids: list[int], reason: str) -> list[int]:
    """Mark these agents `lost` (their panes went with their tmux server) in one transaction,
    writing only rows that do not say so already (it runs on every send while no server
    lives). The ids written."""
    already = {
        row.agent_id
        for row in AgentStateRow.select(AgentStateRow.agent).where(
            AgentStateRow.agent.in_(agent_ids) & (AgentStateRow.state == AgentState.LOST.value)
        )
    }
    stale = [agent_id for agent_id in agent_ids if agent_id not in already]
    if not stale:
        return []
    now = utc_now()
    with database.atomic():
        for agent_id in stale:
            upsert(AgentStateRow, agent=agent_id, state=AgentState.LOST.value, reason=reason, question=None, changed_at=now)
    return stale


def needs_you_text(fleet_command: str, director_id: int, member_id: int, question: str) -> str:
    return (
        f"{NEEDS_YOU_TAG} {question or 'a question is showing'} -- answer with: {fleet_command} member send-input "
        f"--agent-id {director_id} --member-id {member_id} --choice N (or --freetext TEXT); "
        f"see it with: {fleet_command} member capture --agent-id {director_id} --member-id {member_id}"
    )


def state_since(agent_id: int) -> str | None:
    """Since when the agent shows its recorded state (what tells one episode from the next)."""
    row = AgentStateRow.get_or_none(AgentStateRow.agent == agent_id)
    return row.changed_at if row is not None else None


def tell_director(member: Watched, text: str, event: EventSpec | None = None) -> list[int]:
    """One message from the asking member to its Director, and one to the Administrator (the
    human's inbox in the TUI), unless an unread one already says the same; and `event` for the
    human's notifiers, in the same transaction (once per its key). The new task ids."""
    director_id = member.placement.director_id
    if director_id is None:
        return []
    created = []
    with database.atomic():
        if event is not None:
            record(event, member.fleet_id, member.agent_id)
        administrator = Agent.get_or_none((Agent.fleet == member.fleet_id) & (Agent.kind == AgentKind.ADMINISTRATOR))
        recipients = [director_id] + ([administrator.id] if administrator is not None else [])
        placements = placements_of(recipients)
        now = utc_now()
        revision = next_revision(member.fleet_id)
        for recipient in recipients:
            duplicate = (
                Task.select()
                .where(
                    (Task.sender == member.agent_id)
                    & (Task.recipient == recipient)
                    & (Task.text == text)
                    & (Task.state == TaskState.UNREAD)
                )
                .exists()
            )
            if not duplicate:
                created.append(
                    Task.create(
                        fleet=member.fleet_id,
                        owner=recipient,
                        sender=member.agent_id,
                        recipient=recipient,
                        kind=TaskKind.UNICAST,
                        state=TaskState.UNREAD,
                        created_at=now,
                        state_changed_at=now,
                        text=text,
                        revision=revision,
                        **initial_notice(member.agent_id, recipient, placements, now),
                    ).id
                )
    return created
