"""Member pane: a live mirror of a member's tmux pane, with the Director's actions on it
(ping, exec, answer a choice, delete). Every tmux and database call runs in a thread worker."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import get_current_worker

from .dialogs import ConfirmModal, TextPromptModal
from .human_inbox import FleetHeader
from .live import DataChanged
from .worker_errors import ReportsWorkerErrors

CAPTURE_LINES = 200
REFRESH_SECONDS = 1.0
DELETE_TIMEOUT = 15.0


class MemberPaneScreen(ReportsWorkerErrors, Screen):
    """What the member's pane shows now, refreshed about once a second."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("p", "ping", "Ping"),
        Binding("x", "exec", "Exec"),
        Binding("1", "choose(1)", "Choose", key_display="1-3"),
        Binding("2", "choose(2)", "Choose 2", show=False),
        Binding("3", "choose(3)", "Choose 3", show=False),
        Binding("t", "answer", "Text"),
        Binding("d", "delete", "Delete"),
    ]

    def __init__(self, fleet_id: int, director_id: int, member_id: int):
        super().__init__()
        self.fleet_id = fleet_id
        self.director_id = director_id
        self.member_id = member_id
        self.member_name = f"member {member_id}"
        self.deleting = False
        self.capturing = False
        self.lines: list[str] | None = None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        yield FleetHeader()
        yield Static(f"{self.member_name}: connecting to its pane…", id="pane-status", markup=False)
        with VerticalScroll(id="pane-scroll"):
            yield Static("", id="pane-mirror", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"cafleet · fleet {self.fleet_id}"
        self.sub_title = f"pane of member {self.member_id}"
        self.query_one("#pane-scroll").focus()
        self.tick()
        self.set_interval(REFRESH_SECONDS, self.tick)

    @on(DataChanged)
    def on_data_changed(self) -> None:
        self.tick()

    # -- the mirror ----------------------------------------------------------------------

    def tick(self) -> None:
        """Start a capture unless one is still running (a slow tmux must not pile them up)."""
        if not self.capturing:
            self.capturing = True
            self.capture()

    @work(thread=True, exit_on_error=False, exclusive=True, group="pane-capture")
    def capture(self) -> None:
        from cafleet.broker.members import member
        from cafleet.core.errors import CafleetError
        from cafleet.panes.members import capture_member

        from .error_text import error_text

        try:
            record, lines, problem = None, None, None
            try:
                record = member(self.fleet_id, self.director_id, self.member_id)
                lines = capture_member(self.fleet_id, self.director_id, self.member_id, lines=CAPTURE_LINES, ansi=True)
            except CafleetError as exc:
                problem = error_text(exc)
            except Exception as exc:  # noqa: BLE001 - a once-a-second probe must never crash the app
                problem = f"reading the pane failed: {exc}"
            if not get_current_worker().is_cancelled:
                self.post_message(self.Captured(record, lines, problem))
        finally:
            self.capturing = False

    class Captured(Message):
        """A look at the member's pane: its lines, or why it cannot be read."""

        def __init__(self, record, lines: list[str] | None, problem: str | None):
            super().__init__()
            self.record, self.lines, self.problem = record, lines, problem

    class Steered(Message):
        def __init__(self, note: str, error: bool):
            super().__init__()
            self.note, self.error = note, error

    class DeleteEnded(Message):
        """`timed_out` offers to kill the pane; `refused` says why nothing happened."""

        def __init__(self, timed_out: str | None = None, refused: str | None = None):
            super().__init__()
            self.timed_out, self.refused = timed_out, refused

    @on(Captured)
    def _on_captured(self, captured: Captured) -> None:
        self._show_capture(captured.record, captured.lines, captured.problem)

    def _show_capture(self, record, lines: list[str] | None, problem: str | None) -> None:
        try:
            status = self.query_one("#pane-status", Static)
            mirror = self.query_one("#pane-mirror", Static)
            scroll = self.query_one("#pane-scroll", VerticalScroll)
        except NoMatches:  # closed while the worker ran
            return
        if record is not None:
            self.member_name = record.name
            self.sub_title = f"pane of {record.handle}"
        pane_id = record.placement.tmux_pane_id if record is not None and record.placement else None
        if problem is not None:
            status.update(f"✗ {self.member_name}'s pane is gone: {problem}. d deletes the member; Escape goes back.")
            status.add_class("gone")
            mirror.add_class("gone")
            if problem != self.problem or self.lines is None:
                mirror.update(Text(f"The pane of {self.member_name} is gone.\n\n{problem}", style="bold"))
                self.lines = None
            self.problem = problem
            return
        self.problem = None
        status.remove_class("gone")
        mirror.remove_class("gone")
        status.update(
            f"● {self.member_name}#{self.member_id} · pane {pane_id} · live (every {REFRESH_SECONDS:g}s) · 1-3 answers a choice"
        )
        if lines is None or lines == self.lines:
            return
        follow = self.lines is None or scroll.scroll_y >= scroll.max_scroll_y - 1
        self.lines = lines
        text = Text.from_ansi("\n".join(lines), no_wrap=True, end="")
        mirror.update(text)
        if follow:
            scroll.scroll_end(animate=False)

    # -- actions -------------------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if self.deleting and action in ("ping", "exec", "choose", "answer", "delete"):
            return None  # shown dimmed while the member is being deleted
        return True

    def action_ping(self) -> None:
        from cafleet.panes.members import ping

        self.steer(f"Asked {self.member_name} to poll its inbox.", ping, self.fleet_id, self.director_id, self.member_id)

    def action_exec(self) -> None:
        def entered(command: str | None) -> None:
            if command is not None:
                from cafleet.panes.members import exec_command

                self.steer(
                    f"Ran `{command.strip()}` in {self.member_name}'s pane.",
                    exec_command,
                    self.fleet_id,
                    self.director_id,
                    self.member_id,
                    command,
                )

        self.app.push_screen(
            TextPromptModal(
                f"Shell command to run in {self.member_name}'s pane (typed as `! command`)",
                placeholder="git status",
                empty_message="Type a shell command, or press Escape to cancel.",
                validate=lambda text: "One line only." if "\n" in text else None,
            ),
            entered,
        )

    def action_choose(self, choice: int) -> None:
        from cafleet.panes.members import send_input

        self.steer(
            f"Pressed {choice} in {self.member_name}'s pane.",
            send_input,
            self.fleet_id,
            self.director_id,
            self.member_id,
            choice,
            None,
        )

    def action_answer(self) -> None:
        def entered(answer: str | None) -> None:
            if answer is not None:
                from cafleet.panes.members import send_input

                self.steer(
                    f"Answered {self.member_name}.",
                    send_input,
                    self.fleet_id,
                    self.director_id,
                    self.member_id,
                    None,
                    answer,
                )

        self.app.push_screen(
            TextPromptModal(
                f"Answer {self.member_name} (typed into its input box, then Enter)",
                placeholder="your answer",
                empty_message="Type the answer, or press Escape to cancel.",
                validate=lambda text: (
                    "An answer may not start with '!' (the agent would run it as a shell command); use x for that."
                    if text.lstrip().startswith("!")
                    else None
                ),
            ),
            entered,
        )

    @work(thread=True, exit_on_error=False, group="pane-steer")
    def steer(self, done: str, call, *args) -> None:
        from cafleet.core.errors import CafleetError

        from .error_text import error_text

        try:
            call(*args)
        except CafleetError as exc:
            self.post_message(self.Steered(error_text(exc), error=True))
            return
        self.post_message(self.Steered(done, error=False))

    @on(Steered)
    def _on_steered(self, steered: Steered) -> None:
        if steered.error:
            self.notify(steered.note, severity="error", title="Nothing was done")
            return
        self.notify(steered.note)
        self.tick()

    def action_delete(self) -> None:
        if self.deleting:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._start_delete(force=False)

        self.app.push_screen(
            ConfirmModal(
                f"Delete member {self.member_name}?",
                f"cafleet types /exit into {self.member_name}'s pane, waits up to {DELETE_TIMEOUT:g}s for the "
                "pane to close, then deregisters the member. Its messages stay.",
                confirm_label="Delete",
                danger=True,
            ),
            confirmed,
        )

    def _start_delete(self, force: bool) -> None:
        self.deleting = True
        self.refresh_bindings()
        self.notify(f"Killing {self.member_name}'s pane…" if force else f"Asking {self.member_name} to exit…")
        self.delete(force)

    def _delete_failed(self) -> None:
        self.deleting = False
        self.refresh_bindings()

    @work(thread=True, exit_on_error=False, group="pane-delete")
    def delete(self, force: bool) -> None:
        from cafleet.core.errors import CafleetError
        from cafleet.panes.members import DeleteTimedOut, delete_member

        from .error_text import error_text

        try:
            delete_member(self.fleet_id, self.director_id, self.member_id, force=force, timeout=DELETE_TIMEOUT)
        except DeleteTimedOut as exc:
            self.post_message(self.DeleteEnded(timed_out=exc.message))
            return
        except CafleetError as exc:
            self.post_message(self.DeleteEnded(refused=error_text(exc)))
            return
        self.post_message(self.DeleteEnded())

    @on(DeleteEnded)
    def _on_delete_ended(self, ended: DeleteEnded) -> None:
        if ended.timed_out is None and ended.refused is None:
            self._deleted()
            return
        self._delete_failed()
        if ended.timed_out is not None:
            self._offer_force(ended.timed_out)
        else:
            self.notify(ended.refused or "", severity="error", title="Not deleted")

    def _offer_force(self, message: str) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._start_delete(force=True)

        self.app.push_screen(
            ConfirmModal(f"{self.member_name} did not exit", f"{message}\n\nKill the pane now?", "Kill pane", danger=True),
            confirmed,
        )

    def _deleted(self) -> None:
        self.notify(f"Member {self.member_name} deleted; its pane is closed.")
        if self not in self.app.screen_stack:
            return
        while self.app.screen is not self:
            self.app.pop_screen()
        self.dismiss()

    def action_back(self) -> None:
        self.dismiss()

    def system_commands(self):
        yield SystemCommand("Ping member", "Make it poll its inbox now", self.action_ping)
        yield SystemCommand("Exec in member pane", "Run a shell command through the agent (`! cmd`)", self.action_exec)
        yield SystemCommand("Answer with text", "Type an answer into the member's input box", self.action_answer)
        for n in (1, 2, 3):
            yield SystemCommand(f"Choose option {n}", f"Press {n} in the member's pane", lambda n=n: self.action_choose(n))
        yield SystemCommand("Delete member", "Ask it to /exit and deregister it", self.action_delete)
        yield SystemCommand("Back", "Leave the pane view", self.action_back)
