"""The message detail modal: the whole text, its state, and what can be done with it."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.records import TaskRecord
from cafleet.core.terminal import block

from .render import GAP, STATE_MARKS, STATE_STYLES, clock, day, fields, reply_number
from .worker_errors import ReportsWorkerErrors

LOADING = "\n… loading the whole message"


class WholeText(Message):
    def __init__(self, text: str):
        super().__init__()
        self.text = text


class MessageModal(ReportsWorkerErrors, ModalScreen[str | None]):
    """Shows one message in full. Dismisses with "reply", "ack", "answer" (open the asking
    member's pane, for a "needs you" question) or None.

    Lists hold the beginning of a long message only (`TaskRecord.text_truncated`): the whole
    text is read when the message is opened."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Close")]

    def __init__(self, task: TaskRecord, can_ack: bool, can_reply: bool, can_answer: bool = False):
        super().__init__()
        # Not `self.task`: Textual's MessagePump has a read-only `task` property.
        self.record = task
        self.can_ack = can_ack
        self.can_reply = can_reply
        self.can_answer = can_answer

    def compose(self) -> ComposeResult:
        task = self.record
        with VerticalScroll(id="message-modal"):
            yield Static(meta_text(task), id="message-meta")
            shown = block(task.text) + (LOADING if task.text_truncated else "")
            yield Static(shown, id="message-text", markup=False)
            # The primary action first, in the focus order too: Tab then Enter acks.
            with Horizontal(id="message-actions"):
                if self.can_answer:
                    yield Button("Answer", id="answer", variant="warning")
                if self.can_ack:
                    yield Button("Ack", id="ack", variant="success")
                if self.can_reply:
                    yield Button("Reply", id="reply", variant="primary")
                yield Button("Close", id="close")

    def on_mount(self) -> None:
        if self.record.text_truncated:
            self.load_text()

    @work(thread=True, exit_on_error=False, group="message-text")
    def load_text(self) -> None:
        from cafleet.broker.reads import message_text

        self.post_message(WholeText(message_text(self.record.fleet_id, self.record.id)))

    @on(WholeText)
    def _show_text(self, loaded: WholeText) -> None:
        self.record = self.record._replace(text=loaded.text, text_truncated=False)
        self.query_one("#message-text", Static).update(block(loaded.text))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "close" else event.button.id)


STATE_WORDS: dict[str, str] = {TaskState.UNREAD: "unread", TaskState.ACKED: "acked", TaskState.CANCELED: "canceled"}


def state_text(task: TaskRecord) -> Text:
    """`● unread`, `✓ acked 09:00:04` or `✗ canceled`, in the mark's colour."""
    acked = f" {clock(task.acked_at)}" if task.state == TaskState.ACKED and task.acked_at else ""
    label = f"{STATE_MARKS.get(task.state, '?')} {STATE_WORDS.get(task.state, task.state)}{acked}"
    return Text(label, style=STATE_STYLES.get(task.state, ""))


def meta_text(task: TaskRecord) -> Text:
    """Who to whom, then one labelled row per fact; a broadcast lists each recipient."""
    broadcast = task.kind == TaskKind.BROADCAST_SUMMARY
    totals = task.delivery_totals
    to = f"all ({totals.total})" if broadcast else f"{task.to_name}#{task.to_agent_id}"
    text = fields((f"#{task.id}", "bold"), f"{task.from_name}#{task.from_agent_id} → {to}")
    kind = TaskKind.BROADCAST if broadcast else task.kind
    rows: list[tuple[str, Text]] = [
        ("sent", fields(f"{day(task.created_at)} {clock(task.created_at)} UTC", (f"({kind})", "dim")))
    ]
    answered = reply_number(task)
    if answered:
        rows.append(("re", Text(f"#{answered}")))
    if not broadcast:
        rows.append(("state", state_text(task)))
        rows.append(("notice", Text(task.notify_status or "—")))
    for i, delivery in enumerate(task.deliveries):
        rows.append(("" if i else "to", fields(f"{delivery.to_name}#{delivery.to_agent_id}", state_text(delivery))))
    if totals.total > len(task.deliveries):
        more = totals.total - len(task.deliveries)
        rows.append(
            (
                "",
                Text(
                    f"… and {more:,} more; of all {totals.total:,}: {totals.acked:,} acked, {totals.unread:,} unread", style="dim"
                ),
            )
        )
    for label, value in rows:
        text.append("\n")
        text.append(f"{label:<8} ", style=GAP if not label else "dim")
        text.append_text(value)
    return text
