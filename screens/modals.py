"""The message detail modal: the whole text, its state, and what can be done with it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cafleet.records import TaskRecord

from .render import clock, day, state_mark


class MessageModal(ModalScreen[str | None]):
    """Shows one message in full. Dismisses with "reply", "ack" or None."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, task: TaskRecord, can_ack: bool, can_reply: bool):
        super().__init__()
        # Not `self.task`: Textual's MessagePump has a read-only `task` property.
        self.record = task
        self.can_ack = can_ack
        self.can_reply = can_reply

    def compose(self) -> ComposeResult:
        task = self.record
        to = f"all ({len(task.deliveries)})" if task.kind == "broadcast_summary" else f"{task.to_name}#{task.to_agent_id}"
        lines = [
            f"#{task.id}  {task.from_name}#{task.from_agent_id} → {to}",
            f"{day(task.created_at)} {clock(task.created_at)} UTC   {task.kind}",
        ]
        if task.reply_to_id:
            lines.append(f"in reply to #{task.reply_to_id}")
        if task.kind != "broadcast_summary":
            lines.append(f"state: {state_mark(task).plain} {task.state}   pane notice: {task.notify_status or '—'}")
        for delivery in task.deliveries:
            lines.append(f"  {delivery.to_name}#{delivery.to_agent_id}: {state_mark(delivery).plain} {delivery.state}")
        with VerticalScroll(id="message-modal"):
            yield Static("\n".join(lines), id="message-meta")
            yield Static(task.text, id="message-text", markup=False)
            with Horizontal(id="message-actions"):
                if self.can_reply:
                    yield Button("Reply", id="reply", variant="primary")
                if self.can_ack:
                    yield Button("Ack", id="ack", variant="success")
                yield Button("Close", id="close")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "close" else event.button.id)
