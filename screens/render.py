"""Turning records into Rich text for the TUI's lists. Pure functions: easy to snapshot.

Every gap between two fields is a run of its own (`GAP`) and no field starts with a space:
SVG viewers such as rsvg-convert drop the spaces that open a run of text, which showed
`bob#4  #6` as `bob#4#6` in the snapshots. Bodies are not indented, so a wrapped line lines
up with the line above it.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from cafleet.broker.reads import RosterEntry
from cafleet.core.domain import AgentStatus, TaskKind, TaskState
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import TaskRecord
from cafleet.core.terminal import block, one_line

from .fleet_data import PaneLook, PaneMark

if TYPE_CHECKING:
    from cafleet.broker.agent_states import SeenState

    from .hosts import HostMark

BODY_CHARS = 600
BODY_LINES = 6
STATE_MARKS: dict[str, str] = {TaskState.UNREAD: "●", TaskState.ACKED: "✓", TaskState.CANCELED: "✗"}
STATE_STYLES: dict[str, str] = {TaskState.UNREAD: "bold yellow", TaskState.ACKED: "green", TaskState.CANCELED: "red"}

GAP = Style(dim=True, italic=True)  # a style no field uses, so a gap never joins a field's run
SPACE = Text(" ", style=GAP)
INDENT = Text("  ", style=GAP)
DOT = Text.assemble((" ", GAP), ("·", "dim"), (" ", GAP))

# The roster's text is 21 columns wide at 80×24; a question wraps to this, past the indent.
ROSTER_TEXT_WIDTH = 19

Field = Text | str | tuple[str, str] | None  # a tuple is (text, style)


def fields(*parts: Field, sep: Text | None = None) -> Text:
    """The non-empty `parts` on one line, two spaces (or `sep`) apart."""
    line = Text()
    for part in parts:
        field = Text(*part) if isinstance(part, tuple) else Text(part) if isinstance(part, str) else part
        if field:
            if line:
                line.append_text(Text("  ", style=GAP) if sep is None else sep)
            line.append_text(field)
    return line


def indented(line: Text, style: str = "") -> Text:
    """`line` two columns in, in `style` (the indent keeps a style of its own)."""
    line = line.copy()
    line.stylize(style)
    return Text.assemble(INDENT, line)


def clock(stamp: str | None) -> str:
    """`HH:MM:SS` of a stored UTC stamp."""
    return stamp[11:19] if stamp else "--:--:--"


def day(stamp: str) -> str:
    return stamp[:10]


def body(text: str, chars: int = BODY_CHARS, lines: int = BODY_LINES, cut: bool = False) -> str:
    """At most `chars` and `lines` of `text`, its control characters shown escaped (Rich and
    Textual drop a CR but would pass an ESC to the terminal). `cut`: `text` is only the
    beginning of the message, so the lines left are counted as "at least"."""
    text = block(text)
    shown = text if len(text) <= chars else text[:chars] + "…"
    split = shown.split("\n")
    if len(split) > lines:
        split = split[:lines] + [f"… ({len(text.splitlines()) - lines}{'+' if cut else ''} more lines)"]
    return "\n".join(split)


def state_mark(task: TaskRecord) -> Text:
    """●, ✗, or ✓ with the time it was acked."""
    mark = STATE_MARKS.get(task.state, "?")
    label = f"{mark} {clock(task.acked_at)}" if task.state == TaskState.ACKED and task.acked_at else mark
    return Text(label, style=STATE_STYLES.get(task.state, ""))


def timeline_entry(task: TaskRecord, reply_target: int | None = None) -> Text:
    """Header (time, who to whom, id, reply, state), a broadcast's acks, then the body.

    `reply_target` is the entry the reply points at as shown (a broadcast's summary rather
    than the recipient's own delivery copy).
    """
    broadcast = task.kind == TaskKind.BROADCAST_SUMMARY
    totals = task.delivery_totals
    text = fields(
        (clock(task.created_at), "dim"),
        _route(task, broadcast),
        (f"#{task.id}", "dim"),
        (f"↪ re #{reply_target or task.reply_to_id}", "cyan") if task.reply_to_id else None,
        (f"{totals.acked}/{totals.total} acked", "dim") if broadcast else state_mark(task),
    )
    if broadcast:
        text.append("\n")
        text.append_text(_acks(task))
    text.append("\n")
    text.append(body(task.text, cut=task.text_truncated))
    return text


def _route(task: TaskRecord, broadcast: bool) -> Text:
    """`alice → bob`, or `alice → all (3)` for a broadcast."""
    return fields(
        (task.from_name, "bold"),
        (f"→ all ({task.delivery_totals.total})", "bold magenta") if broadcast else ("→", ""),
        None if broadcast else (task.to_name or "?", "bold"),
        sep=SPACE,
    )


def _acks(task: TaskRecord) -> Text:
    """A broadcast's recipients with their state marks, and how many more are not listed."""
    acks = [fields((d.to_name or "?", "dim"), state_mark(d), sep=SPACE) for d in task.deliveries]
    more = task.delivery_totals.total - len(task.deliveries)
    if more > 0:
        acks.append(Text(f"… {more:,} more", style="dim"))
    return fields(*acks)


def day_separator(stamp: str) -> Text:
    return Text(f"──── {day(stamp)} ────", style="dim", justify="center")


# One mark per agent state, so a glance down the roster tells who is doing what.
AGENT_STATE_MARKS = {
    "starting": ("…", "dim"),
    "ready": ("○", "green"),
    "busy": ("◐", "cyan"),
    "asking": ("⚠", "bold red"),
    "draft": ("✎", "yellow"),
    # The provider refuses the agent for now: its notices wait.
    "retrying": ("↻", "yellow"),
    "limited": ("⊘", "bold yellow"),
    "auth-expired": ("⊗", "bold red"),
    "context-full": ("▦", "bold red"),
    "exited": ("✗", "dim"),
    "gone": ("✗", "dim"),
    "tui": ("▣", "cyan"),
}
# What the roster says of a pane (its id has a field of its own), while no state was seen.
PANE_WORDS = {
    PaneLook.PENDING: "pending",
    PaneLook.ALIVE: "alive",
    PaneLook.SHOWS_TUI: "tui",
    PaneLook.ON_OTHER_HOST: "remote",
    PaneLook.GONE: "✗ gone",
}
UNKNOWN_PANE = "pane ?"  # a placement the last pane survey did not see yet


def _shown_state(seen: SeenState | None) -> str | None:
    """The state word the roster shows; a pane showing this TUI is `tui`, not `exited`."""
    if seen is None:
        return None
    return "tui" if seen.reason == PaneProblem.PANE_SHOWS_CAFLEET_TUI else seen.state.value


def pane_word(pane: PaneMark | None, host: HostMark | None) -> str:
    """`remote` for a pane of another host when its `on host` line says which, else `@host`."""
    if pane is None:
        return UNKNOWN_PANE
    if pane.look is PaneLook.ON_OTHER_HOST and host is None:
        return f"@{pane.host}"
    return PANE_WORDS[pane.look]


def roster_entry(entry: RosterEntry, pane: PaneMark | None, seen: SeenState | None = None, host: HostMark | None = None) -> Text:
    """Short lines that fit the roster at 80×24, so none wraps mid-phrase:

        ○ name#id  unread✉
          kind · state        (`needs you` alone while the agent asks a question)
          %pane · poll 120s   (for a placed or scheduled agent)
          on host-b ⚠         (in a fleet across machines; ⚠ while its notices are stuck)
          ? the question, wrapped to the roster's width

    Deregistered agents are muted.
    """
    if entry.agent.status != AgentStatus.ACTIVE:
        text = Text("\n").join([_name_line(entry, None), indented(Text("deregistered"))])
        text.stylize("dim")
        return text
    state = _shown_state(seen)
    placement = entry.agent.placement
    lines = [_name_line(entry, state), _state_line(entry, state, pane, host)]
    where = fields(placement.tmux_pane_id if placement else None, _poll(entry), sep=DOT)
    if where:
        lines.append(indented(where, style="dim"))
    if placement is not None and host is not None:
        lines.append(indented(host_line(host)))
    lines += [indented(Text(line, style="bold")) for line in _question_lines(seen)]
    return Text("\n").join(lines)


def _name_line(entry: RosterEntry, state: str | None) -> Text:
    """`○ name#id  unread✉`: the state's mark (when one was seen), bold for an active agent."""
    agent = entry.agent
    name = Text()
    if state is not None:
        mark, style = AGENT_STATE_MARKS.get(state, ("?", "dim"))
        name.append(mark, style=style)
        name.append(" ", style=GAP)
    name.append(agent.name, style="bold" if agent.status == AgentStatus.ACTIVE else "")
    name.append(f"#{agent.id}", style="dim")
    return fields(name, (f"{entry.unread}✉", "bold yellow") if entry.unread else None)


def _state_line(entry: RosterEntry, state: str | None, pane: PaneMark | None, host: HostMark | None) -> Text:
    """`kind · state` of an active agent (the pane's word while no state was seen), or `needs you`."""
    if state == "asking":
        return indented(Text("needs you", style="bold red"))
    if state is None and entry.agent.placement is not None:
        state = pane_word(pane, host)
    return indented(fields(entry.agent.kind, state, sep=DOT), style="dim")


def _poll(entry: RosterEntry) -> str | None:
    if not entry.monitor_interval:
        return None
    return f"poll {entry.monitor_interval}s" if entry.monitor_enabled else "poll off"


def _question_lines(seen: SeenState | None) -> list[str]:
    """The question an agent asks, wrapped to the roster's width (at most three lines)."""
    if seen is None or not seen.question:
        return []
    return textwrap.wrap(f"? {one_line(seen.question)}", ROSTER_TEXT_WIDTH, max_lines=3, placeholder=" …")


def roster_height(entry: RosterEntry, seen: SeenState | None = None, host: HostMark | None = None) -> int:
    """How many lines `roster_entry` makes when none of them wraps: the roster's estimate for
    an entry it has not drawn yet (a drawn one is measured)."""
    if entry.agent.status != AgentStatus.ACTIVE:
        return 2
    placement = entry.agent.placement
    where = (placement is not None and placement.tmux_pane_id) or entry.monitor_interval
    return 2 + bool(where) + (placement is not None and host is not None) + len(_question_lines(seen))


def host_line(host: HostMark) -> Text:
    # One run of one style: a mark in a run of its own would lose the space before it in SVG.
    if host.stuck:
        return Text(f"on {host.label} ⚠", style="bold yellow")
    return Text(f"on {host.label}", style="dim")


def inbox_entry(task: TaskRecord) -> Text:
    """`● 09:00:18  #6 from bob#4  ↪ re #2  acked 09:00:19`, then the body."""
    text = fields(
        fields(
            (STATE_MARKS.get(task.state, "?"), STATE_STYLES.get(task.state, "")),
            (clock(task.created_at), "dim"),
            sep=SPACE,
        ),
        fields((f"#{task.id} from", "dim"), (f"{task.from_name}#{task.from_agent_id}", "bold"), sep=SPACE),
        (f"↪ re #{task.reply_to_id}", "cyan") if task.reply_to_id else None,
        (f"acked {clock(task.acked_at)}", "green") if task.state == TaskState.ACKED and task.acked_at else None,
    )
    text.append("\n")
    text.append(body(task.text, 300, 3, cut=task.text_truncated))
    return text
