"""A fleet's messages as a Markdown transcript: a heading per day, a paragraph per message."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator

from cafleet.core.domain import TaskKind, TaskState
from cafleet.core.records import FleetRecord, TaskRecord

# Control characters but newline and tab: a transcript is read on terminals too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
STATE_WORDS: dict[str, str] = {TaskState.UNREAD: "unread", TaskState.ACKED: "acked", TaskState.CANCELED: "canceled"}


def transcript(fleet: FleetRecord, tasks: Iterable[TaskRecord], exported_at: str) -> Iterator[str]:
    """The transcript, a chunk of lines at a time (so it streams)."""
    label = f" {json.dumps(fleet.label, ensure_ascii=False)}" if fleet.label else ""
    yield f"# Fleet {fleet.id}{_clean(label)}: transcript\n\n"
    yield f"Exported {_time(exported_at)} UTC. Times are UTC; ✓ acked, ● unread, ✗ canceled.\n"
    day = None
    count = 0
    for task in tasks:
        if task.created_at[:10] != day:
            day = task.created_at[:10]
            yield f"\n## {day}\n"
        yield "\n" + _entry(task)
        count += 1
    if count == 0:
        yield "\nNo messages.\n"


def _entry(task: TaskRecord) -> str:
    sender = _clean(f"{task.from_name}#{task.from_agent_id}")
    if task.kind == TaskKind.BROADCAST_SUMMARY:
        to = f"all ({len(task.deliveries)})"
    else:
        to = _clean(f"{task.to_name}#{task.to_agent_id}")
    facts = [f"#{task.id}"]
    if task.reply_to_id:  # numbered as listed here: a reply to a broadcast's copy answers its summary
        facts.append(f"re #{task.reply_to_entry_id or task.reply_to_id}")
    if task.kind == TaskKind.BROADCAST_SUMMARY:
        facts.append("broadcast")
        facts.extend(_clean(f"{d.to_name}#{d.to_agent_id}") + " " + _state(d) for d in task.deliveries)
    else:
        facts.append(_state(task))
    header = f"**{task.created_at[11:19]} {sender} → {to}** · " + " · ".join(facts)
    quoted = "\n".join("> " + line if line else ">" for line in _clean(task.text).split("\n"))
    return f"{header}\n\n{quoted}\n"


def _state(task: TaskRecord) -> str:
    if task.state == TaskState.ACKED and task.acked_at:
        return f"✓ {task.acked_at[11:19]}"
    if task.state == TaskState.CANCELED:
        return f"✗ canceled {task.state_changed_at[11:19]}"
    return "● unread" if task.state == TaskState.UNREAD else STATE_WORDS.get(task.state, task.state)


def _time(stamp: str) -> str:
    return f"{stamp[:10]} {stamp[11:19]}"


def _clean(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text.replace("\r\n", "\n"))
