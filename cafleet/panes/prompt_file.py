"""A starting prompt too long for the spawn command travels in a file the member reads first.

The prompt reaches the coding agent as one argument of the command that `tmux split-window`
hands its server, and tmux refuses a command whose arguments pack to more than one message
of its protocol: measured with tmux 3.3a, the arguments (each with its NUL) may hold at most
16,364 bytes (16,384 for the message, less its 16-byte header and the 4-byte count), so a
prompt of ~16 KiB fails with "command too long" long before Linux's own limit on one
argument (MAX_ARG_STRLEN, 128 KiB, "Argument list too long"). Such a prompt is written,
0600, into a directory of its own under the database's private local directory (0700), and
the agent starts with a short first turn that tells it to read that file; the backend
allows the agent to read it (see `SpawnContext.prompt_file`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cafleet.core.config import local_directory

# The most bytes the arguments of one tmux command may pack to (tmux 3.3a: MAX_IMSGSIZE
# 16,384 less the imsg header and the argument count).
TMUX_COMMAND_BYTES = 16_364
# Room left for what tmux or libtmux may add to a split beyond the arguments counted here.
TMUX_COMMAND_MARGIN = 256


def packed_size(args: list[str]) -> int:
    """The bytes tmux packs `args` into: each argument in UTF-8 and its terminating NUL."""
    return sum(len(arg.encode("utf-8", "surrogateescape")) + 1 for arg in args)


def fits_tmux(args: list[str]) -> bool:
    return packed_size(args) <= TMUX_COMMAND_BYTES - TMUX_COMMAND_MARGIN


def prompt_directory(member_id: int) -> Path:
    """Member `member_id`'s own directory: the agent is allowed to read it and nothing beside it."""
    return local_directory() / "prompts" / f"member-{member_id}"


def write_prompt(member_id: int, text: str) -> Path:
    """Save `text` (0600, in a 0700 directory) and return the file's absolute path."""
    directory = prompt_directory(member_id)
    for level in (directory.parent, directory):
        try:
            level.mkdir(mode=0o700)
        except FileExistsError:
            pass
        os.chmod(level, 0o700)  # mkdir's mode is cut by the umask
    path = directory / "prompt.md"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an earlier file of the same name may have had another mode
        handle.write(text)
    return path.absolute()


def remove_prompt(member_id: int) -> None:
    """Drop the member's saved prompt, if there is one (the member is gone)."""
    shutil.rmtree(prompt_directory(member_id), ignore_errors=True)


def pointer(path: Path, text: str, name: str) -> str:
    """The short first turn that sends the agent to its prompt. It starts with a plain word and
    ends with a full stop: no `!` or `/` command, no `@` completion."""
    lines = text.count("\n") + 1
    size = len(text.encode("utf-8"))
    return (
        f"You are {name}. Your starting instructions are too long for the command line, so they "
        f"are saved in the file {path} ({size:,} bytes, {lines:,} lines). Before anything else, "
        "read that whole file (in parts if your file tool reads only part of a file at a time) "
        "and follow it as your starting prompt."
    )
