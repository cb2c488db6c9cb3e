"""What the courier's state watch notices for the human's notifiers beyond what a Director is
told: a member idle while its messages stay unread, and a member busy with nothing changing
on its screen (stalled). Each spell is one event; only looked for while a notifier wants it."""

from __future__ import annotations

import time
from datetime import timedelta

from cafleet.broker import agent_states, notify_sources
from cafleet.broker.agent_states import Watched
from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.domain import AgentKind
from cafleet.core.holds import in_words
from cafleet.core.invocation import fleet_command
from cafleet.core.notify import EventKind
from cafleet.core.timestamps import parse_stamp, utc_now
from cafleet.services.notifier_config import ConfigWatch

TOLD_KEPT = 10_000


class AttentionWatch:
    def __init__(self):
        self._config = ConfigWatch()
        self._screens: dict[int, tuple[str, float]] = {}  # member -> (fingerprint, unchanged since: monotonic)
        self._told: set[str] = set()  # keys recorded by this courier (the database dedupes across couriers)

    def look(self, seen: list[tuple[Watched, Observation]]) -> bool:
        """Record the events these looks show; True when one is new."""
        config = self._config.current()
        wanted = {kind for n in config.notifiers for kind in (n.events or tuple(EventKind))}
        members = [(agent, observed) for agent, observed in seen if agent.kind == AgentKind.MEMBER]
        recorded = False
        if EventKind.STALLED in wanted:
            recorded |= self._stalls(members, config.stalled_seconds)
        else:
            self._screens.clear()
        if EventKind.IDLE_UNREAD in wanted:
            recorded |= self._idle(members, config.idle_unread_seconds)
        return recorded

    def _stalls(self, members: list[tuple[Watched, Observation]], after: float) -> bool:
        now, recorded = time.monotonic(), False
        busy = {agent.agent_id for agent, observed in members if observed.state is AgentState.BUSY}
        for gone in set(self._screens) - busy:
            del self._screens[gone]
        for agent, observed in members:
            if agent.agent_id not in busy:
                continue
            fingerprint, since = self._screens.get(agent.agent_id, ("", now))
            if fingerprint != observed.fingerprint:
                self._screens[agent.agent_id] = (observed.fingerprint, now)
                continue
            if now - since < after:
                continue
            busy_since = agent_states.state_since(agent.agent_id) or ""
            command = _command(agent, "member capture")
            spec = notify_sources.stalled(
                _handle(agent),
                agent.fleet_id,
                agent.agent_id,
                busy_since,
                fingerprint,
                in_words(timedelta(seconds=now - since)),
                command,
            )
            recorded |= self._record(spec, agent)
        return recorded

    def _idle(self, members: list[tuple[Watched, Observation]], after: float) -> bool:
        ready = [agent for agent, observed in members if observed.state is AgentState.READY]
        if not ready:
            return False
        unread = notify_sources.unread_of([agent.agent_id for agent in ready])
        states = agent_states.seen_states([agent.agent_id for agent in ready if agent.agent_id in unread])
        now, recorded = parse_stamp(utc_now()), False
        for agent in ready:
            state = states.get(agent.agent_id)
            if state is None or agent.agent_id not in unread:
                continue
            count, oldest = unread[agent.agent_id]
            idle_for = now - max(parse_stamp(state.changed_at), parse_stamp(oldest))
            if idle_for.total_seconds() < after:
                continue
            spec = notify_sources.idle_unread(
                _handle(agent),
                agent.fleet_id,
                agent.agent_id,
                state.changed_at,
                count,
                in_words(idle_for),
                _command(agent, "member ping"),
            )
            recorded |= self._record(spec, agent)
        return recorded

    def _record(self, spec: notify_sources.EventSpec, agent: Watched) -> bool:
        if spec.dedupe_key in self._told:
            return False
        new = notify_sources.record(spec, agent.fleet_id, agent.agent_id)
        if len(self._told) >= TOLD_KEPT:
            self._told.clear()  # only spares a query: the database dedupes all the same
        self._told.add(spec.dedupe_key)
        return new


def _handle(agent: Watched) -> str:
    return f"{agent.name}#{agent.agent_id}"


def _command(agent: Watched, what: str) -> str:
    return f"{fleet_command(agent.fleet_id)} {what} --agent-id {agent.placement.director_id} --member-id {agent.agent_id}"
