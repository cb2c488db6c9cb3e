"""Finding the conversation a member's agent saved, when the agent picks its id itself (codex,
opencode): the courier looks for it once the agent submitted its first prompt, and records it
so `fleet restore` can resume the member.

Looking costs little for codex (a few file heads) and about a second of CPU for opencode (its
own `session list`): each member is looked for often while it is new, then seldom.
"""

from __future__ import annotations

import os
import time

from cafleet.backends import SessionProbe, backend
from cafleet.broker.sessions import found_session, unfound_sessions
from cafleet.core.records import SessionRecord
from cafleet.core.timestamps import parse_stamp

# Looked for every few seconds for its first two minutes (the first prompt is saved within
# seconds of the agent starting), then once a minute.
EARLY_SECONDS = 120.0
EARLY_EVERY_SECONDS = 5.0
LATER_EVERY_SECONDS = 60.0


def probe_of(session: SessionRecord) -> SessionProbe:
    """What finding this member's saved conversation needs."""
    from pathlib import Path

    return SessionProbe(
        cwd=Path(session.cwd),
        marker=session.marker,
        started_at=parse_stamp(session.started_at).timestamp(),
        environment={**os.environ, **session.state_environment},
        executable=session.executable,
    )


def find_saved_session(coding_agent: str, session: SessionRecord) -> str | None:
    """The id of the member's saved conversation: the recorded one, else found now (and recorded)."""
    if session.session_id is not None:
        return session.session_id
    found = backend(coding_agent).find_session(probe_of(session))
    if found is not None:
        found_session(session.agent_id, found)
    return found


class SessionWatch:
    """What one courier remembers between looks: when each member was last looked for."""

    def __init__(self) -> None:
        self._looked: dict[int, float] = {}

    def look(self) -> list[int]:
        """Look for the sessions of this host's members that are due a look; the ids found."""
        now = time.monotonic()
        found = []
        waiting = unfound_sessions()
        for unfound in waiting:
            session = unfound.session
            age = time.time() - parse_stamp(session.started_at).timestamp()
            every = EARLY_EVERY_SECONDS if age < EARLY_SECONDS else LATER_EVERY_SECONDS
            if now - self._looked.get(session.agent_id, -every) < every:
                continue
            self._looked[session.agent_id] = now
            if find_saved_session(unfound.coding_agent, session) is not None:
                found.append(session.agent_id)
        for agent_id in set(self._looked) - {unfound.session.agent_id for unfound in waiting}:
            del self._looked[agent_id]
        return found
