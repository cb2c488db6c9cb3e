"""How any shell reaches this same cafleet: an absolute command, not a PATH lookup.

A member's shell tool may run a login shell (codex: `bash -lc`, whose /etc/profile resets
PATH) or a sandboxed one, and cafleet may have come from pipx, `uv tool` or an activated
virtualenv. Only an absolute path finds the same program, and so the same database code, in
all of them; the permission rules granted to members name the same words.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from functools import cache


@cache
def cafleet_words() -> tuple[str, ...]:
    """The argv prefix that runs this cafleet from any shell."""
    script = sys.argv[0] if sys.argv else ""
    if os.path.basename(script) == "cafleet" and os.path.isfile(script) and os.access(script, os.X_OK):
        return (os.path.abspath(script),)
    sibling = os.path.join(os.path.dirname(sys.executable), "cafleet")
    if os.path.isfile(sibling) and os.access(sibling, os.X_OK):
        return (sibling,)
    found = shutil.which("cafleet")
    if found:
        return (os.path.abspath(found),)
    return (sys.executable, "-m", "cafleet")


def cafleet_command() -> str:
    """`cafleet_words` as shell text, e.g. `/home/me/.local/bin/cafleet`."""
    return shlex.join(cafleet_words())


def fleet_command(fleet_id: int) -> str:
    """The prefix of every command an agent of `fleet_id` runs (what permission rules allow)."""
    return f"{cafleet_command()} --fleet-id {fleet_id}"
