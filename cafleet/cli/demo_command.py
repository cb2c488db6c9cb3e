"""`cafleet demo`: a live fleet to look at, with stand-in agents instead of real ones."""

from __future__ import annotations

import sys

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.cli.types import TEXT


@click.command("demo", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option("--no-attach", is_flag=True, help="Leave the session running and print how to attach.")
@click.option("--stop", "stop_demo", is_flag=True, help="Tear the demo down: its fleet and its tmux session.")
@click.option(
    "--tmux-socket", type=TEXT, metavar="NAME", help="Use a separate tmux server (`tmux -L NAME`) instead of the default one."
)
def demo_command(no_attach: bool, stop_demo: bool, tmux_socket: str | None):
    """A demo fleet in tmux: the TUI in the Director's pane and three stand-in members
    (planner, coder, reviewer) that receive notices, poll, ack and reply."""
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
    if not no_attach and sys.stdin.isatty() and sys.stdout.isatty() and demo.attach(state):
        return
    emit(
        {
            "fleet_id": state.fleet_id,
            "director_agent_id": state.director_id,
            "session": state.session,
            "tmux_socket": state.socket_path,
            "reused": reused,
            "attach": demo.attach_hint(state),
        },
        lambda: "\n".join(
            [
                f"{'Demo already running' if reused else 'Demo started'}: fleet {state.fleet_id}, tmux session {state.session}.",
                f"Attach:   {demo.attach_hint(state)}",
                f"Look:     cafleet --fleet-id {state.fleet_id} message poll --agent-id {state.director_id} --all",
                "Stop:     cafleet demo --stop",
            ]
        ),
    )
