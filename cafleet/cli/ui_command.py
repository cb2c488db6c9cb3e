"""`cafleet ui`: the full-screen TUI (also what bare `cafleet` opens on a terminal)."""

from __future__ import annotations

import click

from cafleet.cli.settings import CafleetCommand, FleetScope, settings
from cafleet.store.db import open_database


@click.command("ui", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
def ui_command():
    """Open the TUI: fleet picker, live timeline, roster, agents and member panes.

    With --fleet-id N (before or after `ui`) it opens that fleet directly.
    """
    run_ui(settings().fleet_id)


def run_ui(fleet_id: int | None) -> None:
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        # Without a terminal the app would spin forever (an agent's shell tool has none).
        raise click.UsageError(
            "`cafleet ui` needs a terminal on stdin and stdout; run it in a tmux pane or terminal, "
            "or use `cafleet message poll` and `cafleet fleet show` from scripts"
        )
    open_database()
    if fleet_id is not None:
        from cafleet.broker.guards import live_fleet

        live_fleet(fleet_id)
    from cafleet.screens.app import build_app, mark_pane

    mark_pane(True)
    try:
        build_app(fleet_id).run()
    finally:
        mark_pane(False)
