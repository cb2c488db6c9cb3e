"""Which machine this process runs on: the host id every placement records.

Keystrokes only ever go to panes of this host (tmux sockets and pane ids mean nothing on
another machine: `/tmp/tmux-1000/default` and `%0` exist on every one of them). The id is
the hostname, or `CAFLEET_HOST_ID` when set (tests run two "hosts" on one machine).
Kept free of heavy imports: agents call the CLI constantly.
"""

from __future__ import annotations

import os
import re

from cafleet.core.errors import InvalidInput

HOST_VARIABLE = "CAFLEET_HOST_ID"
HOST_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


def this_host() -> str:
    """`CAFLEET_HOST_ID` when set (validated), else this machine's hostname."""
    chosen = os.environ.get(HOST_VARIABLE)
    if chosen is None or chosen == "":
        return os.uname().nodename  # the hostname, without importing socket
    if not HOST_PATTERN.fullmatch(chosen):
        raise InvalidInput(
            f"{HOST_VARIABLE}={chosen!r} is not a host id; use 1-64 letters, digits, '.', '_' or '-' "
            f"(e.g. {HOST_VARIABLE}=build-01), or unset it to use this machine's hostname"
        )
    return chosen


def is_this_host(host: str | None) -> bool:
    """Whether a placement's host is this one. NULL is: the placement was made before hosts
    were recorded, on the one machine a SQLite database serves."""
    return host is None or host == this_host()
