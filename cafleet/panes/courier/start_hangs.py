"""A member whose coding agent hung starting: its pane still blank a minute after it was made.

opencode sometimes never draws its first frame (its tracker has it as a freeze before its log
starts); the process lives on, and nothing typed reaches it. The agent never took a turn, so
nothing of the member's is lost by starting it again: the courier does so, once per member
while it runs, and tells the member's Director. If the new agent hangs too, its Director is
told the member is unreadable, as for any screen cafleet cannot read."""

from __future__ import annotations

from typing import NamedTuple

from cafleet.broker.agent_states import Watched

RESTARTED_TAG = "[restarted]"


class Restart(NamedTuple):
    done: bool
    said: str  # done: what the member's Director is told; else why it was not started again


class StartHangs:
    def __init__(self) -> None:
        self._restarted: set[int] = set()

    def restart(self, member: Watched) -> Restart:
        """Start the member's hung agent again, unless this courier did so once already."""
        if member.agent_id in self._restarted:
            return Restart(False, "it was started again once already, and hung again")
        self._restarted.add(member.agent_id)
        # Only here: restoring pulls in the spawn machinery, which the courier's start-up need not load.
        from cafleet.panes.prompt import HUNG_START_NOTE
        from cafleet.panes.restore import BROUGHT_BACK, Outcome, restart_member

        director_id = member.placement.director_id
        assert director_id is not None  # only members are watched for hung starts
        try:
            restarted = restart_member(member.fleet_id, director_id, member.agent_id, fresh=True, fresh_note=HUNG_START_NOTE)
        except Exception as exc:  # tmux or the database refused: its Director is told it is unreadable
            return Restart(False, f"{type(exc).__name__}: {exc}")
        if restarted.outcome not in BROUGHT_BACK:
            return Restart(False, f"{restarted.outcome}: {restarted.detail}")
        how = "on its conversation" if restarted.outcome == Outcome.RESUMED else "with its starting prompt"
        return Restart(
            True,
            f"{RESTARTED_TAG} {member.name}#{member.agent_id}'s {member.placement.coding_agent} showed nothing for a "
            f"minute after it started (its start hung), so cafleet started it again in pane {restarted.pane_id}, {how}. "
            "Its notices wait until it is ready.",
        )
