"""The default JSON of `message poll` and `agent list`: only what the text shows, no repeats.

Agents pay for every byte they read. A poll's recipient is always the caller, its fleet is the
one on the command line, and an unread message's state, change time and notice outcome say
nothing new, so none of them is repeated per message; `--full` prints the whole record
(`output.task_json` / `output.agent_json`). Keys are omitted rather than null.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cafleet.cli.output import shown_text
from cafleet.core.domain import TaskKind

if TYPE_CHECKING:
    from cafleet.core.records import AgentRecord, TaskRecord


def handle(name: str | None, agent_id: int | None) -> str:
    """`name#id`, the form every output prints and `--to` accepts."""
    return f"{name}#{agent_id}"


def brief_task(task: TaskRecord, include_read: bool) -> dict:
    text, cut = shown_text(task.text, False)
    document: dict = {"task_id": task.id, "from": handle(task.from_name, task.from_agent_id)}
    if task.kind == TaskKind.BROADCAST:
        document["origin_task_id"] = task.origin_task_id
    if task.reply_to_id is not None:
        document["reply_to_id"] = task.reply_to_id
    if include_read:  # a page of old and new messages: when, and whether it is settled
        document["created_at"] = task.created_at
        document["state"] = task.state
        if task.acked_at:
            document["acked_at"] = task.acked_at
    document["text"] = text
    if cut:
        document["text_truncated"] = True
    return document


def brief_agent(agent: AgentRecord) -> dict:
    document: dict = {"agent_id": agent.id, "name": agent.name, "kind": agent.kind, "status": agent.status}
    placement = agent.placement
    if placement is not None:
        document["pane"] = placement.tmux_pane_id or "pending"
        document["coding_agent"] = placement.coding_agent
    if agent.description:
        document["description"] = agent.description
    return document
