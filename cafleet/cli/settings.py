"""Global options (`--fleet-id`, `--json`, `--pretty`, `--version`) and the per-call settings they set.

They are documented on the root group, before the subcommand, so one allow-pattern such as
`cafleet --fleet-id 7 *` covers a whole fleet; every command also accepts them after its
name (hidden from its help), because agents put them wherever they remember them.
"""

from __future__ import annotations

import click

from cafleet.cli.types import ID


class Settings:
    """What the global options asked for on this call."""

    __slots__ = ("fleet_id", "json", "pretty")

    def __init__(self):
        self.fleet_id: int | None = None
        self.json = False
        self.pretty = False


def settings(ctx: click.Context | None = None) -> Settings:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        root.obj = Settings()
    return root.obj


def _store(field: str):
    def callback(ctx: click.Context, _param: click.Parameter, value):
        if value is not None and value is not False:
            setattr(settings(ctx), field, value)
        return value

    return callback


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cafleet import __version__

    click.echo(f"cafleet {__version__}")
    ctx.exit(0)


def _global_params(hidden: bool) -> list[click.Option]:
    return [
        click.Option(
            ["--fleet-id", "global_fleet_id"], type=ID, metavar="N", expose_value=False, hidden=hidden,
            callback=_store("fleet_id"), help="The fleet to act in (from `cafleet fleet create` or `fleet list`).",
        ),
        click.Option(
            ["--json", "global_json"], is_flag=True, default=None, expose_value=False, hidden=hidden,
            callback=_store("json"), help="Print one compact JSON document instead of text.",
        ),
        click.Option(
            ["--pretty", "global_pretty"], is_flag=True, default=None, expose_value=False, hidden=hidden,
            callback=_store("pretty"), help="Indent JSON output (implies --json).",
        ),
        click.Option(
            ["--version", "global_version"], is_flag=True, expose_value=False, is_eager=True, hidden=hidden,
            callback=_print_version, help="Print the cafleet version and exit.",
        ),
    ]


def root_options(f):
    """The documented global options of the root group."""
    params = getattr(f, "__click_params__", [])
    params.extend(reversed(_global_params(hidden=False)))
    f.__click_params__ = params
    return f


class CafleetCommand(click.Command):
    """A command that also accepts the global options after its name."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.extend(_global_params(hidden=True))


class CafleetSubgroup(click.Group):
    """A command group that also accepts the global options between its name and the command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.params.extend(_global_params(hidden=True))


def require_fleet(ctx: click.Context | None = None) -> int:
    """The `--fleet-id` of this call, or a usage error that says how to get one."""
    fleet_id = settings(ctx).fleet_id
    if fleet_id is None:
        ctx = ctx or click.get_current_context()
        raise click.UsageError(
            f"`cafleet {ctx.command_path.split(' ', 1)[-1]}` needs --fleet-id N, e.g. "
            "`cafleet --fleet-id 7 ...`; `cafleet fleet list` shows the fleets, "
            "`cafleet fleet create` (inside tmux) makes one",
            ctx=ctx,
        )
    return fleet_id
