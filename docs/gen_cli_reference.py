"""Generate docs/cli-reference.md from the click command tree, so the reference cannot drift.

    python docs/gen_cli_reference.py            # rewrite docs/cli-reference.md
    python docs/gen_cli_reference.py --check    # exit 1 if the file is out of date

The output depends only on the command tree: no dates, no terminal width (everything is
formatted here, not by click's help formatter), commands in the order `cafleet --help`
lists them. Hidden options (the global options every command also accepts after its name)
are left out; the root's global options are documented once, at the top.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFERENCE = REPO / "docs" / "cli-reference.md"
GENERATOR = "python docs/gen_cli_reference.py"

if str(REPO) not in sys.path:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

import click  # noqa: E402

# -- walking the tree ------------------------------------------------------------------------


def root_context() -> click.Context:
    from cafleet.cli import cli

    # The root's context_settings (e.g. `-h` as a help option) as `cafleet` itself applies them;
    # a fixed width in case anything asks click to format.
    return click.Context(cli, info_name="cafleet", max_content_width=100, terminal_width=100, **cli.context_settings)


def child_context(parent: click.Context, name: str) -> click.Context:
    command = parent.command.get_command(parent, name)
    if command is None:
        raise SystemExit(f"error: `{parent.command_path} {name}` is listed but cannot be loaded")
    return click.Context(command, info_name=name, parent=parent)


def walk(ctx: click.Context):
    """Every command below `ctx`, depth first, in the order `--help` lists them."""
    if isinstance(ctx.command, click.Group):
        for name in ctx.command.list_commands(ctx):
            child = child_context(ctx, name)
            yield child
            yield from walk(child)


# -- rendering pieces ------------------------------------------------------------------------


def help_text(command: click.Command) -> str:
    """The command's whole help, dedented, cut at click's `\\f` marker, `\\b` markers dropped."""
    text = inspect.cleandoc(command.help or "")
    text = text.split("\f", 1)[0].rstrip()
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b")


def short_help(command: click.Command) -> str:
    return command.get_short_help_str(limit=1000)


def usage(ctx: click.Context) -> str:
    return " ".join([ctx.command_path, *ctx.command.collect_usage_pieces(ctx)])


def _number(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def type_text(param: click.Parameter) -> str:
    """A short, width-independent description of what the parameter takes."""
    takes = _takes(param)
    if param.nargs > 1:
        takes = f"{param.nargs} × {takes}"
    if param.multiple or param.nargs == -1:
        takes += ", repeatable"
    return takes


def _takes(param: click.Parameter) -> str:
    if isinstance(param, click.Option) and param.is_flag:
        if param.secondary_opts:
            return "flag pair"
        return "flag"
    kind = param.type
    if isinstance(kind, click.Choice):
        return "one of " + ", ".join(f"`{choice}`" for choice in kind.choices)
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        name = "integer" if isinstance(kind, click.IntRange) else "number"
        low, high = kind.min, kind.max
        if low is not None and high is not None and not kind.min_open and not kind.max_open:
            return f"{name} {_number(low)}–{_number(high)}"
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if kind.min_open else '≥'} {_number(low)}")
        if high is not None:
            bounds.append(f"{'<' if kind.max_open else '≤'} {_number(high)}")
        return f"{name} {', '.join(bounds)}" if bounds else name
    names = {click.INT: "integer", click.FLOAT: "number", click.STRING: "text", click.BOOL: "boolean"}
    return names.get(kind, kind.name)


def default_text(param: click.Parameter) -> str:
    """The default actually used (whether or not `--help` shows it)."""
    # The public description: click's internal "unset" sentinel becomes None (False for a flag).
    default = param.to_info_dict()["default"]
    if isinstance(param, click.Option) and param.is_flag:
        if param.secondary_opts:
            if default is None:
                return "neither"
            return f"`{(param.opts if default else param.secondary_opts)[0]}`"
        return "on" if default else "off"
    if default is None or callable(default):
        return "—"
    if default == "":
        return "empty"
    return f"`{_number(default)}`"


def option_label(ctx: click.Context, option: click.Option) -> str:
    names = " / ".join([", ".join(option.opts), *([", ".join(option.secondary_opts)] if option.secondary_opts else [])])
    if option.is_flag or option.count:
        return names
    return f"{names} {option.make_metavar(ctx)}"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def options_table(ctx: click.Context, options: list[click.Option]) -> list[str]:
    lines = [
        "| Option | Takes | Required | Default | Description |",
        "|---|---|---|---|---|",
    ]
    for option in options:
        lines.append(
            "| "
            + " | ".join(
                cell(part)
                for part in (
                    f"`{option_label(ctx, option)}`",
                    type_text(option),
                    "yes" if option.required else "no",
                    default_text(option),
                    option.help or "",
                )
            )
            + " |"
        )
    return lines


def arguments_list(ctx: click.Context, arguments: list[click.Argument]) -> list[str]:
    lines = []
    for argument in arguments:
        required = "required" if argument.required else "optional"
        lines.append(f"- `{argument.make_metavar(ctx)}`: {type_text(argument)}, {required}")
    return lines


def anchor(title: str) -> str:
    """The heading id GitHub gives a heading `title` (backticks dropped, spaces to hyphens)."""
    slug = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return slug.replace(" ", "-")


def is_help_option(ctx: click.Context, param: click.Parameter) -> bool:
    return isinstance(param, click.Option) and set(param.opts) <= set(ctx.help_option_names)


def visible_params(ctx: click.Context) -> tuple[list[click.Option], list[click.Argument]]:
    params = [p for p in ctx.command.get_params(ctx) if not getattr(p, "hidden", False) and not is_help_option(ctx, p)]
    return [p for p in params if isinstance(p, click.Option)], [p for p in params if isinstance(p, click.Argument)]


# -- the document ----------------------------------------------------------------------------


def render() -> str:
    """The whole of docs/cli-reference.md."""
    root = root_context()
    contexts = list(walk(root))
    out: list[str] = [
        "# cafleet CLI reference",
        "",
        f"<!-- Generated by `{GENERATOR}` from the click command tree. Do not edit by hand: "
        f"change the command's help text and run `{GENERATOR}`. -->",
        "",
        "Every group and command of `cafleet`, in the order `cafleet --help` lists them. "
        "[cli.md](cli.md) explains output formats, limits, errors, inline previews and the monitor.",
        "",
        "## `cafleet`",
        "",
        "    " + usage(root),
        "",
        help_text(root.command),
        "",
        "Global options (documented once here; every command also accepts them after its name):",
        "",
    ]
    global_options, _ = visible_params(root)
    out += options_table(root, global_options)
    helps = ", ".join(f"`{name}`" for name in root.help_option_names)
    out += ["", f"{helps} on any group or command prints its help and exits.", "", "## Commands", ""]
    for ctx in contexts:
        depth = ctx.command_path.count(" ") - 1
        title = f"`{ctx.command_path}`"
        out.append(f"{'  ' * depth}- [{title}](#{anchor(title)}): {short_help(ctx.command)}")
    for ctx in contexts:
        depth = ctx.command_path.count(" ")
        out += ["", f"{'#' * min(depth + 1, 6)} `{ctx.command_path}`", "", "    " + usage(ctx), ""]
        text = help_text(ctx.command)
        if text:
            out += [text, ""]
        options, arguments = visible_params(ctx)
        if isinstance(ctx.command, click.Group):
            names = ", ".join(f"`{name}`" for name in ctx.command.list_commands(ctx))
            out += [f"Commands: {names}.", ""]
        if arguments:
            out += ["Arguments:", "", *arguments_list(ctx, arguments), ""]
        if options:
            out += options_table(ctx, options) + [""]
        elif not isinstance(ctx.command, click.Group):
            out += ["No options of its own.", ""]
    text = "\n".join(out)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip("\n") + "\n"


def main(argv: list[str] | None = None, path: Path = REFERENCE) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/cli-reference.md from the click command tree.")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date instead of writing it")
    args = parser.parse_args(argv)
    wanted = render()
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if args.check:
        if current == wanted:
            print(f"{path.name} is up to date.")
            return 0
        state = "is missing" if current is None else "is out of date with the click command tree"
        print(f"error: {path} {state}; run `{GENERATOR}` and commit the result.", file=sys.stderr)
        return 1
    if current != wanted:
        path.write_text(wanted, encoding="utf-8", newline="\n")
        print(f"Wrote {path}.")
    else:
        print(f"{path.name} is already up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
