"""Which placed agents are `lost` (their pane is gone for sure), as a process on their host
can tell: their pane closed, another tmux server on their socket, or their server gone.

A server is gone when this process sees no server answer at its socket (`ServerSeen.DEAD`),
or when the socket's directory is missing and the machine booted after the placement was
made: a reboot ends every tmux server and usually empties /tmp, so the directory is missing
then, as it is for a sandbox with a private /tmp (which alone proves nothing). Asking costs a
`connect`, no tmux. A pending spawn (no pane id yet) has nothing to lose: it is `starting`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from cafleet.broker import agent_states
from cafleet.broker.agent_states import SeenState
from cafleet.core.agent_state import AgentState
from cafleet.core.hosts import is_this_host
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import PlacementRecord
from cafleet.core.timestamps import parse_stamp, utc_now
from cafleet.services.tmux_probe import ServerSeen, probe_tmux


def booted_at() -> datetime | None:
    """When this machine last booted (None where the clock for it is missing)."""
    clock = getattr(time, "CLOCK_BOOTTIME", None)
    if clock is None:
        return None
    return datetime.fromtimestamp(time.time() - time.clock_gettime(clock), UTC)


def server_gone(placement: PlacementRecord, seen: ServerSeen | None = None) -> bool:
    """Whether the tmux server `placement` was made on is gone for good (`seen`: its socket's
    probe, when the caller has one)."""
    seen = probe_tmux(placement.tmux_socket) if seen is None else seen
    if seen is ServerSeen.DEAD:
        return True
    if seen is not ServerSeen.UNSEEN:
        return False
    boot = booted_at()
    return boot is not None and parse_stamp(placement.created_at) < boot


def lost_because(placement: PlacementRecord | None, problem: PaneProblem | None) -> PaneProblem | None:
    """`problem` (`cafleet.panes.safety.target_problem`'s answer) when it means the agent's
    pane is gone for sure; None when its pane lives, is being spawned, is another host's, or
    only cannot be seen from here."""
    if problem in (PaneProblem.OTHER_TMUX_SERVER, PaneProblem.PANE_GONE):
        return problem
    if problem is PaneProblem.TMUX_SERVER_GONE and placement is not None and server_gone(placement):
        return problem
    return None


def looks_lost(placement: PlacementRecord | None) -> bool:
    """Whether a placed agent's tmux server is gone, asked of its socket from this host (one
    `connect`): false for a pending spawn, a pane on another host, or no pane at all."""
    return placement is not None and not placement.pending and is_this_host(placement.host) and server_gone(placement)


def seen_now(agent_id: int, seen: SeenState | None, placement: PlacementRecord | None) -> SeenState | None:
    """The state to show for an agent: what the courier last recorded, unless this process sees
    its tmux server gone (the courier, which leaves with the last server, may not have)."""
    if (seen is None or seen.state is not AgentState.LOST) and looks_lost(placement):
        return SeenState(agent_id, AgentState.LOST, PaneProblem.TMUX_SERVER_GONE, None, utc_now())
    return seen


def mark_lost(probes: dict[str, ServerSeen]) -> list[int]:
    """Record `lost` for every agent placed on this host on a server `probes` (socket ->
    probe) shows gone; the ids written (an agent already marked lost is not written again)."""
    lost = [
        agent.agent_id
        for agent in agent_states.watched_agents()
        if not agent.placement.pending
        and agent.placement.tmux_socket in probes
        and server_gone(agent.placement, probes[agent.placement.tmux_socket])
    ]
    return agent_states.record_lost(lost, PaneProblem.TMUX_SERVER_GONE) if lost else []
