"""The fleet view: roster, timeline, the Administrator's inbox and the composer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from cafleet.core.domain import NEEDS_YOU_TAG, AgentKind, TaskState
from cafleet.core.terminal import one_line

from .composer import Composer
from .fleet_data import (
    PAGE,
    Acked,
    Delivered,
    FleetLoaded,
    FleetRefreshed,
    HostsChecked,
    OlderLoaded,
    PanesChecked,
    Side,
    pane_states,
    shown_states,
    side_data,
)
from .hosts import courier_warning, roster_hosts
from .human_inbox import FleetHeader
from .live import DataChanged
from .lost_panes import loss_warning
from .message_modal import MessageModal
from .render import inbox_entry
from .roster import RosterView
from .timeline import TimelineView
from .timeline_search import SearchesTimeline
from .usage_marks import RECHECK_SECONDS as USAGE_RECHECK_SECONDS
from .usage_marks import UsageChecked, read_marks
from .worker_errors import ReportsWorkerErrors
from .worktree_marks import RECHECK_SECONDS as WORKTREES_RECHECK_SECONDS
from .worktree_marks import WorktreesChecked, worktree_marks

if TYPE_CHECKING:
    from cafleet.broker.reads import RosterCursor
    from cafleet.core.records import PlacementRecord, TaskRecord

# While notices wait, the hosts are read again this often: a courier that stopped stamping, or
# notices that wait ever longer, commit nothing that would wake the view.
HOSTS_RECHECK_SECONDS = 5.0
# The panes are looked at again this often: a tmux server that dies with no courier watching
# it (the courier leaves with the last one) commits nothing that would wake the view.
PANES_RECHECK_SECONDS = 5.0


class FleetViewScreen(SearchesTimeline, ReportsWorkerErrors, Screen):
    """Everything about one fleet, live."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        # Priority: the app runs these as it reads the key. Otherwise the key first travels up
        # from the focused widget, and keys typed right behind it reach the old widget.
        Binding("ctrl+n", "compose", "Compose", priority=True),
        Binding("ctrl+t", "timeline", "Timeline", priority=True),
        Binding("ctrl+o", "inbox", "Inbox", priority=True),
        Binding("ctrl+r", "roster", "Roster", priority=True),
        Binding("a", "ack_highlighted", "Ack"),
        Binding("ctrl+f", "toggle_unread", "Unread only", show=False),
        Binding("ctrl+g", "jump_newest", "Newest"),
        # Ctrl+Q quits here as everywhere; the footer leaves it to the fleet picker (and the
        # palette), so every key of this view fits in 80 columns.
        Binding("ctrl+q", "app.quit", "Quit", show=False, priority=True),
        # In the composer, `/` as the first character opens the search too (Composer.SearchWanted).
        Binding("slash", "search", "Search", show=False),
    ]

    def __init__(self, fleet_id: int):
        super().__init__()
        self.fleet_id = fleet_id
        self.administrator_id: int | None = None
        self.revision = 0  # the fleet's task revision last seen (`cafleet.broker.revisions`)
        self.inbox_tasks: dict[int, TaskRecord] = {}
        self.hopped = False  # the user moved focus with a key before the first load finished
        self.loaded = False
        self.side: Side | None = None
        self.reading_worktrees = False  # a worktree check runs: another waits for the next turn
        self.reading_usage = False  # likewise for the members' usage

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        yield Static(id="courier-warning")
        yield Static(id="loss-warning")
        with Horizontal(id="fleet-body"):
            yield RosterView(id="roster")
            with Vertical(id="fleet-main"):
                with TabbedContent(id="fleet-tabs", initial="timeline-tab"):
                    with TabPane("Timeline", id="timeline-tab"):
                        yield TimelineView(id="timeline")
                    with TabPane("Inbox", id="inbox-tab"):
                        yield OptionList(id="inbox")
                yield Composer(lambda: self.query_one(RosterView).names(), id="composer")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"cafleet · fleet {self.fleet_id}"
        self.load_everything()
        self.set_interval(HOSTS_RECHECK_SECONDS, self._recheck_hosts)
        self.set_interval(PANES_RECHECK_SECONDS, self._recheck_panes)
        self.set_interval(WORKTREES_RECHECK_SECONDS, self.recheck_worktrees)
        self.set_interval(USAGE_RECHECK_SECONDS, self.recheck_usage)

    def on_screen_resume(self) -> None:
        self.refresh_live()
        if self.loaded:  # back from an agent's detail, where its branch may have been merged
            self.recheck_worktrees()

    @on(DataChanged)
    def on_data_changed(self) -> None:
        self.refresh_live()

    # -- loading: workers compute in threads and post typed messages ----------------------

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-load")
    def load_everything(self) -> None:
        from cafleet.broker import reads

        administrator_id = reads.administrator_id(self.fleet_id)
        page, roster, revision = reads.roster_page(self.fleet_id, limit=PAGE)
        placements = [e.agent.placement for e in roster if e.agent.placement is not None]
        side = side_data(self.fleet_id, administrator_id, placements, inbox=True)
        self.post_message(FleetLoaded(administrator_id, page, revision, roster, side))

    def refresh_live(self) -> None:
        """Reload what changed; a burst of changes coalesces (the newest request wins)."""
        if not self.loaded:
            return  # the first load, still running, brings everything
        timeline = self.query_one(TimelineView)
        self._refresh(timeline.newest_id, self.revision, self.query_one(RosterView).cursor(), self.administrator_id)

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-refresh")
    def _refresh(self, newest_id: int, revision: int, roster: RosterCursor, administrator_id: int | None) -> None:
        from cafleet.broker import reads

        changes = reads.fleet_changes(self.fleet_id, newest_id, revision, roster, administrator_id)
        placements = list(changes.roster.cursor.placements.values())
        side = side_data(self.fleet_id, administrator_id, placements, inbox=changes.inbox_moved)
        if not get_current_worker().is_cancelled:  # a newer refresh replaced this one
            self.post_message(FleetRefreshed(changes, side))

    def _recheck_hosts(self) -> None:
        if self.side is not None and any(h.notices_waiting for h in self.side.hosts.hosts):
            self.check_hosts()

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-hosts")
    def check_hosts(self) -> None:
        from cafleet.broker.hosts_view import fleet_hosts

        self.post_message(HostsChecked(fleet_hosts(self.fleet_id)))

    def _recheck_panes(self) -> None:
        if self.side is not None and self.side.panes:
            self.check_panes(list(self.query_one(RosterView).cursor().placements.values()))

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-panes")
    def check_panes(self, placements: list[PlacementRecord]) -> None:
        from cafleet.broker import reads

        panes = pane_states(placements)
        self.post_message(PanesChecked(panes, shown_states(panes, reads.seen_states(self.fleet_id))))

    def recheck_worktrees(self) -> None:
        """Read the worktree members' branches again, unless a read still runs (a slow git
        must not pile reads up)."""
        if not self.reading_worktrees:
            self.reading_worktrees = True
            self.check_worktrees()

    @work(thread=True, exit_on_error=False, group="fleet-worktrees")
    def check_worktrees(self) -> None:
        from cafleet.services.worktree_review import fleet_worktrees

        try:
            marks = worktree_marks(fleet_worktrees(self.fleet_id))
        finally:
            self.reading_worktrees = False
        self.post_message(WorktreesChecked(marks))

    def recheck_usage(self) -> None:
        """Read the members' usage again from their agents' files, unless a read still runs."""
        if self.reading_usage or not self.loaded:
            return
        members = [e.agent for e in self.query_one(RosterView).entries.values() if e.agent.kind == AgentKind.MEMBER]
        if members:
            self.reading_usage = True
            self.check_usage(members)

    @work(thread=True, exit_on_error=False, group="fleet-usage")
    def check_usage(self, members: list) -> None:
        try:
            marks = read_marks(members)
        finally:
            self.reading_usage = False
        self.post_message(UsageChecked(marks))

    @work(thread=True, exit_on_error=False, exclusive=True, group="fleet-older")
    def load_older(self, oldest_id: int | None) -> None:
        from cafleet.broker import reads

        self.post_message(OlderLoaded(reads.timeline(self.fleet_id, before_id=oldest_id, limit=PAGE)))

    # -- showing -------------------------------------------------------------------------

    @on(FleetLoaded)
    def _show_everything(self, loaded: FleetLoaded) -> None:
        self.administrator_id = loaded.administrator_id
        self.revision = loaded.revision
        self.loaded = True
        self.query_one(TimelineView).show_page(loaded.page, has_older=len(loaded.page) == PAGE)
        side = loaded.side
        self.query_one(RosterView).load(loaded.roster, side.panes, side.states, roster_hosts(side.hosts))
        self._show_side(side)
        if not self.hopped:  # a slow first load must not pull focus from where the user went
            self.set_focus(self.query_one("#composer-input"))
        self.refresh_live()  # whatever was committed while the first load ran
        self.recheck_worktrees()
        self.recheck_usage()

    @on(FleetRefreshed)
    def _show_live(self, refreshed: FleetRefreshed) -> None:
        timeline = self.query_one(TimelineView)
        changes = refreshed.changes
        self.revision = changes.timeline.revision
        timeline.add_new(list(changes.timeline.added))
        timeline.update_entries(list(changes.timeline.changed))
        roster = self.query_one(RosterView)
        known = roster.entries.keys()
        joined = any(e.agent.id not in known for e in changes.roster.entries)
        roster.apply(changes.roster)
        self._show_side(refreshed.side)
        if joined:  # a member made with a worktree shows its branch without waiting a turn
            self.recheck_worktrees()
            self.recheck_usage()

    @on(OlderLoaded)
    def _show_older(self, loaded: OlderLoaded) -> None:
        self.query_one(TimelineView).prepend_older(loaded.tasks, len(loaded.tasks) == PAGE)

    @on(UsageChecked)
    def _show_usage(self, checked: UsageChecked) -> None:
        self.query_one(RosterView).show_usage(checked.marks)

    @on(WorktreesChecked)
    def _show_worktrees(self, checked: WorktreesChecked) -> None:
        self.query_one(RosterView).show_worktrees(checked.marks)

    @on(PanesChecked)
    def _show_panes(self, checked: PanesChecked) -> None:
        if self.side is not None:
            self._show_side(self.side._replace(panes=checked.panes, states=checked.states, inbox=None))

    @on(HostsChecked)
    def _show_hosts(self, checked: HostsChecked) -> None:
        if self.side is not None:
            self._show_side(self.side._replace(hosts=checked.hosts, inbox=None))

    def _show_side(self, side: Side) -> None:
        self.side = side
        monitor = side.monitor
        running = bool(monitor and monitor.live)
        label = f" “{one_line(side.label)}”" if side.label else ""
        self.title = f"cafleet · fleet {self.fleet_id}{label}"
        self.sub_title = f"monitor ● running (pid {monitor.pid})" if running else "monitor ○ stopped"
        self.query_one(RosterView).show_marks(side.panes, side.states, roster_hosts(side.hosts))
        warning = courier_warning(side.hosts)
        self.query_one("#courier-warning", Static).update(warning)
        self.query_one("#courier-warning").set_class(bool(warning), "visible")
        lost = loss_warning(self.fleet_id, self.query_one(RosterView).entries, side.panes)
        self.query_one("#loss-warning", Static).update(lost)
        self.query_one("#loss-warning").set_class(bool(lost), "visible")
        if side.inbox is not None:
            self._show_inbox(side.inbox)

    def _show_inbox(self, tasks: list[TaskRecord]) -> None:
        inbox = self.query_one("#inbox", OptionList)
        self.inbox_tasks = {t.id: t for t in tasks}
        highlighted = inbox.highlighted
        inbox.set_options(Option(inbox_entry(t), id=f"inbox-{t.id}") for t in tasks)
        if tasks:
            inbox.highlighted = 0 if highlighted is None else min(highlighted, len(tasks) - 1)
        unread = sum(1 for t in tasks if t.state == TaskState.UNREAD)
        self.query_one(TabbedContent).get_tab("inbox-tab").label = f"Inbox ({unread})" if unread else "Inbox"

    # -- actions -------------------------------------------------------------------------

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.query_one(Composer).clear_error()  # an error stays with the moment it was made

    @on(TimelineView.OlderWanted)
    def older(self) -> None:
        self.load_older(self.query_one(TimelineView).oldest_id)

    @on(TimelineView.MessageSelected)
    def open_message(self, event: TimelineView.MessageSelected) -> None:
        self._open_task(event.task)

    @on(OptionList.OptionSelected, "#inbox")
    def open_inbox_message(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._open_task(self.inbox_tasks[int((event.option.id or "")[6:])])

    def _open_task(self, task) -> None:
        mine = task.to_agent_id == self.administrator_id
        can_ack = mine and task.state == TaskState.UNREAD
        can_reply = task.from_agent_id != self.administrator_id
        # A member's question to the human: answered in the member's own pane view.
        can_answer = mine and task.state == TaskState.UNREAD and task.text.startswith(NEEDS_YOU_TAG)

        def done(choice: str | None) -> None:
            if choice == "ack":
                self.ack(task.id)
            elif choice == "reply":
                self.query_one(Composer).start_reply(task.from_name, task.id)
            elif choice == "answer":
                self.open_asking_member(task.from_agent_id)

        self.app.push_screen(MessageModal(task, can_ack=can_ack, can_reply=can_reply, can_answer=can_answer), done)

    @work(thread=True, exit_on_error=False, group="answer")
    def open_asking_member(self, member_id: int) -> None:
        from cafleet.broker.agent_reads import agent_detail

        detail = agent_detail(self.fleet_id, member_id)  # a refusal becomes a notification
        self.post_message(self.AnswerWanted(member_id, detail.director_id))

    class AnswerWanted(Message):
        def __init__(self, member_id: int, director_id: int | None):
            super().__init__()
            self.member_id, self.director_id = member_id, director_id

    @on(AnswerWanted)
    def _open_member_pane(self, wanted: AnswerWanted) -> None:
        if wanted.director_id is None:
            self.notify("That member has no Director any more: nothing to answer there.", severity="warning")
            return
        from .member_pane import MemberPaneScreen

        self.app.push_screen(MemberPaneScreen(self.fleet_id, wanted.director_id, wanted.member_id))

    @on(RosterView.AgentSelected)
    def open_agent(self, event: RosterView.AgentSelected) -> None:
        from .agent_detail import AgentDetailScreen

        self.app.push_screen(AgentDetailScreen(self.fleet_id, event.entry.agent.id))

    @on(Composer.SearchWanted)
    async def _search_from_composer(self, wanted: Composer.SearchWanted) -> None:
        # Keys that reached the composer after it handed the search over belong to the query,
        # and so do those that reach it while the search opens (until its field has the focus).
        field = self.query_one("#composer-input", Input)
        query, field.value = wanted.query + field.value, ""
        opening = self.open_search(query)
        if opening is None:
            return
        await opening
        late, field.value = field.value, ""
        from .search import SearchScreen

        if late and isinstance(self.app.screen, SearchScreen):
            self.app.screen.extend_query(late)

    @on(Composer.Send)
    def send(self, event: Composer.Send) -> None:
        self.send_composed(self.administrator_id, event.composed.to, event.composed.text, event.reply_to)

    @work(thread=True, exit_on_error=False, group="fleet-send")
    def send_composed(self, administrator_id: int, to: str | None, text: str, reply_to: int | None) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.services.sending import broadcast, send

        from .error_text import error_text

        try:
            if to is None:
                task_id = broadcast(self.fleet_id, administrator_id, text, source="the composer").summary.id
            else:
                task_id = send(self.fleet_id, administrator_id, to, text, reply_to=reply_to, source="the composer").id
        except CafleetError as exc:
            self.post_message(Delivered(None, error_text(exc)))
            return
        self.post_message(Delivered(task_id))

    @on(Delivered)
    def _delivered(self, event: Delivered) -> None:
        composer = self.query_one(Composer)
        if event.task_id is None:
            composer.show_error(event.error or "")
            return
        composer.sent()
        # The message just sent comes into view, wherever the timeline was (a search hit, the
        # inbox tab): a send that shows nowhere looks lost. The focus stays in the composer.
        self.query_one(TabbedContent).active = "timeline-tab"
        self.query_one(TimelineView).follow(event.task_id)
        self.refresh_live()

    @work(thread=True, exit_on_error=False, group="fleet-ack")
    def ack(self, task_id: int) -> None:
        from cafleet.broker.messages import ack_message
        from cafleet.core.errors import CafleetError

        from .error_text import error_text

        if self.administrator_id is None:
            return  # still loading: there is nobody to ack as yet
        try:
            ack_message(self.fleet_id, self.administrator_id, task_id)
        except CafleetError as exc:
            self.post_message(Acked(error_text(exc)))
            return
        self.post_message(Acked(None))

    @on(Acked)
    def _acked(self, event: Acked) -> None:
        if event.error is not None:
            self.notify(event.error, severity="error")
        self.refresh_live()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "ack_highlighted":
            # One key acks the highlighted inbox message; elsewhere `a` is just a letter.
            return self.query_one("#inbox", OptionList).has_focus
        return True

    def _highlighted_unread(self) -> TaskRecord | None:
        """The inbox's highlighted message, while it waits for an ack."""
        option = self.query_one("#inbox", OptionList).highlighted_option
        task = self.inbox_tasks.get(int((option.id or "")[6:])) if option is not None else None
        return task if task is not None and task.state == TaskState.UNREAD else None

    def action_ack_highlighted(self) -> None:
        task = self._highlighted_unread()
        if task is not None:
            self.ack(task.id)

    def action_toggle_unread(self) -> None:
        timeline = self.query_one(TimelineView)
        timeline.set_unread_only(not timeline.unread_only)
        self.query_one(TabbedContent).get_tab("timeline-tab").label = "Timeline · unread" if timeline.unread_only else "Timeline"

    def action_jump_newest(self) -> None:
        self.query_one(TabbedContent).active = "timeline-tab"
        timeline = self.query_one(TimelineView)
        self._hop(timeline)
        timeline.jump_to_newest()

    def action_back(self) -> None:
        self.app.pop_screen()

    # Focus moves at once (Widget.focus() waits for the next idle moment, and keys typed
    # right after a hop would still go to the widget being left).
    def _hop(self, widget) -> None:
        self.hopped = True
        self.set_focus(widget)

    def action_compose(self) -> None:
        self._hop(self.query_one("#composer-input"))

    def action_timeline(self) -> None:
        self.query_one(TabbedContent).active = "timeline-tab"
        self._hop(self.query_one(TimelineView))

    def action_inbox(self) -> None:
        self.query_one(TabbedContent).active = "inbox-tab"
        self._hop(self.query_one("#inbox"))

    def action_roster(self) -> None:
        self._hop(self.query_one(RosterView))

    def system_commands(self):
        """The palette's commands: each only where it applies (an ack while the inbox shows an
        unread message under its cursor, a cancel while a reply is pending)."""
        yield SystemCommand("Compose a message", "Focus the composer (@name or @all)", self.action_compose)
        yield SystemCommand("Administrator inbox", "Replies addressed to the human", self.action_inbox)
        yield SystemCommand("Timeline", "All messages of the fleet", self.action_timeline)
        yield SystemCommand("Roster", "Agents of the fleet", self.action_roster)
        if self.query_one(TabbedContent).active == "inbox-tab" and self._highlighted_unread() is not None:
            yield SystemCommand("Ack the highlighted inbox message", "Or press a in the inbox", self.action_ack_highlighted)
        yield SystemCommand("Search messages", "Or press / (in the composer: as the first character)", self.action_search)
        yield SystemCommand("Jump to the newest message", "Ctrl+G", self.action_jump_newest)
        yield SystemCommand("Unread only / all messages", "Ctrl+F toggles the timeline filter", self.action_toggle_unread)
        composer = self.query_one(Composer)
        if composer.reply_to is not None:
            yield SystemCommand("Cancel the reply", "Or Escape in the composer", composer.action_cancel_reply)
        yield SystemCommand("Back to fleets", "The fleet picker", self.action_back)
