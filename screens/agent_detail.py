"""Agent detail: profile, placement with its pane state, the monitor schedule (editable) and
the agent's Inbox / Sent boxes."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from cafleet.core.agent_state import HELD
from cafleet.core.domain import AgentKind, AgentStatus
from cafleet.core.pane_problem import PaneProblem

from .dialogs import ScheduleModal
from .human_inbox import FleetHeader
from .live import DataChanged
from .message_modal import MessageModal
from .render import AGENT_STATE_MARKS, DOT, body, clock, day, fields, inbox_entry, reset_words, timeline_entry
from .usage_marks import RECHECK_SECONDS as USAGE_RECHECK_SECONDS
from .usage_marks import UsageRead, usage_text
from .worker_errors import ReportsWorkerErrors
from .worktree_marks import RECHECK_SECONDS as WORKTREE_RECHECK_SECONDS
from .worktree_marks import WorktreeRead, worktree_text
from .worktree_merge import MergesWorktree, WorktreeMerged

if TYPE_CHECKING:
    from cafleet.core.records import TaskRecord
    from cafleet.services.worktree_review import MemberWorktree

PANE_REFRESH_SECONDS = 3.0
# Why a lost agent's pane is gone, in words short enough for half of an 80-column screen.
LOST_WORDS = {
    PaneProblem.TMUX_SERVER_GONE: "tmux server not running",
    PaneProblem.OTHER_TMUX_SERVER: "tmux restarted",
    PaneProblem.PANE_GONE: "pane closed",
}


class PaneSummary(NamedTuple):
    """A short state of the agent's pane, and whether it shows the cafleet TUI (the monitor
    never types into such a pane, so its schedule says it is skipped)."""

    text: str
    shows_tui: bool = False


class AgentDetailScreen(MergesWorktree, ReportsWorkerErrors, Screen):
    """One agent of a fleet, live."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("s", "schedule", "Schedule"),
        Binding("m", "member_pane", "Member pane"),
        Binding("i", "inbox", "Inbox"),
        Binding("o", "sent", "Sent"),
        # A member in a worktree of its own: its diff, and merging its branch (a capital: it
        # changes the Director's branch).
        Binding("d", "diff", "Diff"),
        Binding("M", "merge", "Merge"),
        # Ctrl+Q quits here as everywhere; the footer leaves it to the fleet picker (and the
        # palette), so a worktree member's keys fit in 80 columns.
        Binding("ctrl+q", "app.quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, fleet_id: int, agent_id: int):
        super().__init__()
        self.fleet_id = fleet_id
        self.agent_id = agent_id
        self.detail = None
        self.member_id = agent_id  # what a merge merges (MergesWorktree)
        self.tasks: dict[str, TaskRecord] = {}
        self.probing = False
        self.worktree: MemberWorktree | None = None  # a member's worktree, read by git in a worker
        self.reading_worktree = False
        self.reading_usage = False

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        with Horizontal(id="agent-info"):
            with Vertical(id="agent-about"):
                yield Static("loading…", id="agent-profile")
                yield Static("", id="agent-schedule")
            yield Static("", id="agent-placement")
        yield Static("", id="agent-worktree")
        yield Static("", id="agent-usage")
        with TabbedContent(id="agent-tabs", initial="agent-inbox-tab"):
            with TabPane("Inbox", id="agent-inbox-tab"):
                yield OptionList(id="agent-inbox")
            with TabPane("Sent", id="agent-sent-tab"):
                yield OptionList(id="agent-sent")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"cafleet · fleet {self.fleet_id}"
        self.sub_title = f"agent {self.agent_id}"
        self.query_one("#agent-inbox", OptionList).focus()
        self.set_interval(PANE_REFRESH_SECONDS, self.refresh_pane)
        self.set_interval(WORKTREE_RECHECK_SECONDS, self.recheck_worktree)
        self.set_interval(USAGE_RECHECK_SECONDS, self.recheck_usage)
        # No load here: ScreenResume follows the first push as well.

    def on_screen_resume(self) -> None:
        self.reload()
        self.recheck_worktree()  # back from its diff, or a merge

    @on(DataChanged)
    def on_data_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Load again; a burst of changes coalesces (the newest load wins, older results are
        dropped), as everywhere in the TUI."""
        self.load()

    # -- loading: workers compute in threads and post typed messages ----------------------

    class Loaded(Message):
        def __init__(self, detail, pane: PaneSummary, inbox: list, sent: list):
            super().__init__()
            self.detail, self.pane, self.inbox, self.sent = detail, pane, inbox, sent

    class PaneProbed(Message):
        def __init__(self, detail, pane: PaneSummary):
            super().__init__()
            self.detail, self.pane = detail, pane

    class ScheduleSaved(Message):
        def __init__(self, note: str, error: bool):
            super().__init__()
            self.note, self.error = note, error

    @work(thread=True, exit_on_error=False, exclusive=True, group="agent-load")
    def load(self) -> None:
        from cafleet.broker import reads
        from cafleet.broker.agent_reads import agent_detail

        detail = agent_detail(self.fleet_id, self.agent_id)  # a refusal becomes a notification
        inbox, sent = reads.agent_inbox(self.agent_id), reads.sent(self.agent_id)
        pane = pane_summary(detail.agent.placement)
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(detail, pane, inbox, sent))

    @on(Loaded)
    def _on_loaded(self, loaded: Loaded) -> None:
        first = self.detail is None
        self._show(loaded.detail, loaded.pane, loaded.inbox, loaded.sent)
        if first:
            self.recheck_worktree()
            self.recheck_usage()

    def recheck_worktree(self) -> None:
        """Read a member's worktree again (git: not on every database change), unless a read
        still runs."""
        director_id = self._worktree_director()
        if director_id is not None and not self.reading_worktree:
            self.reading_worktree = True
            self.read_worktree(director_id)

    def _worktree_director(self) -> int | None:
        """The Director of this agent, when it is an active member (only those have worktrees)."""
        detail = self.detail
        if detail is None or detail.agent.kind != AgentKind.MEMBER or detail.agent.status != AgentStatus.ACTIVE:
            return None
        return detail.director_id

    @work(thread=True, exit_on_error=False, group="agent-worktree")
    def read_worktree(self, director_id: int) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.services.worktree_review import member_worktree_status

        try:
            item = member_worktree_status(self.fleet_id, director_id, self.agent_id)
        except CafleetError:
            item = None  # no longer its Director's member: the profile, loaded anew, says so
        finally:
            self.reading_worktree = False
        self.post_message(WorktreeRead(item))

    @on(WorktreeRead)
    def _on_worktree_read(self, read: WorktreeRead) -> None:
        self.worktree = read.item
        try:
            shown = self.query_one("#agent-worktree", Static)
        except NoMatches:
            return
        shown.update(worktree_text(read.item) if read.item is not None else "")
        shown.set_class(read.item is not None, "visible")
        self.refresh_bindings()

    def recheck_usage(self) -> None:
        """Read a member's usage again from its agent's files, unless a read still runs."""
        detail = self.detail
        if detail is not None and detail.agent.kind == AgentKind.MEMBER and not self.reading_usage:
            self.reading_usage = True
            self.read_usage(detail.agent)

    @work(thread=True, exit_on_error=False, group="agent-usage")
    def read_usage(self, member) -> None:
        from cafleet.core.errors import InvalidInput
        from cafleet.core.prices import BUILT_IN, PriceTable
        from cafleet.panes.member_usage import reports

        try:
            try:
                report = reports([member])[member.id]
            except InvalidInput:  # an unreadable price file: costs unknown here, `member list --usage` says why
                report = reports([member], PriceTable(BUILT_IN))[member.id]
        finally:
            self.reading_usage = False
        # A member with nothing recorded and no budget shows no section: there is nothing to say.
        self.post_message(UsageRead(report if report.usage is not None or report.budget else None))

    @on(UsageRead)
    def _on_usage_read(self, read: UsageRead) -> None:
        try:
            shown = self.query_one("#agent-usage", Static)
        except NoMatches:
            return
        shown.update(usage_text(read.report) if read.report is not None else "")
        shown.set_class(read.report is not None, "visible")

    def on_worktree_merged(self, _: WorktreeMerged) -> None:
        self.recheck_worktree()

    def refresh_pane(self) -> None:
        detail = self.detail
        if detail is None or detail.agent.placement is None or self.probing:
            return
        self.probing = True
        self.probe_pane(detail)

    @work(thread=True, exit_on_error=False, group="agent-pane")
    def probe_pane(self, detail) -> None:
        try:
            pane = pane_summary(detail.agent.placement)
            if not get_current_worker().is_cancelled:
                self.post_message(self.PaneProbed(detail, pane))
        finally:
            self.probing = False

    @on(PaneProbed)
    def _on_pane_probed(self, probed: PaneProbed) -> None:
        self._show_placement(probed.detail, probed.pane)

    # -- showing -------------------------------------------------------------------------

    def _show(self, detail, pane: PaneSummary, inbox: list, sent: list) -> None:
        try:
            self.detail = detail
            agent = detail.agent
            self.sub_title = f"{agent.kind} {agent.handle}"
            self.query_one("#agent-profile", Static).update(profile_text(detail))
            self._show_placement(detail, pane)
            self.tasks = {f"in-{t.id}": t for t in inbox} | {f"out-{t.id}": t for t in sent}
            self._fill("#agent-inbox", "in", inbox, inbox_entry)
            self._fill("#agent-sent", "out", sent, timeline_entry)
            tabs = self.query_one(TabbedContent)
            tabs.get_tab("agent-inbox-tab").label = f"Inbox ({len(inbox)})"
            tabs.get_tab("agent-sent-tab").label = f"Sent ({len(sent)})"
        except NoMatches:  # the screen was closed while the worker ran
            return
        self.refresh_bindings()

    def _show_placement(self, detail, pane: PaneSummary) -> None:
        try:
            self.query_one("#agent-placement", Static).update(placement_text(detail, pane.text))
            self.query_one("#agent-schedule", Static).update(schedule_text(detail, pane.shows_tui))
        except NoMatches:
            pass

    def _fill(self, selector: str, prefix: str, tasks: list, render) -> None:
        options = self.query_one(selector, OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option else None
        if tasks:
            options.set_options(Option(render(t), id=f"{prefix}-{t.id}") for t in tasks)
        else:
            options.set_options([Option(Text("no messages", style="dim"), disabled=True)])
        if highlighted and highlighted in {f"{prefix}-{t.id}" for t in tasks}:
            options.highlighted = options.get_option_index(highlighted)
        elif tasks and options.highlighted is None:
            options.highlighted = 0

    # -- actions -------------------------------------------------------------------------

    @on(OptionList.OptionSelected)
    def open_message(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        task = self.tasks.get(event.option.id or "")
        if task is not None:
            self.app.push_screen(MessageModal(task, can_ack=False, can_reply=False))

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "member_pane":
            return self._member_pane_target() is not None
        if action in ("diff", "merge"):
            return self._reviewable()
        return True

    def _reviewable(self) -> bool:
        """A member whose worktree git can read from here (on this host)."""
        return self.worktree is not None and self.worktree.status is not None and self._worktree_director() is not None

    def merge_director(self) -> tuple[int, str] | None:
        director_id = self._worktree_director()
        if not self._reviewable() or director_id is None or self.detail is None:
            return None
        return director_id, self.detail.agent.handle

    def action_diff(self) -> None:
        who = self.merge_director()
        if who is None:
            return
        from .worktree_diff import WorktreeDiffScreen

        self.app.push_screen(WorktreeDiffScreen(self.fleet_id, who[0], self.agent_id, who[1]))

    def _member_pane_target(self) -> int | None:
        """The Director to drive this member through, when it is a member with a pane."""
        detail = self.detail
        if detail is None:
            return None
        agent = detail.agent
        if agent.kind != AgentKind.MEMBER or agent.status != AgentStatus.ACTIVE or agent.placement is None:
            return None
        if agent.placement.tmux_pane_id is None:
            return None
        return detail.director_id

    def action_member_pane(self) -> None:
        director_id = self._member_pane_target()
        if director_id is None:
            self.notify("Only an active member with a pane has a pane view.", severity="warning")
            return
        from .member_pane import MemberPaneScreen

        self.app.push_screen(MemberPaneScreen(self.fleet_id, director_id, self.agent_id))

    def action_schedule(self) -> None:
        detail = self.detail
        if detail is None:
            return
        agent = detail.agent
        if agent.kind == AgentKind.ADMINISTRATOR:
            self.notify("The Administrator is the human: the monitor never wakes it.", severity="warning")
            return
        if agent.status != AgentStatus.ACTIVE:
            self.notify(f"{agent.handle} is deregistered; it has no schedule.", severity="warning")
            return
        from cafleet.core.domain import DEFAULT_MONITOR_INTERVAL, DEFAULT_MONITOR_INTERVALS

        interval = detail.interval_seconds or DEFAULT_MONITOR_INTERVALS.get(agent.kind, DEFAULT_MONITOR_INTERVAL)
        enabled = detail.enabled if detail.interval_seconds is not None else True

        def chosen(result: tuple[int, bool] | None) -> None:
            if result is not None:
                self.save_schedule(*result)

        self.app.push_screen(ScheduleModal(agent.handle, interval, enabled), chosen)

    @work(thread=True, exit_on_error=False, group="agent-schedule")
    def save_schedule(self, interval: int, enabled: bool) -> None:
        from cafleet.broker.monitor import configure
        from cafleet.core.errors import CafleetError

        from .error_text import error_text

        try:
            schedule = configure(self.fleet_id, self.agent_id, interval, enabled)
        except CafleetError as exc:
            self.post_message(self.ScheduleSaved(error_text(exc), error=True))
            return
        state = "enabled" if schedule.enabled else "disabled"
        self.post_message(self.ScheduleSaved(f"Schedule saved: every {schedule.interval_seconds}s, {state}.", error=False))

    @on(ScheduleSaved)
    def _on_schedule_saved(self, saved: ScheduleSaved) -> None:
        self.notify(saved.note, severity="error" if saved.error else "information")
        self.reload()

    def action_inbox(self) -> None:
        self.query_one(TabbedContent).active = "agent-inbox-tab"
        self.query_one("#agent-inbox").focus()

    def action_sent(self) -> None:
        self.query_one(TabbedContent).active = "agent-sent-tab"
        self.query_one("#agent-sent").focus()

    def action_back(self) -> None:
        self.dismiss()

    def system_commands(self):
        yield SystemCommand("Edit monitor schedule", "Interval and enabled for this agent", self.action_schedule)
        yield SystemCommand("Agent inbox", "Messages this agent received", self.action_inbox)
        yield SystemCommand("Agent sent", "Messages this agent sent", self.action_sent)
        if self._member_pane_target() is not None:
            yield SystemCommand("Member pane", "Live mirror of the member's pane, with actions", self.action_member_pane)
        if self._reviewable():
            yield SystemCommand(
                "Worktree diff", "The member's commits against its base, or its uncommitted changes", self.action_diff
            )
            yield SystemCommand(
                "Merge worktree branch", "Merge the member's branch (shows what it brings first)", self.action_merge
            )
        yield SystemCommand("Back", "Back to the fleet", self.action_back)


# -- pure rendering and the pane probe ---------------------------------------------------


def stamp(value: str | None) -> str:
    return f"{day(value)} {clock(value)} UTC" if value else "—"


def profile_text(detail) -> Text:
    agent = detail.agent
    text = fields(
        Text.assemble((agent.name, "bold"), (f"#{agent.id}", "dim")),
        agent.kind,
        ("● active", "green") if agent.status == AgentStatus.ACTIVE else ("○ deregistered", "dim"),
        (f"{detail.unread}✉ unread", "bold yellow") if detail.unread else None,
    )
    text.append("\n")
    text.append(body(agent.description or "(no description)", 160, 2), style="italic")
    if agent.skills is not None:
        # Bounded in depth and length, read lazily: a row stored before `--skills` had a depth
        # limit may nest ~1000 levels (str() of it raised RecursionError) or hold 10,000 items.
        def parts(value, depth: int, brackets: bool = True):
            if not isinstance(value, (list, dict)):
                yield str(value)
                return
            opening, closing = ("[", "]") if isinstance(value, list) else ("{", "}")
            if depth >= 3:
                yield opening + "…" + closing
                return
            yield opening if brackets else ""
            entries = value.items() if isinstance(value, dict) else ((None, item) for item in value)
            for i, (key, item) in enumerate(entries):
                yield ", " if i else ""
                yield "" if key is None else f"{key}: "
                yield from parts(item, depth + 1)
            yield closing if brackets else ""

        shown = ""  # a top-level list reads as its items: review, tests
        for piece in parts(agent.skills, 0, brackets=not isinstance(agent.skills, list)):
            shown += piece
            if len(shown) > 120:
                break
        text.append("\nskills: ", style="dim")
        text.append(body(shown, 120, 1))
    text.append("\nregistered   ", style="dim")
    text.append(stamp(agent.registered_at))
    if agent.deregistered_at:
        text.append("\nderegistered ", style="dim")
        text.append(stamp(agent.deregistered_at))
    return text


def placement_text(detail, pane: str) -> Text:
    placement = detail.agent.placement
    text = Text()
    text.append("Placement\n", style="bold")
    if placement is None:
        text.append("no pane (not placed in tmux)", style="dim")
        return text
    rows: list[tuple[str, str | Text]] = [
        ("agent", placement.coding_agent),
        ("pane", f"{placement.tmux_pane_id or 'pending'}  {pane}"),
        *_state_rows(detail.seen),
        ("window", f"{placement.tmux_window_id}  session {placement.tmux_session}"),
        ("socket", placement.tmux_socket),
    ]
    if placement.director_id is not None:
        rows.append(("director", f"#{placement.director_id}"))
    for i, (label, value) in enumerate(rows):
        if i:
            text.append("\n")
        text.append(f"{label:<8} ", style="dim")
        text.append(value)
    return text


def schedule_text(detail, pane_shows_tui: bool = False) -> Text:
    """When the monitor pings the agent: a Director every interval (its supervision tick),
    anyone else only while it has unread messages; never into a pane that shows the TUI."""
    text = fields(("Monitor", "bold"), ("(s edits)", "dim"))
    text.append("\n")
    agent = detail.agent
    if agent.kind == AgentKind.ADMINISTRATOR:
        text.append("never woken (the human)", style="dim")
    elif detail.interval_seconds is None:
        text.append("no schedule" if agent.status != AgentStatus.ACTIVE else "no schedule yet", style="dim")
    else:
        every = f"every {detail.interval_seconds}s" + ("" if agent.kind == AgentKind.DIRECTOR else " while unread")
        text.append_text(fields(every, ("● enabled", "green") if detail.enabled else ("○ disabled", "yellow")))
        if pane_shows_tui and detail.enabled:
            text.append("\nskipped: its pane shows the TUI", style="yellow")
        text.append("\nlast ping ", style="dim")
        text.append(stamp(detail.last_ping_at) if detail.last_ping_at else "never")
        hold = detail.seen.hold if detail.seen is not None else None
        if hold is not None and hold.wakes:
            text.append(f"\nwoken {hold.wakes}× in this hold", style="yellow")
    return text


# What the agent says fits beside its label in half of an 80-column screen; `agent show` and
# the member pane have all of it.
REASON_CHARS = 36


def _state_rows(seen) -> list[tuple[str, str | Text]]:
    """`state  ⊘ limited · resets 23:32` and what the agent says, while its provider holds it
    (other states are the roster's: the pane row says enough)."""
    if seen is None or seen.state not in HELD:
        return []
    mark, style = AGENT_STATE_MARKS.get(seen.state.value, ("?", "dim"))
    state = fields((f"{mark} {seen.state.value}", style), reset_words(seen) or None, sep=DOT)
    rows: list[tuple[str, str | Text]] = [("state", state)]
    if seen.reason:
        rows.append(("", Text(body(seen.reason, REASON_CHARS, 1), style="italic")))
    return rows


def pane_summary(placement) -> PaneSummary:
    """A short state of the agent's pane, from one `list-panes` (run in a worker thread).
    Short enough to sit beside the pane id in half of an 80-column screen."""
    if placement is None:
        return PaneSummary("")
    if placement.tmux_pane_id is None:
        return PaneSummary("◌ being spawned")
    from cafleet.core.hosts import is_this_host
    from cafleet.panes.safety import target_problem
    from cafleet.panes.tmux import Tmux
    from cafleet.services.lost_servers import lost_because

    if not is_this_host(placement.host):
        return PaneSummary(f"◇ on host {placement.host}")  # its socket would name a pane of this machine

    try:
        tmux = Tmux(placement.tmux_socket)
        state = tmux.pane(placement.tmux_pane_id) if tmux.server_pid else None
        problem = target_problem(placement, tmux, state)
    except Exception as exc:  # noqa: BLE001 - a probe; tmux quirks must not crash the screen
        return PaneSummary(f"? ({exc})")
    if problem is None:
        assert state is not None  # target_problem found the pane
        return PaneSummary(f"● {'copy mode' if state.in_mode else 'alive'} ({state.current_command})")
    if problem is PaneProblem.PANE_SHOWS_CAFLEET_TUI:
        return PaneSummary("● shows the cafleet TUI", shows_tui=True)
    lost = lost_because(placement, problem)
    if lost is None:  # no server answers here, and this process cannot tell whether one died
        return PaneSummary("✗ gone (no tmux server)")
    return PaneSummary(f"✗ lost ({LOST_WORDS[lost]})")
