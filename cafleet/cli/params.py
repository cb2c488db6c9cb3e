"""Option bundles shared by several commands, and reading a message body from --text/--text-file."""

from __future__ import annotations

import os
import stat
import sys

import click

from cafleet.cli.types import ID, TEXT, shown
from cafleet.core.errors import InvalidInput


def agent_id_option(help: str = "Your agent id (the acting agent).", **kwargs):
    return click.option("--agent-id", type=ID, required=True, metavar="ID", help=help, **kwargs)


def full_option(f):
    return click.option("--full", is_flag=True, help="Do not cut message text to CAFLEET_MAX_TEXT_LEN.")(f)


def quiet_option(f):
    return click.option("--quiet", is_flag=True, help="Print only the new id.")(f)


def text_options(f):
    f = click.option(
        "--text-file",
        type=str,
        metavar="FILE",
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
    from cafleet.core.config import MAX_MESSAGE_BYTES
    from cafleet.core.text import decode_body

    source = f"{option} (stdin)" if path == "-" else f"{option} {shown(path, limit=None)}"
    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        else:
            with _open_regular_file(path, source) as handle:
                data = handle.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read {source}: {exc.strerror}; check the path") from None
    return decode_body(data, source), source


def _open_regular_file(path: str, source: str):
    """`path` opened for reading, or `InvalidInput` when it is not a regular file.

    A FIFO with no writer would block open() and read() forever, and a device or /proc file
    may never end: anything but a regular file is refused before reading a byte. It is
    checked before opening (nothing is opened for a FIFO) and again on the opened file
    (O_NONBLOCK: a FIFO swapped in meanwhile cannot block the open either)."""
    _refuse_irregular(os.stat(path).st_mode, source)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        _refuse_irregular(os.fstat(fd).st_mode, source)
        os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _refuse_irregular(mode: int, source: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((words for test, words in _KINDS if test(mode)), "a special file")
    raise InvalidInput(f"{source} is {kind}, not a regular file; pass a regular file, or '-' and pipe the text to standard input")
