"""Turning records into Rich text for the TUI's lists. Pure functions: easy to snapshot."""

from __future__ import annotations

from rich.text import Text

from cafleet.broker.timeline import RosterEntry
from cafleet.records import TaskRecord

BODY_CHARS = 600
BODY_LINES = 6
STATE_MARKS = {"input_required": "●", "completed": "✓", "canceled": "✗"}


def clock(stamp: str | None) -> str:
    """`HH:MM:SS` of a stored UTC stamp."""
    return stamp[11:19] if stamp else "--:--:--"


def day(stamp: str) -> str:
    return stamp[:10]


def body(text: str, chars: int = BODY_CHARS, lines: int = BODY_LINES) -> str:
    shown = text if len(text) <= chars else text[:chars] + "…"
    split = shown.split("\n")
    if len(split) > lines:
        split = split[:lines] + [f"… ({len(text.splitlines()) - lines} more lines)"]
    return "\n".join(split)


def state_mark(task: TaskRecord) -> Text:
    mark = STATE_MARKS.get(task.state, "?")
    style = {"input_required": "bold yellow", "completed": "green", "canceled": "red"}.get(task.state, "")
    label = f"{mark} {clock(task.acked_at)}" if task.state == "completed" and task.acked_at else mark
    return Text(label, style=style)


def timeline_entry(task: TaskRecord, reply_target: int | None = None) -> Text:
    """Header (time, who to whom, ids, state) and the body; a broadcast with its ack marks.

    `reply_target` is the entry the reply points at as shown (a broadcast's summary rather
    than the recipient's own delivery copy).
    """
    text = Text()
    text.append(clock(task.created_at), style="dim")
    text.append("  ")
    text.append(task.from_name, style="bold")
    if task.kind == "broadcast_summary":
        text.append(f" → all ({len(task.deliveries)})", style="bold magenta")
    else:
        text.append(" → ")
        text.append(task.to_name or "?", style="bold")
    text.append(f"  #{task.id}", style="dim")
    if task.reply_to_id:
        text.append(f"  ↪ re #{reply_target or task.reply_to_id}", style="cyan")
    if task.kind != "broadcast_summary":
        text.append("  ")
        text.append_text(state_mark(task))
    else:
        acked = sum(1 for d in task.deliveries if d.state == "completed")
        text.append(f"  {acked}/{len(task.deliveries)} acked", style="dim")
        text.append("\n  ")
        for i, delivery in enumerate(task.deliveries):
            if i:
                text.append("  ")
            text.append(f"{delivery.to_name} ", style="")
            text.append_text(state_mark(delivery))
    text.append("\n")
    text.append("  " + body(task.text).replace("\n", "\n  "))
    return text


def day_separator(stamp: str) -> Text:
    return Text(f"──── {day(stamp)} ────", style="dim", justify="center")


# One mark per agent state, so a glance down the roster tells who is doing what.
AGENT_STATE_MARKS = {
    "starting": ("…", "dim"), "ready": ("○", "green"), "busy": ("◐", "cyan"), "asking": ("⚠", "bold red"),
    "draft": ("✎", "yellow"), "exited": ("✗", "dim"), "gone": ("✗", "dim"), "tui": ("▣", "cyan"),
}


def _shown_state(seen) -> str | None:
    """The state word the roster shows; a pane showing this TUI is `tui`, not `exited`."""
    if seen is None:
        return None
    return "tui" if seen.reason == "pane-shows-cafleet-tui" else seen.state.value


def roster_entry(entry: RosterEntry, pane: str, seen=None) -> Text:
    """Name, state, kind, pane, unread count and monitor interval; deregistered ones muted.
    An agent that is asking a question gets an attention mark and the question."""
    agent = entry.agent
    muted = agent.status != "active"
    text = Text(style="dim" if muted else "")
    state = _shown_state(seen)
    if state is not None and not muted:
        mark, style = AGENT_STATE_MARKS.get(state, ("?", "dim"))
        text.append(f"{mark} ", style=style)
    text.append(agent.name, style="" if muted else "bold")
    text.append(f" #{agent.id}", style="dim")
    if entry.unread:
        text.append(f"  {entry.unread}✉", style="bold yellow")
    if seen is not None and not muted and seen.state.value == "asking":
        text.append("  needs you", style="bold red")
    text.append("\n  ")
    details = [agent.kind]
    if muted:
        details.append("deregistered")
    elif agent.placement is not None:
        details.append(pane if state is None else f"{agent.placement.tmux_pane_id or 'pending'} {state}")
    if entry.monitor_interval and not muted:
        details.append(f"poll {entry.monitor_interval}s" if entry.monitor_enabled else "poll off")
    text.append(" · ".join(details), style="dim")
    if seen is not None and not muted and seen.question:
        text.append(f"\n  ? {seen.question[:120]}", style="bold")
    return text


def inbox_entry(task: TaskRecord) -> Text:
    text = Text()
    text.append_text(state_mark(task))
    text.append(f" {clock(task.created_at)} ", style="dim")
    text.append(f"{task.from_name}#{task.from_agent_id}", style="bold")
    text.append(f"  #{task.id}", style="dim")
    if task.reply_to_id:
        text.append(f"  ↪ re #{task.reply_to_id}", style="cyan")
    text.append("\n  " + body(task.text, 300, 3).replace("\n", "\n  "))
    return text
