"""The composer: `@name text` or `@all text`, sent as the Administrator, with name completion."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input, Static

from cafleet.core.errors import InvalidInput
from cafleet.core.mentions import Composed, complete, parse

from .error_text import error_text


class MentionSuggester(Suggester):
    """Completes a trailing `@partial` to the one agent name it can mean."""

    def __init__(self, names):
        super().__init__(use_cache=False, case_sensitive=True)
        self._names = names

    async def get_suggestion(self, value: str) -> str | None:
        return complete(value, self._names())


class Composer(Vertical):
    """An Input plus a one-line error; posts `Composer.Send` with a parsed message."""

    class Send(Message):
        def __init__(self, composed: Composed, reply_to: int | None):
            super().__init__()
            self.composed = composed
            self.reply_to = reply_to

    class SearchWanted(Message):
        """`/` typed into the empty composer: a message never starts with it, so it searches
        for what follows it (`/review` typed fast, or pasted, arrives whole)."""

        def __init__(self, query: str):
            super().__init__()
            self.query = query

    BINDINGS = [Binding("escape", "cancel_reply", "Cancel reply", show=False)]

    def __init__(self, names, **kwargs):
        super().__init__(**kwargs)
        self._names = names
        self.reply_to: int | None = None
        self._reply_name = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="composer-reply")
        yield Static("", id="composer-error")
        yield Input(
            placeholder="@name message · @all message · → completes names",
            suggester=MentionSuggester(self._names),
            id="composer-input",
            select_on_focus=False,
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        # The field as it is now, not `event.value`: keys of one burst are all in it before
        # the first change is handled, and "/" alone would throw away the rest.
        value = event.input.value
        if value.startswith("/"):
            event.input.value = ""
            self.post_message(self.SearchWanted(value[1:]))
        elif not value.strip():
            self.clear_error()  # it was about a text that is gone

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            composed = parse(event.value, self._names())
        except InvalidInput as exc:
            self.show_error(error_text(exc))
            return
        self.clear_error()
        # A reply goes with the message only while it is addressed to whom it answers.
        reply_to = self.reply_to if composed.to and composed.to.casefold() == self._reply_name.casefold() else None
        self.post_message(self.Send(composed, reply_to))

    def show_error(self, message: str) -> None:
        error = self.query_one("#composer-error", Static)
        error.update(f"✗ {message}")
        error.add_class("visible")

    def clear_error(self) -> None:
        error = self.query_one("#composer-error", Static)
        error.update("")
        error.remove_class("visible")

    def sent(self) -> None:
        self.action_cancel_reply()
        self.query_one(Input).value = ""

    def start_reply(self, name: str, task_id: int) -> None:
        self.reply_to, self._reply_name = task_id, name
        marker = self.query_one("#composer-reply", Static)
        marker.update(f"↪ replying to #{task_id} from {name}  ·  Esc cancels")
        marker.add_class("visible")
        field = self.query_one(Input)
        field.value = f"@{name} "
        field.cursor_position = len(field.value)
        self.screen.set_focus(field)
        # The screen under a closing dialog restores its old focus when it resumes; win that.
        self.call_after_refresh(self.screen.set_focus, field)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Escape cancels a reply; with none pending it is the screen's (back to the fleets).
        return self.reply_to is not None if action == "cancel_reply" else True

    def action_cancel_reply(self) -> None:
        self.reply_to, self._reply_name = None, ""
        marker = self.query_one("#composer-reply", Static)
        marker.update("")
        marker.remove_class("visible")
