"""`/` in the fleet view: search the fleet's messages, then jump the timeline to one.

The search runs in a thread worker as the Administrator (who sees the whole fleet) and posts
`SearchDone`; typing again replaces a search still running.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from cafleet.core.domain import TaskKind
from cafleet.core.text import counted

from .render import GAP, SPACE, clock, day, fields, reply_mark, state_mark
from .worker_errors import ReportsWorkerErrors

RESULTS = 50
SNIPPET_CHARS = 150
MATCH_STYLE = "bold reverse"


class SearchDone(Message):
    """The hits for `query`, or why it could not run (`error`)."""

    def __init__(self, query: str, hits: list, error: str | None):
        super().__init__()
        self.query, self.hits, self.error = query, hits, error


class SearchScreen(ReportsWorkerErrors, ModalScreen[int | None]):
    """Type to search; Enter (or a click) on a result dismisses with its task id."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("down", "results", "Results", show=False),
    ]

    def __init__(self, fleet_id: int, administrator_id: int, query: str = ""):
        super().__init__()
        self.fleet_id = fleet_id
        self.administrator_id = administrator_id
        self.initial_query = query
        self.hits: list = []
        self.searched = ""  # the query the results shown are for
        self.enter_pending = False  # Enter came before the results for what was typed

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Input(
                value=self.initial_query,
                placeholder='words · "a phrase" · tok* — Enter opens the best match',
                id="search-input",
                select_on_focus=False,
            )
            yield Static("Type to search every message of the fleet.", id="search-status")
            yield OptionList(id="search-results")

    def on_mount(self) -> None:
        self.query_one("#search-input", Input).focus()
        if self.initial_query:
            self.search(self.initial_query)

    def extend_query(self, more: str) -> None:
        """Keys typed for this search before its field had the focus."""
        field = self.query_one("#search-input", Input)
        field.value += more
        field.cursor_position = len(field.value)

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        self.enter_pending = False
        if event.value.strip():
            self.search(event.value)
        else:
            self._show(SearchDone("", [], None))

    @work(thread=True, exit_on_error=False, exclusive=True, group="search")
    def search(self, query: str) -> None:
        from cafleet.broker.search import search_messages
        from cafleet.core.errors import CafleetError

        from .error_text import error_text

        error: str | None = None
        try:
            hits = search_messages(self.fleet_id, self.administrator_id, query, limit=RESULTS)
        except CafleetError as exc:
            hits, error = [], error_text(exc)
        if not get_current_worker().is_cancelled:  # a newer query replaced this one
            self.post_message(SearchDone(query, hits, error))

    @on(SearchDone)
    def _show(self, done: SearchDone) -> None:
        if done.query != self.query_one("#search-input", Input).value:
            return  # typed on since: a newer search is coming
        self.hits, self.searched = done.hits, done.query
        status = self.query_one("#search-status", Static)
        results = self.query_one("#search-results", OptionList)
        results.set_options(Option(result_entry(h), id=f"hit-{h.task.id}") for h in done.hits)
        if done.error:
            status.update(Text(f"✗ {done.error}", style="red"))
        elif not done.query.strip():
            status.update("Type to search every message of the fleet.")
        elif not done.hits:
            status.update(f"No messages match {done.query!r}.")
        else:
            more = " (the best)" if len(done.hits) == RESULTS else ""
            status.update(f"{counted(len(done.hits), 'message')}{more}, best match first · ↓ to choose · Enter jumps there")
        if done.hits:
            results.highlighted = 0
        if self.enter_pending and done.query.strip():
            self.enter_pending = False
            if done.hits:
                self.dismiss(done.hits[0].task.id)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.searched != event.value:
            self.enter_pending = True
        elif self.hits:
            self.dismiss(self.hits[0].task.id)

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(int((event.option.id or "").removeprefix("hit-")))

    def action_results(self) -> None:
        results = self.query_one("#search-results", OptionList)
        if results.option_count:
            self.set_focus(results)


def result_entry(hit) -> Text:
    """`2026-11-20 09:00:03  alice → bob  #2  ↪ re #1  ●`, then the text around the match, matches marked."""
    from cafleet.broker.search.snippets import snippet

    task = hit.task
    broadcast = task.kind == TaskKind.BROADCAST_SUMMARY
    route = fields(
        (task.from_name, "bold"),
        ("→", ""),
        (f"all ({task.delivery_totals.total})" if broadcast else task.to_name or "?", "bold"),
        sep=SPACE,
    )
    header = fields(
        (f"{day(task.created_at)} {clock(task.created_at)}", "dim"),
        route,
        (f"#{task.id}", "dim"),
        reply_mark(task),
        None if broadcast else state_mark(task),
    )
    shot = snippet(task.text, hit.matches, SNIPPET_CHARS)
    # One character for one, so the match offsets still hold.
    body = Text(shot.text.replace("\n", "⏎").replace("\t", " "))
    for start, end in shot.matches:
        body.stylize(MATCH_STYLE, start, end)
        if shot.text[end : end + 1] == " ":
            body.stylize(GAP, end, end + 1)  # a run that opens with a space loses it in SVG viewers
    return Text.assemble(header, "\n", body)
