"""Reaping members whose `member create` died between registering them and recording their pane.

The spawner commits the member with a pending placement, splits the pane, then records the
pane id. Killed in between, it leaves an active member that never gets a pane id and, if the
split happened, a live agent pane nobody tracks. The placement names the spawning process and
a token that the pane's start command also carries: once that process is gone, the next
command that looks (`member list`, `member create`, `member delete`, the courier) closes any
pane carrying the token and removes the member.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import NamedTuple

from cafleet.broker import members as registry
from cafleet.broker.members import PendingSpawn, SpawnMark
from cafleet.core.timestamps import parse_stamp
from cafleet.panes.processes import process_ended, process_identity
from cafleet.services.tmux_probe import ServerSeen, probe_tmux

# For a pending member whose spawner cannot be checked (recorded in another pid namespace, or
# before spawners were recorded): a spawn takes well under a second, so after this long it died.
SPAWN_GRACE_SECONDS = 120
SPAWN_MARKER = "cafleet-spawn"


class Reaped(NamedTuple):
    spawn: PendingSpawn
    closed_panes: list[str]

    def note(self) -> str:
        who = f"its `member create` (pid {self.spawn.spawner_pid})" if self.spawn.spawner_pid else "its `member create`"
        closed = f" and closed its pane {', '.join(self.closed_panes)}" if self.closed_panes else ""
        return f"member {self.spawn.handle} never finished spawning ({who} died): removed it{closed}"


def spawn_mark() -> SpawnMark:
    """This process as the spawner of a new member, with a fresh token for its pane."""
    return SpawnMark(token=secrets.token_hex(8), pid=os.getpid(), identity=process_identity(os.getpid()))


def start_command(token: str, command: str) -> str:
    """`command` for the pane's shell, led by a no-op that carries the token (tmux keeps a
    pane's start command, so the pane can be found by it even if its id was never recorded)."""
    return f"true {SPAWN_MARKER} {token}; {command}"


def spawn_died(spawn: PendingSpawn, now: float | None = None) -> bool:
    if spawn.spawner_pid is not None and spawn.spawner_identity:
        ended = process_ended(spawn.spawner_pid, spawn.spawner_identity)
        if ended is not None:
            return ended
    return (now or time.time()) - parse_stamp(spawn.created_at).timestamp() > SPAWN_GRACE_SECONDS


def reap_dead_spawns(director_id: int | None = None) -> list[Reaped]:
    """Reap every pending member (of one Director, or all) whose spawner died."""
    return [done for spawn in registry.pending_spawns(director_id) if spawn_died(spawn) and (done := reap(spawn))]


def reap(spawn: PendingSpawn) -> Reaped | None:
    """Close the member's pane if one was made, then remove the member. Nothing is removed while
    its tmux server is out of reach (a sandbox): the pane would be left untracked."""
    if probe_tmux(spawn.tmux_socket) == ServerSeen.FORBIDDEN:
        return None
    closed = close_spawned_panes(spawn) if spawn.token else []
    if not registry.reap_spawn(spawn):
        return None
    return Reaped(spawn, closed)


def close_spawned_panes(spawn: PendingSpawn) -> list[str]:
    """Kill the panes whose start command carries the spawn's token; their ids."""
    from cafleet.panes.tmux import Tmux, TmuxError

    tmux = Tmux(spawn.tmux_socket)
    if tmux.server_pid is None:
        return []
    marker = f"{SPAWN_MARKER} {spawn.token}"
    closed = []
    for pane_id in tmux.panes_started_with(marker):
        try:
            tmux.kill_pane(pane_id)
            closed.append(pane_id)
        except TmuxError:
            pass  # it closed by itself meanwhile
    return closed
