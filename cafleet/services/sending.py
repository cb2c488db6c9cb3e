"""Sending a message, as every face does it: record it, then make sure a courier types its notice.

The broker only records (a notice starts `pending`); without a courier nothing ever reaches
the recipient's pane. Faces call these instead of the broker functions so no face can forget
the second step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cafleet.core.records import BroadcastSent, TaskRecord


def send(fleet_id: int, agent_id: int, to: str, text: str, reply_to: int | None = None, source: str | None = None) -> TaskRecord:
    """One message from `agent_id` to `to` (an id, a name or name#id)."""
    from cafleet.broker.messages import send_message
    from cafleet.services.courier_launcher import ensure_courier

    task = send_message(fleet_id, agent_id, to, text, reply_to=reply_to, source=source)
    ensure_courier()
    return task


def broadcast(fleet_id: int, agent_id: int, text: str, source: str | None = None) -> BroadcastSent:
    """One message to every other active agent of the fleet but the Administrator."""
    from cafleet.broker.messages import broadcast_message
    from cafleet.services.courier_launcher import ensure_courier

    sent = broadcast_message(fleet_id, agent_id, text, source=source)
    ensure_courier()
    return sent
