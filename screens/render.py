"""Turning records into Rich text for the TUI's lists. Pure functions: easy to snapshot.

Every gap between two fields is a run of its own (`GAP`) and no field starts with a space:
SVG viewers such as rsvg-convert drop the spaces that open a run of text, which showed
`bob#4  #6` as `bob#4#6` in the snapshots. Bodies are not indented, so a wrapped line lines
up with the line above it.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text

from cafleet.broker.reads import RosterEntry
from cafleet.core.domain import AgentStatus, TaskKind, TaskState
from cafleet.core.holds import WOKEN
from cafleet.core.holds import clock as hold_clock
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import TaskRecord
from cafleet.core.terminal import block, one_line
from cafleet.core.text import counted
from cafleet.core.timestamps import parse_stamp

from .fleet_data import PaneLook, PaneMark
from .usage_marks import usage_line
from .worktree_marks import WorktreeLook

if TYPE_CHECKING:
    from cafleet.broker.agent_states import SeenState

    from .hosts import HostMark
    from .usage_marks import UsageMark
    from .worktree_marks import WorktreeMark

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


def fit(name: str, width: int) -> str:
    """`name` in at most `width` columns, cut in the middle: hosts often differ only at the end
    (`ip-172-31-20-145`), and branches both at the start and at the end (`cafleet/3/coder`)."""
    if len(name) <= width:
        return name
    head = (width - 1) // 2
    return f"{name[:head]}…{name[len(name) - (width - 1 - head) :]}"


def home_path(path: str) -> str:
    """`path` on one line, `~` standing for the home directory (worktrees' paths are long)."""
    home = os.path.expanduser("~").rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        path = "~" + path[len(home) :]
    return one_line(path)


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
    split = shown.rstrip("\n").split("\n")  # a final newline ends the last line; it adds none
    if len(split) > lines:
        more = len(text.splitlines()) - lines
        # A cut text has at least `more` lines left: "1+ more lines" reads as more than one.
        split = split[:lines] + [f"… ({more}+ more lines)" if cut else f"… ({counted(more, 'more line')})"]
    return "\n".join(split)


def state_mark(task: TaskRecord) -> Text:
    """●, ✗, or ✓ with the time it was acked."""
    mark = STATE_MARKS.get(task.state, "?")
    label = f"{mark} {clock(task.acked_at)}" if task.state == TaskState.ACKED and task.acked_at else mark
    return Text(label, style=STATE_STYLES.get(task.state, ""))


def reply_number(task: TaskRecord) -> int | None:
    """The message a reply answers, as the timeline numbers it: a reply to one recipient's
    copy of a broadcast answers the broadcast, whose entry is its summary."""
    return task.reply_to_entry_id or task.reply_to_id


def reply_mark(task: TaskRecord) -> tuple[str, str] | None:
    """`↪ re #72` for a reply (None for a message that answers nothing)."""
    answered = reply_number(task)
    return (f"↪ re #{answered}", "cyan") if answered else None


def timeline_entry(task: TaskRecord) -> Text:
    """Header (time, who to whom, id, reply, state), a broadcast's acks, then the body."""
    broadcast = task.kind == TaskKind.BROADCAST_SUMMARY
    totals = task.delivery_totals
    text = fields(
        (clock(task.created_at), "dim"),
        _route(task, broadcast),
        (f"#{task.id}", "dim"),
        reply_mark(task),
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
    # Its agent runs but shows no screen cafleet can read (a version whose screen changed).
    "unreadable": ("‽", "bold magenta"),
    "exited": ("✗", "dim"),
    # Its pane is gone; `cafleet fleet restore` brings it back.
    "lost": ("✗", "bold red"),
    "unseen": ("◇", "dim"),  # its pane cannot be looked at from where the courier runs
    "tui": ("▣", "cyan"),
}
# What the roster says of a pane (its id has a field of its own), while no state was seen.
PANE_WORDS = {
    PaneLook.PENDING: "pending",
    PaneLook.ALIVE: "alive",
    PaneLook.SHOWS_TUI: "tui",
    PaneLook.ON_OTHER_HOST: "remote",
    PaneLook.LOST: "✗ lost",
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


def roster_entry(
    entry: RosterEntry,
    pane: PaneMark | None,
    seen: SeenState | None = None,
    host: HostMark | None = None,
    worktree: WorktreeMark | None = None,
    width: int | None = None,
    usage: UsageMark | None = None,
) -> Text:
    """Short lines that fit the roster at 80×24, so none wraps mid-phrase:

        ○ name#id  unread✉
          kind · state        (`needs you` alone while the agent asks a question)
          resets 23:32        (while a limit that names its reset holds the agent)
          %pane · poll 120s   (for a placed or scheduled agent)
          on host-b ⚠         (in a fleet across machines; ⚠ while its notices are stuck)
          ⌥ cafle…coder ↑2 ±1 (a member in a worktree: branch, commits ahead, uncommitted files)
          64.0k tok $0.21 11% (a member whose agent recorded answers: tokens, cost, context fill)
          ? the question, wrapped to the roster's width

    Deregistered agents are muted. `width`: the roster's columns, when known (a branch gets
    what its line has left; the rest fits the narrowest roster).
    """
    if entry.agent.status != AgentStatus.ACTIVE:
        text = Text("\n").join([_name_line(entry, None), indented(Text("deregistered"))])
        text.stylize("dim")
        return text
    state = _shown_state(seen)
    placement = entry.agent.placement
    lines = [_name_line(entry, state), _state_line(entry, state, pane, host)]
    resets = reset_words(seen)
    if resets:
        lines.append(indented(Text(resets, style="yellow")))
    where = fields(placement.tmux_pane_id if placement else None, _poll(entry), sep=DOT)
    if where:
        lines.append(indented(where, style="dim"))
    if placement is not None and host is not None:
        lines.append(indented(host_line(host)))
    if worktree is not None:
        room = ROSTER_TEXT_WIDTH if width is None else max(ROSTER_TEXT_WIDTH, width - INDENT.cell_len)
        lines.append(indented(worktree_line(worktree, room)))
    if usage is not None:
        lines.append(indented(usage_line(usage)))
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


def reset_words(seen: SeenState | None) -> str:
    """`resets 23:32` (UTC, as every time the TUI shows; with its date when that is another day
    than the hold began) while a limit that names its reset holds the agent; else empty."""
    if seen is None or seen.state not in WOKEN or seen.hold.resets_at is None:
        return ""
    return f"resets {hold_clock(seen.hold.resets_at, parse_stamp(seen.changed_at))}"


def _poll(entry: RosterEntry) -> str | None:
    if not entry.monitor_interval:
        return None
    return f"poll {entry.monitor_interval}s" if entry.monitor_enabled else "poll off"


def _question_lines(seen: SeenState | None) -> list[str]:
    """The question an agent asks, wrapped to the roster's width (at most three lines)."""
    if seen is None or not seen.question:
        return []
    return textwrap.wrap(f"? {one_line(seen.question)}", ROSTER_TEXT_WIDTH, max_lines=3, placeholder=" …")


def roster_height(
    entry: RosterEntry,
    seen: SeenState | None = None,
    host: HostMark | None = None,
    worktree: WorktreeMark | None = None,
    usage: UsageMark | None = None,
) -> int:
    """How many lines `roster_entry` makes when none of them wraps: the roster's estimate for
    an entry it has not drawn yet (a drawn one is measured)."""
    if entry.agent.status != AgentStatus.ACTIVE:
        return 2
    placement = entry.agent.placement
    where = (placement is not None and placement.tmux_pane_id) or entry.monitor_interval
    hosted = placement is not None and host is not None
    marks = (worktree is not None) + (usage is not None)
    return 2 + bool(reset_words(seen)) + bool(where) + hosted + marks + len(_question_lines(seen))


def host_line(host: HostMark) -> Text:
    # One run of one style: a mark in a run of its own would lose the space before it in SVG.
    if host.stuck:
        return Text(f"on {host.label} ⚠", style="bold yellow")
    return Text(f"on {host.label}", style="dim")


# A fork, from the few signs monospace fonts carry (⎇, the usual one, is drawn too wide).
WORKTREE_SIGN = "⌥"
SHORTEST_BRANCH = 7  # a branch is cut to no fewer columns, even if its line then wraps


def worktree_line(mark: WorktreeMark, width: int = ROSTER_TEXT_WIDTH) -> Text:
    """`⌥ cafle…coder ↑2 ±1` in `width` columns: the branch, cut in the middle to leave room
    for its counts, then the commits it has that its base lacks (✓ when all of them are merged
    already) and the files its worktree holds uncommitted; `?` when git could not read it."""
    counts = fields(*_worktree_counts(mark), sep=SPACE)
    room = width - len(WORKTREE_SIGN) - 1 - (counts.cell_len + 1 if counts else 0)
    # The sign is a run of its own: a viewer whose font draws it wider then misplaces only it.
    branch = Text.assemble((WORKTREE_SIGN, "bold dim"), SPACE, (fit(one_line(mark.branch), max(room, SHORTEST_BRANCH)), "dim"))
    return fields(branch, counts, sep=SPACE)


def _worktree_counts(mark: WorktreeMark) -> list[Field]:
    # Every mark of a worktree goes here, after its branch; the overlap warning comes last.
    # ⚠ alone, or ⚠2 for two members: their names and files are in the agent detail.
    others = len(mark.overlaps_with)
    overlap: list[Field] = [("⚠" if others == 1 else f"⚠{others}", "bold red")] if others else []
    if mark.look is WorktreeLook.UNREADABLE:
        return [("?", "bold yellow"), *overlap]
    if mark.look is WorktreeLook.ELSEWHERE:
        return overlap
    counts: list[Field] = []
    if mark.look is WorktreeLook.BRANCH_GONE:
        counts.append(("✗ gone", "red"))
    elif mark.ahead:
        counts.append((f"↑{mark.ahead}✓", "green") if mark.merged else (f"↑{mark.ahead}", "bold cyan"))
    if mark.look is WorktreeLook.DIRECTORY_GONE:
        counts.append(("✗ dir", "red"))  # its directory is gone (the detail says so in words)
    elif mark.uncommitted:
        counts.append((f"±{mark.uncommitted}", "yellow"))
    return counts + overlap


def inbox_entry(task: TaskRecord) -> Text:
    """`● 09:00:18  #6 from bob#4  ↪ re #2  acked 09:00:19`, then the body."""
    text = fields(
        fields(
            (STATE_MARKS.get(task.state, "?"), STATE_STYLES.get(task.state, "")),
            (clock(task.created_at), "dim"),
            sep=SPACE,
        ),
        fields((f"#{task.id} from", "dim"), (f"{task.from_name}#{task.from_agent_id}", "bold"), sep=SPACE),
        reply_mark(task),
        (f"acked {clock(task.acked_at)}", "green") if task.state == TaskState.ACKED and task.acked_at else None,
    )
    text.append("\n")
    text.append(body(task.text, 300, 3, cut=task.text_truncated))
    return text
