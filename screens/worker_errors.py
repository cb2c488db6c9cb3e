"""One place where a failed background task ends up: a notification, and the app stays up.

Every thread worker is started with `exit_on_error=False`; Textual then reports its failure
as `Worker.StateChanged` to the worker's own screen (the message does not bubble), so every
screen mixes this in.
"""

from __future__ import annotations

from textual.app import App
from textual.worker import Worker, WorkerState

from cafleet.core.errors import CafleetError
from cafleet.store.db_faults import fault_of

from .error_text import error_text


def describe(error: BaseException | None) -> str:
    """What the user reads: a broker refusal or a database fault (full, read-only, damaged…)
    as it is, anything else with its type."""
    if isinstance(error, CafleetError):
        return error_text(error)
    fault = fault_of(error) if error is not None else None
    if fault is not None:
        return fault.message
    return f"{type(error).__name__}: {error}"


class ReportsWorkerErrors:
    """Mixin for screens (and the app): a failed worker becomes an error notification."""

    app: App  # provided by the Screen or App it is mixed into

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            self.app.notify(describe(event.worker.error), title="cafleet", severity="error", timeout=8)
