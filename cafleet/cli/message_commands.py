"""`cafleet message …`: send, broadcast, poll, ack, cancel, show."""

from __future__ import annotations

import click

from cafleet.cli.output import emit, note, task_json, task_lines, wants_json
from cafleet.cli.params import ID, TEXT, agent_id_option, full_option, quiet_option, read_body, text_options
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, require_fleet
from cafleet.cli.types import Seconds, WholeNumber
from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.text import counted
from cafleet.store.db import open_database

MAX_WAIT_SECONDS = 3600


@click.group("message", cls=CafleetSubgroup)
def message_group():
    """Send, receive and settle messages."""


@message_group.command("send", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@click.option(
    "--to",
    type=TEXT,
    required=True,
    metavar="ID|NAME|NAME#ID",
    help="The recipient: an agent id, an active agent's name, or both as printed (coder#4).",
)
@text_options
@click.option("--reply-to", type=ID, metavar="TASK", help="The task this message answers.")
@full_option
@quiet_option
def send_command(agent_id, to, text, text_file, reply_to, full, quiet):
    """Send a message to one agent."""
    from cafleet.services.sending import send

    fleet_id = require_fleet()
    body, source = read_body(text, text_file)
    open_database()
    task = send(fleet_id, agent_id, to, body, reply_to=reply_to, source=source)
    if quiet:
        click.echo(task.id)
        return
    emit(task_json(task, full), lambda: f"Sent task {task.id} to {task.to_name}#{task.to_agent_id}.")


@message_group.command("broadcast", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@text_options
@full_option
@quiet_option
def broadcast_command(agent_id, text, text_file, full, quiet):
    """Send a message to every other active agent of the fleet (not the Administrator)."""
    from cafleet.services.sending import broadcast

    fleet_id = require_fleet()
    body, source = read_body(text, text_file)
    open_database()
    sent = broadcast(fleet_id, agent_id, body, source=source)
    summary = sent.summary
    if quiet:
        click.echo(summary.id)
        return
    emit(
        task_json(summary, full),
        lambda: (
            f"Broadcast task {summary.id} to {counted(len(sent.deliveries), 'agent')}: "
            + ", ".join(f"{d.to_name}#{d.to_agent_id} (task {d.id})" for d in sent.deliveries)
            + "."
        ),
    )


@message_group.command("poll", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@click.option(
    "--since", type=TEXT, metavar="TIME", help="Only messages created at or after this ISO-8601 time (UTC if no offset)."
)
@click.option(
    "--page-size",
    type=WholeNumber(1, 500),
    default=20,
    show_default=True,
    metavar="N",
    help="At most this many messages (1-500).",
)
@click.option("--all", "include_read", is_flag=True, help="Include messages already acked or canceled.")
@click.option(
    "--wait",
    type=Seconds(0, MAX_WAIT_SECONDS),
    default=0,
    metavar="SECONDS",
    show_default=True,
    help="Block until a message arrives or SECONDS pass (0-3600).",
)
@click.option("--full", is_flag=True, help="Do not cut message text; under --json, print every field of each message.")
def poll_command(agent_id, since, page_size, include_read, wait, full):
    """Your unread messages, oldest first (with --all: read ones too)."""
    from cafleet.broker.inbox import poll_inbox, wait_for_inbox
    from cafleet.core.timestamps import parse_user_time

    fleet_id = require_fleet()
    since_stamp = parse_user_time(since, "--since") if since is not None else None
    open_database()
    if wait > 0:
        inbox = wait_for_inbox(fleet_id, agent_id, wait, since_stamp, page_size, include_read)
    else:
        inbox = poll_inbox(fleet_id, agent_id, since_stamp, page_size, include_read)
    more = _more_line(inbox, include_read)
    if full:
        document = [task_json(t, True) for t in inbox.tasks]
    else:
        from cafleet.cli.lean import brief_task

        document = [brief_task(t, include_read) for t in inbox.tasks]
    emit(document, lambda: _poll_text(inbox, include_read, full, more))
    if more and wants_json():
        note(more)


def _more_line(inbox, include_read: bool) -> str:
    if not inbox.remaining:
        return ""
    if include_read:
        return f"({inbox.remaining} more; next page: --since {inbox.next_since})"
    return f"({inbox.remaining} more unread; ack these and poll again)"


def _poll_text(inbox, include_read: bool, full: bool, more: str) -> str:
    if not inbox.tasks:
        return "No messages." if include_read else "No unread messages."
    blocks = [task_lines(t, full, with_state=include_read) for t in inbox.tasks]
    if more:
        blocks.append(more)
    return "\n".join(blocks)


@message_group.command("ack", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@click.option(
    "--task-id",
    "task_ids",
    type=ID,
    required=True,
    multiple=True,
    metavar="TASK",
    help="The message to acknowledge; repeat to ack several at once (all or none).",
)
@full_option
@click.option("--quiet", is_flag=True, help="Print only the task ids.")
def ack_command(agent_id, task_ids, full, quiet):
    """Acknowledge messages you received (only while they are unread)."""
    from cafleet.broker.messages import ack_messages

    fleet_id = require_fleet()
    open_database()
    tasks = ack_messages(fleet_id, agent_id, list(dict.fromkeys(task_ids)))
    if quiet:
        click.echo("\n".join(str(t.id) for t in tasks))
        return
    # One --task-id prints one object, as before; several print an array.
    document = task_json(tasks[0], full) if len(tasks) == 1 else [task_json(t, full) for t in tasks]
    ids = ", ".join(str(t.id) for t in tasks)
    emit(document, lambda: f"Acked task{'' if len(tasks) == 1 else 's'} {ids}.")


@message_group.command("cancel", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@click.option("--task-id", type=ID, required=True, metavar="TASK", help="The message to retract.")
@full_option
@click.option("--quiet", is_flag=True, help="Print only the task id.")
def cancel_command(agent_id, task_id, full, quiet):
    """Retract a message you sent before it is acked (a broadcast: its unread deliveries)."""
    from cafleet.broker.messages import cancel_message

    fleet_id = require_fleet()
    open_database()
    task = cancel_message(fleet_id, agent_id, task_id)
    if quiet:
        click.echo(task.id)
        return
    if task.kind == TaskKind.BROADCAST_SUMMARY:
        canceled = sum(1 for d in task.deliveries if d.state == TaskState.CANCELED)
        total = len(task.deliveries)
        text = (
            f"Canceled broadcast {task.id}: {canceled} of {total} {'delivery is' if total == 1 else 'deliveries are'} canceled."
        )
    else:
        text = f"Canceled task {task.id}."
    emit(task_json(task, full), lambda: text)


@message_group.command("show", cls=CafleetCommand, keeps_courier=True)
@agent_id_option()
@click.option("--task-id", type=ID, required=True, metavar="TASK", help="The message to show.")
@full_option
def show_command(agent_id, task_id, full):
    """One message you sent or received: recipient, state and notice outcome (--full: whole text)."""
    from cafleet.broker.messages import show_message

    fleet_id = require_fleet()
    open_database()
    task = show_message(fleet_id, agent_id, task_id)
    emit(task_json(task, full), lambda: task_lines(task, full, with_state=True, detail=True))


from cafleet.cli.search_command import search_command  # noqa: E402  (its own module; listed under `message`)

message_group.add_command(search_command)
