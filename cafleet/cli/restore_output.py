"""How `fleet restore` and `member restart` say what became of each member."""

from __future__ import annotations

from cafleet.core.text import counted
from cafleet.panes.restore import BROUGHT_BACK, FleetRestore, MemberRestore, Outcome

RESTORED_TAG = "[restored]"

_SAID = {
    Outcome.RESUMED: "resumed its conversation {session} in pane {pane}",
    Outcome.STARTED_FRESH: "started anew with its starting prompt in pane {pane} (its conversation could not be resumed)",
    Outcome.ADOPTED: "running in pane {pane}, started by an interrupted restore: recorded",
    Outcome.RUNNING: "still running in pane {pane}: left alone",
    Outcome.NOT_RESUMABLE: "still lost: {detail}",
    Outcome.BUSY: "left alone: {detail}",
    Outcome.ELSEWHERE: "left alone: {detail}",
    Outcome.FAILED: "still lost: {detail}",
    Outcome.WOULD_RESUME: "would resume its conversation {session}",
    Outcome.WOULD_START_FRESH: "would start anew with its starting prompt (its conversation cannot be resumed)",
}


def member_line(restored: MemberRestore, dry_run: bool = False) -> str:
    said = _SAID[restored.outcome].format(session=restored.session_id or "", pane=restored.pane_id or "", detail=restored.detail)
    if dry_run:
        said = said.replace("still lost:", "would stay lost:")
    member = restored.member
    coding_agent = member.placement.coding_agent if member.placement else "?"
    return f"{member.handle} ({coding_agent}): {said}"


def member_json(restored: MemberRestore) -> dict:
    return {
        "member_id": restored.member.id,
        "name": restored.member.name,
        "outcome": restored.outcome,
        "session_id": restored.session_id,
        "pane_id": restored.pane_id,
        "detail": restored.detail or None,
    }


def restore_lines(restored: FleetRestore) -> list[str]:
    fleet_id = restored.director.fleet_id
    members = restored.members
    back = [m for m in members if m.outcome in BROUGHT_BACK]
    if restored.dry_run:
        head = f"Fleet {fleet_id}, dry run (nothing changed): " + (
            f"{counted(len([m for m in members if m.outcome in (Outcome.WOULD_RESUME, Outcome.WOULD_START_FRESH)]), 'member')} would be restored."
        )
    elif not members:
        head = f"Fleet {fleet_id} has no members to restore."
    elif all(m.outcome == Outcome.RUNNING for m in members) and not restored.director_moved:
        head = f"Fleet {fleet_id}: every member's pane is running; nothing to restore."
    else:
        still = restored.still_lost
        busy = [m for m in members if m.outcome == Outcome.BUSY]
        head = (
            f"Fleet {fleet_id}: {counted(len(back), 'member')} brought back"
            + (f", {len(busy)} being restored by another process" if busy else "")
            + (f", {counted(len(still), 'member')} still lost." if still else ".")
        )
    lines = [head]
    if restored.director_moved:
        moved = "would move" if restored.dry_run else "moved"
        lines.append(f"The Director ({restored.director.handle}) {moved} to this pane, {restored.director_pane}.")
    lines += [f"  {member_line(m, restored.dry_run)}" for m in members]
    if back:
        lines.append("What was waiting for them is delivered as each becomes ready.")
    if restored.director_moved and not restored.dry_run:
        lines.append(f"If the fleet's monitor ran before, start it again: cafleet --fleet-id {fleet_id} monitor start")
    return lines


def restore_json(restored: FleetRestore) -> dict:
    return {
        "fleet_id": restored.director.fleet_id,
        "dry_run": restored.dry_run,
        "director": {"agent_id": restored.director.id, "pane_id": restored.director_pane, "moved": restored.director_moved},
        "members": [member_json(m) for m in restored.members],
    }


def tell_director_of_fresh_starts(restored: FleetRestore) -> None:
    """The Director hears which members lost their conversations: they know nothing of the work."""
    fresh = [m.member.handle for m in restored.members if m.outcome == Outcome.STARTED_FRESH]
    if fresh:
        tell_director_fresh(restored.director.fleet_id, restored.director.id, fresh)


def tell_director_fresh(fleet_id: int, director_id: int, handles: list[str]) -> None:
    from cafleet.broker.restores import tell_director

    who = ", ".join(handles)
    verb = "was" if len(handles) == 1 else "were"
    tell_director(
        fleet_id,
        director_id,
        f"{RESTORED_TAG} {who} {verb} started anew: the earlier conversation could not be resumed. "
        "Tell them where the work stands.",
    )
