"""The `cafleet …` command lines of the shipped skills, the README and docs/, as tests see them.

A command line is a line of a code block (fenced, or indented by four spaces) that starts with
`cafleet`, `$ cafleet` or `/path/to/cafleet`. In a block that holds `$ ` prompts (a transcript)
only the prompt lines are commands; ```text blocks are output. A trailing `# exit N …`
comment says the command is documented to fail with exit code N; otherwise it must succeed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import NamedTuple

import click

REPO = Path(__file__).resolve().parent.parent
GENERATED = {"docs/cli-reference.md"}  # generated from the commands themselves (test_cli_reference.py)


class DocCommand(NamedTuple):
    doc: str  # path relative to the repository
    line: int  # 1-based
    text: str  # the command line as written (prompt and placeholder path removed)
    argv: list[str]  # cafleet's arguments (without "cafleet"), up to a shell operator
    expected_exit: int
    stdin_from_heredoc: bool


def documents() -> list[str]:
    docs = [p for p in sorted((REPO / "cafleet" / "skills").rglob("*.md"))]
    docs += [REPO / "README.md"] + sorted((REPO / "docs").glob("*.md"))
    return [str(p.relative_to(REPO)) for p in docs if str(p.relative_to(REPO)) not in GENERATED]


def _blocks(text: str):
    """(first line number, lines, is_output) for each code block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            info = line.strip()[3:].strip()
            start, body = i + 2, []
            i += 1
            while i < len(lines) and not lines[i].lstrip().startswith("```"):
                body.append(lines[i])
                i += 1
            yield start, body, info == "text"
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i + 1, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            yield start, body, False
            continue
        i += 1


COMMAND = re.compile(r"^(\$ )?(cafleet|/path/to/cafleet)( |$)")
EXIT_NOTE = re.compile(r"#\s*exit (\d)\b")


def argv_of(line: str) -> list[str]:
    """The shell words of `line` up to the first shell operator (`>`, `&`, `|`, `<<`, `;`)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # `director#1` is a word; only a word that starts with # is a comment
    argv = []
    for token in lexer:
        if token.startswith("#") or (token and set(token) <= set("();<>|&")):
            break
        argv.append(token)
    return argv


def commands(doc: str) -> list[DocCommand]:
    found = []
    text = (REPO / doc).read_text(encoding="utf-8")
    for start, body, is_output in _blocks(text):
        if is_output:
            continue
        transcript = any(line.startswith("$ ") for line in body)
        for offset, line in enumerate(body):
            line = line.strip()
            if transcript and not line.startswith("$ "):
                continue
            if not COMMAND.match(line):
                continue
            line = line.removeprefix("$ ").replace("/path/to/cafleet", "cafleet", 1)
            note = EXIT_NOTE.search(line.partition(" #")[2]) if " #" in line else None
            words = argv_of(line)
            found.append(
                DocCommand(
                    doc,
                    start + offset,
                    line,
                    words[1:],
                    int(note.group(1)) if note else 0,
                    "--text-file -" in line or "--prompt-file -" in line,
                )
            )
    return found


GLOBAL_FLAGS = {"--json", "--pretty", "--version", "-h", "--help"}
NEEDS_FLEET = {"agent", "message", "member", "monitor"}


def command_path(argv: list[str]) -> tuple[str, ...]:
    """("message", "poll") for `--fleet-id 7 message poll …`; () for `--version` or bare `cafleet`."""
    from cafleet.cli import cli

    args = list(argv)
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        if flag not in GLOBAL_FLAGS and args:
            args.pop(0)
    if not args:
        return ()
    command = cli.get_command(click.Context(cli), args[0])
    if isinstance(command, click.Group) and len(args) > 1 and not args[1].startswith("-"):
        return (args[0], args[1])
    return (args[0],)


def parse(argv: list[str]) -> str:
    """Parse `cafleet ARGV` the way the CLI would, without running it; returns the command path.

    Raises click.ClickException on an unknown option, a bad value or a missing one.
    """
    from cafleet.cli import cli

    args = list(argv)
    leading = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        leading.append(flag)
        if flag not in GLOBAL_FLAGS:
            leading.append(args.pop(0))
    if "--version" in leading or not args:
        return ""
    root = cli.make_context("cafleet", list(leading))  # click consumes the list it is given
    command = cli.get_command(root, args[0])
    if command is None:
        raise click.UsageError(f"no command {args[0]!r}")
    path, ctx, rest = [args[0]], root, args[1:]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=args[0], parent=root)
        sub = command.get_command(ctx, rest[0]) if rest else None
        if sub is None:
            raise click.UsageError(f"no command {args[0]} {rest[0] if rest else ''!r}")
        path.append(rest[0])
        command, rest = sub, rest[1:]
    command.make_context(" ".join(path), list(rest), parent=ctx)
    if path[0] in NEEDS_FLEET and "--fleet-id" not in leading and "--fleet-id" not in rest:
        raise click.UsageError("a fleet command must say --fleet-id")
    return " ".join(path)
