"""Option bundles shared by several commands, and reading a message body from --text/--text-file."""

from __future__ import annotations

import sys

import click

from cafleet.cli.types import ID, TEXT, shown
from cafleet.errors import InvalidInput


def agent_id_option(help: str = "Your agent id (the acting agent).", **kwargs):
    return click.option("--agent-id", type=ID, required=True, metavar="ID", help=help, **kwargs)


def full_option(f):
    return click.option("--full", is_flag=True, help="Do not cut message text to CAFLEET_MAX_TEXT_LEN.")(f)


def quiet_option(f):
    return click.option("--quiet", is_flag=True, help="Print only the new id.")(f)


def text_options(f):
    f = click.option(
        "--text-file", type=str, metavar="FILE",
        help="Read the message text from FILE ('-' for standard input), UTF-8.",
    )(f)
    return click.option("--text", type=TEXT, metavar="TEXT", help="The message text.")(f)


def read_body(text: str | None, text_file: str | None) -> tuple[str, str]:
    """The message text and a description of where it came from (for error messages)."""
    if (text is None) == (text_file is None):
        raise click.UsageError("give exactly one of --text TEXT or --text-file FILE (use '-' for stdin)")
    if text is not None:
        return text, "--text"
    assert text_file is not None  # exactly one of the two, checked above
    return read_text_file(text_file, "--text-file")


def read_text_file(path: str, option: str) -> tuple[str, str]:
    from cafleet.config import MAX_MESSAGE_BYTES
    from cafleet.text import decode_body

    source = f"{option} (stdin)" if path == "-" else f"{option} {shown(path, limit=None)}"
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                data = handle.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}; check the path") from None
    return decode_body(data, source), source
