"""`cafleet web`: the TUI in a browser, on 127.0.0.1, behind a token printed at start."""

from __future__ import annotations

import click

from cafleet.cli.settings import CafleetCommand, FleetScope, settings
from cafleet.core.errors import Refused

MISSING_EXTRA = "cafleet web needs the web extra: pip install 'cafleet[web]'"


@click.command("web", cls=CafleetCommand, fleet_scope=FleetScope.NARROWS)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    metavar="N",
    help="The port on 127.0.0.1 to serve on (0: any free port).",
)
def web_command(port: int):
    """Serve the TUI to a browser (the same screens, the same Administrator composer).

    Binds 127.0.0.1 only and prints a URL holding a random token: only that URL opens the
    page. From another machine, tunnel the port: `ssh -L 8000:127.0.0.1:8000 HOST`, then open
    the printed URL there. With --fleet-id N the page opens that fleet. Ctrl+C stops it.
    """
    import os
    import shlex
    import sys

    try:
        from cafleet.web.server import GuardedServer, listening_socket, new_token
    except ImportError:
        raise Refused(MISSING_EXTRA) from None
    from cafleet.cli.identity import pane_agents
    from cafleet.core.config import database_setting
    from cafleet.store.db import open_database

    fleet_id = settings().fleet_id
    open_database()
    _refuse_agent_pane(pane_agents())
    if fleet_id is not None:
        from cafleet.broker.guards import live_fleet

        live_fleet(fleet_id)
    try:
        sock = listening_socket(port)
    except OSError as exc:
        raise Refused(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another port with --port N (0 picks a free one)"
        ) from None
    # Every browser session runs its own TUI process, on this same database, outside tmux
    # (it is no pane's TUI: notices must still reach the pane this server runs in).
    os.environ["CAFLEET_DATABASE_URL"] = database_setting()
    for name in ("TMUX", "TMUX_PANE"):
        os.environ.pop(name, None)
    command = shlex.join([sys.executable, "-m", "cafleet.web.session"] + ([str(fleet_id)] if fleet_id else []))
    server: GuardedServer = GuardedServer(command, new_token(), sock, on_ready=lambda: _banner(server))
    server.serve()
    click.echo("Stopped.")


def _banner(server) -> None:
    import sys

    click.echo(f"Serving the cafleet TUI at {server.url}")
    click.echo("Only this URL opens it (it holds a random token); listening on 127.0.0.1 only.")
    click.echo(f"From another machine: ssh -L {server.port}:127.0.0.1:{server.port} THIS-HOST, then open the URL there.")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()


def _refuse_agent_pane(found) -> None:
    pane, here = found
    if here and not any(agent.is_director for agent in here):
        raise Refused(
            f"`cafleet web` serves the whole fleet as the Administrator; run it from your own shell or "
            f"the Director's pane, not from {pane.describe()} ({', '.join(a.handle for a in here)})"
        )
