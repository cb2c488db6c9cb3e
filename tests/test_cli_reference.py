"""docs/cli-reference.md is generated from the click tree; it must match the tree as it is now."""

from __future__ import annotations

import difflib
import importlib.util
import re
import subprocess
import sys

import click

from tests.support import REPO

GENERATOR = REPO / "docs" / "gen_cli_reference.py"
REFERENCE = REPO / "docs" / "cli-reference.md"
RUN_IT = "run `python docs/gen_cli_reference.py` and commit docs/cli-reference.md"


def load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def every_command_path() -> list[str]:
    """`cafleet NAME` for every entry of COMMANDS and `cafleet NAME SUB` for every subcommand."""
    from cafleet.cli import COMMANDS, cli

    root = click.Context(cli, info_name="cafleet")
    paths = []
    for name in COMMANDS:
        command = cli.get_command(root, name)
        assert command is not None, f"COMMANDS[{name!r}] = {COMMANDS[name]!r} does not load"
        paths.append(f"cafleet {name}")
        if isinstance(command, click.Group):
            paths.extend(f"cafleet {name} {sub}" for sub in command.commands)
    return paths


def test_reference_matches_the_command_tree():
    wanted = load_generator().render()
    current = REFERENCE.read_text(encoding="utf-8") if REFERENCE.exists() else ""
    if current != wanted:
        diff = difflib.unified_diff(
            current.splitlines(), wanted.splitlines(), "docs/cli-reference.md", "generated", lineterm="", n=1
        )
        shown = "\n".join(list(diff)[:40])
        raise AssertionError(f"docs/cli-reference.md is out of date with the CLI; {RUN_IT}\n{shown}")


def test_every_command_and_subcommand_has_a_section():
    text = REFERENCE.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#{2,6} `(cafleet[^`]*)`$", text, re.M))
    missing = [path for path in every_command_path() if path not in headings]
    assert not missing, f"docs/cli-reference.md has no section for {', '.join(missing)}; {RUN_IT}"
    assert len(every_command_path()) >= 30  # the tree was really walked


def test_every_visible_option_is_documented_and_hidden_ones_are_not():
    generator = load_generator()
    text = generator.render()
    for ctx in generator.walk(generator.root_context()):
        section = text.split(f"`{ctx.command_path}`\n\n    {ctx.command_path}", 1)[1].split("\n#", 1)[0]
        for param in ctx.command.get_params(ctx):
            if not isinstance(param, click.Option) or generator.is_help_option(ctx, param):
                continue
            documented = f"| `{param.opts[0]}" in section
            assert documented != param.hidden, f"{ctx.command_path} {param.opts[0]}: hidden={param.hidden}"


def test_check_reports_a_stale_file(tmp_path, capsys):
    generator = load_generator()
    stale = tmp_path / "cli-reference.md"
    stale.write_text("# stale\n", encoding="utf-8")
    assert generator.main(["--check"], path=stale) == 1
    assert "python docs/gen_cli_reference.py" in capsys.readouterr().err
    assert generator.main([], path=stale) == 0
    assert generator.main(["--check"], path=stale) == 0
    assert stale.read_text(encoding="utf-8") == generator.render()


def test_check_passes_from_the_command_line():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0, result.stderr
