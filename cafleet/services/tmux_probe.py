"""Whether a tmux server answers at a socket, asked without tmux or libtmux (one connect).

Cheap enough for every send and poll. It tells a server that is gone (safe to settle its
notices) from one this process cannot see (a sandbox's private /tmp) or may not reach.
"""

from __future__ import annotations

import errno
import os
import socket
from enum import StrEnum


class ServerSeen(StrEnum):
    LIVE = "live"  # a tmux server answers
    DEAD = "dead"  # none does, and this process can see so: its panes are gone
    FORBIDDEN = "forbidden"  # a sandbox keeps this process from the socket
    UNSEEN = "unseen"  # the socket's directory is not there for this process (a private /tmp)


def probe_tmux(socket_path: str) -> ServerSeen:
    """What this process can tell of the tmux server at `socket_path`. A killed server leaves
    its socket file behind (connecting is refused); one that exited removes it from a
    directory we can see; a missing directory means we see another /tmp than the server's."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(socket_path)
    except OSError as exc:
        if exc.errno in (errno.EPERM, errno.EACCES):
            return ServerSeen.FORBIDDEN
        if exc.errno == errno.ENOENT and not os.path.isdir(os.path.dirname(socket_path)):
            return ServerSeen.UNSEEN
        return ServerSeen.DEAD
    finally:
        probe.close()
    return ServerSeen.LIVE


def can_reach_tmux(socket_path: str) -> bool:
    """Whether this process may talk to the tmux server at `socket_path` (a sandbox says no)."""
    return probe_tmux(socket_path) != ServerSeen.FORBIDDEN


def probe_servers(sockets: set[str]) -> dict[str, ServerSeen]:
    """`probe_tmux` for each socket."""
    return {path: probe_tmux(path) for path in sockets}


def dead_servers(probes: dict[str, ServerSeen]) -> set[str]:
    """The sockets seen dead: only their notices may be settled as unreachable."""
    return {path for path, seen in probes.items() if seen == ServerSeen.DEAD}
