"""`cafleet demo`: a live fleet to look at, with stand-in agents instead of real ones."""

from __future__ import annotations

import sys

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.cli.types import TEXT

COME_BACK = ["Back:     cafleet demo", "Stop:     cafleet demo --stop"]


@click.command("demo", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option("--no-attach", is_flag=True, help="Leave the session running and print how to attach.")
@click.option("--stop", "stop_demo", is_flag=True, help="Tear the demo down: its fleet and its tmux session.")
@click.option(
    "--tmux-socket",
    type=TEXT,
    metavar="NAME",
    help="Use this tmux server (`tmux -L NAME`); default: the current one inside tmux, else one of its own.",
)
def demo_command(no_attach: bool, stop_demo: bool, tmux_socket: str | None):
    """A demo fleet in tmux: the TUI, where you type as the Administrator, and four stand-in
    agents (the Director, planner, coder, reviewer) that receive notices, poll, ack and reply."""
    from cafleet.demo import session as demo

    if stop_demo:
        state = demo.stop()
        emit(
            {"stopped": state is not None, "fleet_id": state.fleet_id if state else None},
            lambda: (
                f"Stopped the demo: fleet {state.fleet_id} deleted, tmux session {state.session} closed."
                if state
                else "No demo is running."
            ),
        )
        return
    state, reused = demo.start(tmux_socket)
    headline = f"{'Demo already running' if reused else 'Demo started'}: fleet {state.fleet_id}, tmux session {state.session}."
    showing = demo.showing_here(state)
    leave = demo.leave(state, showing)
    demo.set_leave_hint(state, leave)
    if not no_attach and sys.stdin.isatty() and sys.stdout.isatty() and demo.attach(state, showing):
        if showing is demo.Showing.SWITCH:
            # The client has left this pane; the user reads this when they come back to it.
            lines = [headline, "This tmux client switched to it.", f"Leave:    {leave.line()}", *COME_BACK]
            click.echo("\n".join(lines))
        elif demo.session_alive(state):  # the attached client detached; the demo did not stop
            click.echo("\n".join([f"Left the demo; it keeps running (fleet {state.fleet_id}).", *COME_BACK]))
        return
    emit(
        {
            "fleet_id": state.fleet_id,
            "director_agent_id": state.director_id,
            "session": state.session,
            "tmux_socket": state.socket_path,
            "reused": reused,
            "attach": demo.attach_hint(state),
            "leave": leave.line(),
        },
        lambda: "\n".join(
            [
                headline,
                f"Attach:   {demo.attach_hint(state)}",
                f"Leave:    {leave.line()}",
                f"Look:     cafleet --fleet-id {state.fleet_id} message poll --agent-id {state.director_id} --all",
                "Stop:     cafleet demo --stop",
            ]
        ),
    )
