"""Small reusable modals: a yes/no confirmation, a one-line text prompt, and the monitor
schedule editor. All keyboard-only (Enter confirms, Escape cancels) and fit in 80×24."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, Switch

from cafleet.core.limits import MAX_INTERVAL_SECONDS as MAX_INTERVAL


class ConfirmModal(ModalScreen[bool]):
    """A question with Confirm (focused, so Enter confirms) and Cancel (Escape)."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("y", "confirm", "Yes", show=False),
        Binding("n", "cancel", "No", show=False),
    ]

    def __init__(self, title: str, message: str, confirm_label: str = "Confirm", danger: bool = False):
        super().__init__()
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            with VerticalScroll(classes="dialog-message"):
                yield Static(self.message, markup=False)
            with Horizontal(classes="dialog-actions"):
                yield Button(self.confirm_label, id="confirm", variant="error" if self.danger else "primary")
                yield Button("Cancel", id="cancel")
            yield Static("Enter confirms · Escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


class TextPromptModal(ModalScreen[str | None]):
    """One line of text. Enter submits (unless empty or invalid), Escape returns None.

    `validate(text)` may return an error message to show instead of closing.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        empty_message: str = "Type something first, or press Escape to cancel.",
        validate: Callable[[str], str | None] | None = None,
        initial: str = "",
    ):
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.empty_message = empty_message
        self.validate = validate
        self.initial = initial

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Input(value=self.initial, placeholder=self.placeholder, id="prompt-input")
            yield Static("", id="prompt-error", classes="dialog-error", markup=False)
            yield Static("Enter confirms · Escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#prompt-input", Input).focus()

    @on(Input.Submitted, "#prompt-input")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        problem = self.empty_message if not text.strip() else (self.validate(text) if self.validate else None)
        if problem:
            self._show_error(problem)
            return
        self.dismiss(text)

    @on(Input.Changed, "#prompt-input")
    def changed(self) -> None:
        self._show_error("")

    def _show_error(self, message: str) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(message)
        error.set_class(bool(message), "visible")

    def action_cancel(self) -> None:
        self.dismiss(None)


class _SubmittingSwitch(Switch):
    """A Switch where Space toggles and Enter saves the dialog (Switch's Enter would toggle)."""

    BINDINGS = [
        Binding("space", "toggle_switch", "Toggle", show=False),
        Binding("enter", "submit", "Save", show=False),
    ]

    def action_submit(self) -> None:
        if isinstance(self.screen, ScheduleModal):
            self.screen.action_save()


class ScheduleModal(ModalScreen[tuple[int, bool] | None]):
    """Edit a monitor schedule: interval in seconds and enabled. Returns (interval, enabled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save", show=False)]

    def __init__(self, who: str, interval: int, enabled: bool):
        super().__init__()
        self.who = who
        self.interval = interval
        self.enabled = enabled

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Monitor schedule of {self.who}", classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-row"):
                yield Label("Wake at most every", classes="dialog-label")
                yield Input(str(self.interval), type="integer", id="schedule-interval", max_length=7)
                yield Label("seconds")
            with Horizontal(classes="dialog-row"):
                yield Label("Enabled", classes="dialog-label")
                yield _SubmittingSwitch(value=self.enabled, id="schedule-enabled")
            yield Static("", id="schedule-error", classes="dialog-error", markup=False)
            with Horizontal(classes="dialog-actions"):
                yield Button("Save", id="save", variant="primary")
                yield Button("Cancel", id="cancel")
            yield Static("Enter saves · Space toggles · Tab moves · Escape cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#schedule-interval", Input).focus()

    def problem(self, text: str) -> str | None:
        try:
            value = int(text.strip())
        except ValueError:
            return "The interval is a whole number of seconds, e.g. 300."
        if value < 1:
            return "The interval must be at least 1 second."
        if value > MAX_INTERVAL:
            return f"The interval can be at most {MAX_INTERVAL} seconds (a week)."
        return None

    @on(Input.Submitted, "#schedule-interval")
    def submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    @on(Input.Changed, "#schedule-interval")
    def changed(self) -> None:
        self._show_error("")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(None)

    def action_save(self) -> None:
        text = self.query_one("#schedule-interval", Input).value
        problem = self.problem(text)
        if problem:
            self._show_error(problem)
            self.query_one("#schedule-interval", Input).focus()
            return
        self.dismiss((int(text.strip()), self.query_one("#schedule-enabled", Switch).value))

    def _show_error(self, message: str) -> None:
        error = self.query_one("#schedule-error", Static)
        error.update(message)
        error.set_class(bool(message), "visible")

    def action_cancel(self) -> None:
        self.dismiss(None)
