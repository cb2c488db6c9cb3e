"""The `cafleet` command. Imports click only; each command imports what it needs when it runs."""

from __future__ import annotations

import importlib
import os
import sys

import click

from cafleet.cli.settings import root_options, settings
from cafleet.core.config import max_text_len
from cafleet.core.errors import CafleetError
from cafleet.core.terminal import block, one_line

# Command name -> "module:attribute". Only the module of the command being run is imported.
COMMANDS = {
    "agent": "cafleet.cli.agent_commands:agent_group",
    "backend": "cafleet.cli.backend_commands:backend_group",
    "db": "cafleet.cli.db_commands:db_group",
    "demo": "cafleet.cli.demo_command:demo_command",
    "doctor": "cafleet.cli.doctor_command:doctor_command",
    "fleet": "cafleet.cli.fleet_commands:fleet_group",
    "member": "cafleet.cli.member_commands:member_group",
    "message": "cafleet.cli.message_commands:message_group",
    "monitor": "cafleet.cli.monitor_commands:monitor_group",
    "notify": "cafleet.cli.notify_commands:notify_group",
    "setup": "cafleet.cli.setup_command:setup_command",
    "ui": "cafleet.cli.ui_command:ui_command",
    "web": "cafleet.cli.web_command:web_command",
    "whoami": "cafleet.cli.whoami_command:whoami_command",
}


class CafleetGroup(click.Group):
    """Loads subcommands lazily, turns broker errors into `Error: …` with their exit code,
    never shows a traceback, and never echoes a control character of the user's input."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attribute = target.split(":")
        return getattr(importlib.import_module(module), attribute)

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.ClickException as exc:
            raise _terminal_safe(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CafleetError as exc:
            from cafleet.cli.error_text import error_text

            click.echo(f"Error: {block(error_text(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:
            raise _terminal_safe(exc) from None
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            from cafleet.store.db_faults import fault_of

            fault = fault_of(exc)  # the database failed (full, read-only, damaged…), not cafleet
            if fault is not None:
                click.echo(f"Error: {block(fault.message)}", err=True)
                ctx.exit(fault.exit_code)
            if os.environ.get("CAFLEET_DEBUG"):
                raise
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {one_line(str(exc))}; this is a cafleet bug, please report it "
                "(set CAFLEET_DEBUG=1 to see the traceback)",
                err=True,
            )
            ctx.exit(1)


def _terminal_safe(exc: click.ClickException) -> click.ClickException:
    """Click quotes some values (`No such option: --x`) as they were typed."""
    exc.message = block(exc.message)  # type: ignore[misc]  # click declares it Final, then sets it in __init__
    return exc


@click.group(cls=CafleetGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@root_options
@click.pass_context
def cli(ctx: click.Context):
    """cafleet: a message broker and agent registry for coding agents in tmux.

    Global options go before the command (so `cafleet --fleet-id 7 *` covers a whole
    fleet) and are also accepted after it. Commands that act as an agent take that agent's
    id as `--agent-id`, after the command name.
    """
    settings(ctx)
    max_text_len()  # a malformed CAFLEET_MAX_TEXT_LEN is reported up front, not on the first long message
    if ctx.invoked_subcommand is None:
        if sys.stdin.isatty() and sys.stdout.isatty():
            from cafleet.cli.ui_command import run_ui

            run_ui(settings(ctx).fleet_id)
        else:
            click.echo(ctx.get_help())


def main() -> None:
    cli(prog_name="cafleet")


if __name__ == "__main__":
    main()
