"""`cafleet backend …`: coding agents described by backend files."""

from __future__ import annotations

from pathlib import Path

import click

from cafleet.cli.output import emit
from cafleet.cli.params import TEXT
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, FleetScope
from cafleet.cli.types import Seconds


@click.group("backend", cls=CafleetSubgroup)
def backend_group():
    """Coding agents described by backend files (docs/backend-files.md)."""


@backend_group.command("check", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--prompt", type=TEXT, default="Reply with the one word: hello", show_default=True, help="The first prompt it starts with."
)
@click.option(
    "--line",
    type=TEXT,
    default="Reply with the one word: again",
    show_default=True,
    help="The line typed once it is ready (it should make it busy, then ready again).",
)
@click.option(
    "--timeout", type=Seconds(1, 600), default=60, show_default=True, metavar="SECONDS", help="How long to wait for each screen."
)
def check_command(file: Path, prompt: str, line: str, timeout: float):
    """Start the agent FILE describes in a tmux server of its own and read its real screen with
    the file's patterns: is the running program the agent, is it seen ready, busy after a typed
    line, ready again, and does its exit key close it. Exit 1 when something is missing."""
    from cafleet.panes.backend_check import check_backend_file

    report = check_backend_file(file, prompt, line, timeout)

    def lines() -> str:
        marks = {True: "ok  ", False: "FAIL", None: "--  "}
        out = [f"backend file {file}: {report.backend.name}", f"  agent: {report.executable} ({report.version})"]
        out += [f"  {marks[f.ok]} {f.what}: {f.detail}" for f in report.findings]
        if not report.passed:
            out += ["  its screen as last seen:", *(f"    | {row}" for row in report.screen[-20:])]
        out.append("Everything needed was seen." if report.passed else "Something is missing: fix the file and check again.")
        return "\n".join(out)

    emit(
        {
            "file": str(file),
            "name": report.backend.name,
            "executable": report.executable,
            "version": report.version,
            "passed": report.passed,
            "findings": [f._asdict() for f in report.findings],
            "screen": report.screen,
        },
        lines,
    )
    if not report.passed:
        click.get_current_context().exit(1)
