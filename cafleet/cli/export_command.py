"""`cafleet fleet export N`: every message of a fleet as JSON Lines or a Markdown transcript."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

from cafleet.cli.params import ID
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.core.errors import InvalidInput, Refused
from cafleet.store.db import open_database


@click.command("export", cls=CafleetCommand, fleet_scope=FleetScope.NAMES_FLEET, director_only=True)
@click.argument("fleet_id", type=ID, metavar="N")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "markdown"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one JSON object per message (the keys of `message show --json --full`); markdown: a transcript grouped by day.",
)
@click.option("--output", metavar="FILE", help="Write to FILE instead of standard output (refused if it exists).")
@click.option("--force", is_flag=True, help="With --output: replace FILE if it exists.")
def export_command(fleet_id: int, fmt: str, output: str | None, force: bool):
    """Write every message of fleet N (deleted fleets too), oldest first, with threads and acks.

    A broadcast is one message whose `deliveries` hold each recipient's state and ack time.
    """
    from cafleet.broker.export import fleet_messages

    if force and output is None:
        raise click.UsageError("--force only applies to --output FILE; drop it or give --output")
    target = _target(output, force) if output is not None else None
    open_database()
    fleet, tasks = fleet_messages(fleet_id)
    chunks = _jsonl(tasks) if fmt == "jsonl" else _markdown(fleet, tasks)
    if target is None:
        out = sys.stdout
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    _write_file(target, chunks, force)
    from cafleet.core.terminal import one_line

    click.echo(f"Exported fleet {fleet_id} to {one_line(str(target))}.", err=True)


def _jsonl(tasks):
    from cafleet.cli.output import task_json

    for task in tasks:
        yield json.dumps(task_json(task, full=True), ensure_ascii=False, separators=(",", ":")) + "\n"


def _markdown(fleet, tasks):
    from cafleet.cli.transcript import transcript
    from cafleet.core.timestamps import utc_now

    return transcript(fleet, tasks, utc_now())


def _target(output: str, force: bool) -> Path:
    """Check the output path before anything is read or written."""
    path = Path(output).expanduser()
    if path.is_dir():
        raise InvalidInput(f"--output {output!r} is a directory; give a file name inside it")
    if path.exists() and not force:
        raise Refused(f"--output {output!r} already exists; choose another name or pass --force to replace it")
    if not path.parent.is_dir():
        raise InvalidInput(f"--output {output!r}: directory {str(path.parent)!r} does not exist; create it first")
    return path


def _write_file(path: Path, chunks, force: bool) -> None:
    """Write to a temporary file beside `path`, then move it into place: a failed export
    leaves nothing behind, and an existing file is replaced only by a complete one."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise Refused(f"cannot write to {str(path.parent)!r}: {exc.strerror}; choose a writable directory") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
        if force:
            os.replace(temporary, path)
        else:
            # link() fails if the name was taken meanwhile, where rename() would replace it.
            os.link(temporary, path)
            os.unlink(temporary)
    except FileExistsError:
        os.unlink(temporary)
        raise Refused(f"--output {str(path)!r} was created meanwhile; choose another name or pass --force") from None
    except OSError as exc:
        os.unlink(temporary)
        raise Refused(f"cannot write --output {str(path)!r}: {exc.strerror}; choose another file") from None
    except BaseException:
        os.unlink(temporary)
        raise
