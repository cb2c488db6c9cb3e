"""Global options (`--fleet-id`, `--json`, `--pretty`, `--version`) and the per-call settings they set.

They are documented on the root group, before the subcommand, so one allow-pattern such as
`cafleet --fleet-id 7 *` covers a whole fleet; every command also accepts them after its
name (hidden from its help), because agents put them wherever they remember them.
"""

from __future__ import annotations

import enum

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


def _store_fleet(ctx: click.Context, param: click.Parameter, values: tuple[int, ...]):
    # Each place that accepts --fleet-id collects all its occurrences, so a second one can
    # never silently widen an allow-pattern such as `cafleet --fleet-id 7 *`.
    current = settings(ctx).fleet_id
    given = ([current] if current is not None else []) + list(values)
    if len(given) > 1:
        raise click.UsageError(
            f"--fleet-id is given {len(given)} times ({', '.join(map(str, given))}); give it once, "
            "before the command: `cafleet --fleet-id N <command> ...`",
            ctx=ctx,
        )
    if values:
        settings(ctx).fleet_id = values[0]
    return values


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from cafleet import __version__

    click.echo(f"cafleet {__version__}")
    ctx.exit(0)


def _global_params(hidden: bool) -> list[click.Option]:
    return [
        click.Option(
            ["--fleet-id", "global_fleet_id"],
            type=ID,
            metavar="N",
            expose_value=False,
            hidden=hidden,
            multiple=True,
            callback=_store_fleet,
            help="The fleet to act in (from `cafleet fleet create` or `fleet list`).",
        ),
        click.Option(
            ["--json", "global_json"],
            is_flag=True,
            default=None,
            expose_value=False,
            hidden=hidden,
            callback=_store("json"),
            help="Print one compact JSON document instead of text.",
        ),
        click.Option(
            ["--pretty", "global_pretty"],
            is_flag=True,
            default=None,
            expose_value=False,
            hidden=hidden,
            callback=_store("pretty"),
            help="Indent JSON output (implies --json).",
        ),
        click.Option(
            ["--version", "global_version"],
            is_flag=True,
            expose_value=False,
            is_eager=True,
            hidden=hidden,
            callback=_print_version,
            help="Print the cafleet version and exit.",
        ),
    ]


def root_options(f):
    """The documented global options of the root group."""
    params = getattr(f, "__click_params__", [])
    params.extend(reversed(_global_params(hidden=False)))
    f.__click_params__ = params
    return f


class FleetScope(enum.Enum):
    """How a command relates to `--fleet-id` (what an allow-pattern on it can reach)."""

    IN_FLEET = "in-fleet"  # acts inside the fleet that --fleet-id names (and needs it)
    NARROWS = "narrows"  # works without a fleet; --fleet-id narrows it to that fleet
    NAMES_FLEET = "names-fleet"  # names its fleet as an argument, which must agree with --fleet-id
    OUTSIDE = "outside"  # not about one fleet: --fleet-id is refused


class CafleetCommand(click.Command):
    """A command that also accepts the global options after its name.

    `fleet_scope` says how it treats `--fleet-id`; `director_only` marks a command that
    takes no `--agent-id` but must not come from a pane other than the Director's. An
    `--agent-id` must be the agent living in the calling pane (cafleet/cli/identity.py).
    `keeps_courier` marks a command that, once it succeeded, starts this host's courier when
    none runs and an agent has a live pane here (docs/multi-host.md lists them).
    """

    def __init__(
        self,
        *args,
        fleet_scope: FleetScope = FleetScope.IN_FLEET,
        director_only: bool = False,
        keeps_courier: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fleet_scope = fleet_scope
        self.director_only = director_only
        self.keeps_courier = keeps_courier
        self.params.extend(_global_params(hidden=True))

    def invoke(self, ctx: click.Context):
        fleet_id = settings(ctx).fleet_id
        if self.fleet_scope is FleetScope.OUTSIDE and fleet_id is not None:
            raise click.UsageError(
                f"`cafleet {_command_name(ctx)}` does not act in a fleet; run it without --fleet-id {fleet_id}",
                ctx=ctx,
            )
        if self.fleet_scope is FleetScope.NAMES_FLEET:
            named = ctx.params["fleet_id"]
            if fleet_id is not None and named != fleet_id:
                raise click.UsageError(
                    f"`cafleet {_command_name(ctx)} {named}` names fleet {named} but --fleet-id is {fleet_id}; "
                    "a command run with --fleet-id N can only reach fleet N",
                    ctx=ctx,
                )
            fleet_id = named
        from cafleet.cli.identity import confirm_acting_agent, confirm_director_pane
        from cafleet.core.hosts import this_host

        this_host()  # a bad CAFLEET_HOST_ID is refused before anything is written
        if ctx.params.get("agent_id") is not None:
            confirm_acting_agent(ctx.params["agent_id"])
        if self.director_only:
            confirm_director_pane(fleet_id if fleet_id is not None else require_fleet(ctx), _command_name(ctx))
        result = super().invoke(ctx)
        if self.keeps_courier:
            from cafleet.cli.courier_keeping import keep_courier

            keep_courier()
        return result


def _command_name(ctx: click.Context) -> str:
    return ctx.command_path.split(" ", 1)[-1]


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
            f"`cafleet {_command_name(ctx)}` needs --fleet-id N, e.g. "
            "`cafleet --fleet-id 7 ...`; `cafleet fleet list` shows the fleets, "
            "`cafleet fleet create` (inside tmux) makes one",
            ctx=ctx,
        )
    return fleet_id
