"""The `cafleet` command. Imports click only; each command imports what it needs when it runs."""

from __future__ import annotations

import os
import sys

import click

from cafleet.cli.agent_commands import agent_group
from cafleet.cli.db_commands import db_group
from cafleet.cli.doctor_command import doctor_command
from cafleet.cli.fleet_commands import fleet_group
from cafleet.cli.message_commands import message_group
from cafleet.cli.settings import root_options, settings
from cafleet.config import max_text_len
from cafleet.errors import CafleetError


class CafleetGroup(click.Group):
    """Turns broker errors into `Error: …` with their exit code, and never shows a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CafleetError as exc:
            click.echo(f"Error: {exc.message}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("CAFLEET_DEBUG"):
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {exc}; this is a cafleet bug, please report it "
                "(set CAFLEET_DEBUG=1 to see the traceback)",
                err=True,
            )
            ctx.exit(1)


@click.group(cls=CafleetGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@root_options
@click.pass_context
def cli(ctx: click.Context):
    """cafleet: a message broker and agent registry for coding agents in tmux.

    Global options go before the command (so `cafleet --fleet-id 7 *` covers a whole
    fleet) and are also accepted after it. `--agent-id` is the acting agent's id and is
    given to each command.
    """
    settings(ctx)
    max_text_len()  # a malformed CAFLEET_MAX_TEXT_LEN is reported up front, not on the first long message
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


cli.add_command(db_group)
cli.add_command(fleet_group)
cli.add_command(agent_group)
cli.add_command(message_group)
cli.add_command(doctor_command)


def main() -> None:
    cli(prog_name="cafleet")


if __name__ == "__main__":
    sys.exit(main())
