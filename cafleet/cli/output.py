"""Turning records into the CLI's output: stable snake_case JSON, or compact text lines.

Names, descriptions, message text and pane text are untrusted: text output shows their
control and bidi characters escaped (`cafleet.core.terminal`), JSON keeps them exact.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cafleet.cli.settings import settings
from cafleet.core.config import max_text_len
from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.terminal import block, json_text, one_line
from cafleet.core.text import counted, truncate
from cafleet.core.timestamps import short

if TYPE_CHECKING:
    from cafleet.core.records import AgentRecord, FleetRecord, PlacementRecord, TaskRecord


def emit(document, render, raw: bool = False) -> None:
    """Print `document` as JSON under --json/--pretty, else the text lines `render()` returns.

    Text is printed with control characters escaped, except with `raw` (`capture --ansi`,
    whose caller asked for the pane's escape sequences)."""
    opts = settings()
    if opts.json or opts.pretty:
        indent = 2 if opts.pretty else None
        separators = None if opts.pretty else (",", ":")
        click.echo(json_text(json.dumps(document, indent=indent, separators=separators, ensure_ascii=False)))
    else:
        text = render()
        if text:
            click.echo(text if raw else block(text))


def note(message: str) -> None:
    """A hint for the reader that is not part of the document (stderr, so JSON stays clean)."""
    click.echo(block(message), err=True)


def wants_json() -> bool:
    opts = settings()
    return opts.json or opts.pretty


def shown_text(text: str, full: bool) -> tuple[str, bool]:
    return (text, False) if full else truncate(text, max_text_len())


def fleet_json(fleet: FleetRecord) -> dict:
    return {
        "fleet_id": fleet.id,
        "label": fleet.label,
        "director_agent_id": fleet.director_id,
        "active_agents": fleet.active_agents,
        "unread": fleet.unread,
        "created_at": fleet.created_at,
        "deleted_at": fleet.deleted_at,
    }


def placement_json(placement: PlacementRecord | None) -> dict | None:
    if placement is None:
        return None
    return {
        "director_id": placement.director_id,
        "coding_agent": placement.coding_agent,
        "host": placement.host,
        "tmux_socket": placement.tmux_socket,
        "tmux_server_pid": placement.tmux_server_pid,
        "tmux_session": placement.tmux_session,
        "tmux_window_id": placement.tmux_window_id,
        "tmux_pane_id": placement.tmux_pane_id,
        "created_at": placement.created_at,
    }


def agent_json(agent: AgentRecord) -> dict:
    return {
        "agent_id": agent.id,
        "fleet_id": agent.fleet_id,
        "name": agent.name,
        "kind": agent.kind,
        "status": agent.status,
        "description": agent.description,
        "skills": agent.skills,
        "registered_at": agent.registered_at,
        "deregistered_at": agent.deregistered_at,
        "placement": placement_json(agent.placement),
    }


def task_json(task: TaskRecord, full: bool) -> dict:
    text, cut = shown_text(task.text, full)
    document = {
        "task_id": task.id,
        "fleet_id": task.fleet_id,
        "kind": task.kind,
        "state": task.state,
        "from_agent_id": task.from_agent_id,
        "from_name": task.from_name,
        "to_agent_id": task.to_agent_id,
        "to_name": task.to_name,
        "origin_task_id": task.origin_task_id,
        "reply_to_id": task.reply_to_id,
        "text": text,
        "text_truncated": cut,
        "created_at": task.created_at,
        "state_changed_at": task.state_changed_at,
        "acked_at": task.acked_at,
        "notify_status": task.notify_status,
    }
    if full:
        document["notified_at"] = task.notified_at
    if task.kind == TaskKind.BROADCAST_SUMMARY:
        document["recipient_count"] = len(task.deliveries)
        document["deliveries"] = [
            {
                "task_id": d.id,
                "to_agent_id": d.to_agent_id,
                "to_name": d.to_name,
                "state": d.state,
                "acked_at": d.acked_at,
                "notify_status": d.notify_status,
            }
            for d in task.deliveries
        ]
    return document


def agent_line(agent: AgentRecord) -> str:
    parts = [str(agent.id), one_line(agent.name), agent.kind, agent.status]
    if agent.placement is not None:
        pane = agent.placement.tmux_pane_id or "pending"
        parts.append(f"pane={one_line(pane)} {agent.placement.coding_agent}")
    line = " ".join(parts)
    if agent.description:
        line += " - " + one_line(truncate(agent.description.replace("\n", " "), 60)[0])
    return line


def quoted(label: str) -> str:
    """A label as a JSON string: quoted, so an empty one shows, and escaped for the terminal."""
    return json_text(json.dumps(label, ensure_ascii=False))


def fleet_line(fleet: FleetRecord) -> str:
    line = (
        f"{fleet.id} {quoted(fleet.label)} agents={fleet.active_agents} unread={fleet.unread} created={short(fleet.created_at)}"
    )
    if fleet.deleted_at:
        line += f" deleted={short(fleet.deleted_at)}"
    return line


def task_lines(task: TaskRecord, full: bool, with_state: bool = False, detail: bool = False, recipient: bool = False) -> str:
    """A header line and the text indented by two spaces (so text can never pass for a header).

    `full` only lifts the length cut. `detail` (`message show`) adds the recipient and the
    notice's outcome; `recipient` (search: sent and received mixed) only the recipient. In a
    poll the recipient is always the caller, so it is never repeated.
    """
    header = [f"#{task.id}", f"from {one_line(task.from_name)}#{task.from_agent_id}"]
    if task.kind == TaskKind.BROADCAST_SUMMARY:
        header.append(f"to {counted(len(task.deliveries), 'agent')}")
    elif detail or recipient:
        header.append(f"to {one_line(task.to_name or '?')}#{task.to_agent_id}")
    header.append(short(task.created_at))
    if task.kind == TaskKind.BROADCAST:
        header.append(f"broadcast={task.origin_task_id}")
    if task.reply_to_id is not None:
        header.append(f"reply-to={task.reply_to_id}")
    if task.kind != TaskKind.BROADCAST_SUMMARY and (with_state or task.state != TaskState.UNREAD):
        header.append(_state_word(task))
    if detail and task.kind != TaskKind.BROADCAST_SUMMARY:
        header.append(f"notify={one_line(task.notify_status or 'none')}")
    text, _ = shown_text(task.text, full)
    lines = [" ".join(header)]
    lines.extend("  " + block(line) for line in text.split("\n"))
    for delivery in task.deliveries:
        lines.append(f"  -> #{delivery.id} {one_line(delivery.to_name)}#{delivery.to_agent_id} {_state_word(delivery)}")
    return "\n".join(lines)


def _state_word(task: TaskRecord) -> str:
    if task.state == TaskState.ACKED and task.acked_at:
        return f"acked={short(task.acked_at)}"
    if task.state == TaskState.UNREAD:
        return "unread"
    return task.state
