"""Whether a process is a coding agent itself, the allow-list for typing into its pane.

A process is the agent when it is the agent's own executable, or a JavaScript runtime running
the agent's own entry script (that exact file of the agent's npm package), or, for cafleet's
stand-in, the running Python with `-m cafleet.demo.standin_agent`. A program that merely has the agent's
path among its arguments (a pager over a file of the package, a script named like the entry)
is never the agent: it may run what is typed into it. The shapes each real agent shows are in
docs/concepts.md.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from typing import NamedTuple

from cafleet.panes.processes import Program

JS_RUNTIMES = frozenset({"node", "nodejs", "bun", "deno"})
_PYTHON = re.compile(r"python(\d+(\.\d+)*)?")
# A package.json is a few KiB; a bigger one (or a FIFO, a device) is not read.
_MAX_MANIFEST_BYTES = 256 * 1024
# How far above the entry script its package's root may be (bin/codex.js is one level down).
_MAX_ENTRY_DEPTH = 4


class NpmAgent(NamedTuple):
    """How a coding agent distributed on npm runs."""

    command: str  # its command, and the key of its package.json `bin`
    package: str  # its npm package, e.g. "@openai/codex"
    binary: re.Pattern[str]  # matches the end of a path that is its native executable
    launchers: tuple[str, ...] = ()  # entry scripts besides its `bin`, relative to the package


class _Syntax(NamedTuple):
    """Enough of a JavaScript runtime's command line to find the script it runs."""

    valued: frozenset[str]  # options whose value is the next argument
    scriptless: frozenset[str]  # options that run no script file (eval, REPL, check, …)
    subcommand: str | None = None  # a word the runtime allows before the script ("run")


_NODE = _Syntax(
    valued=frozenset(
        {
            "-r",
            "--require",
            "--import",
            "--loader",
            "--experimental-loader",
            "-C",
            "--conditions",
            "--inspect-port",
            "--debug-port",
            "--title",
            "--env-file",
            "--input-type",
            "--disable-warning",
            "--redirect-warnings",
            "--icu-data-dir",
            "--openssl-config",
            "--report-dir",
            "--report-filename",
            "--report-signal",
            "--diagnostic-dir",
            "--heapsnapshot-signal",
            "--unhandled-rejections",
            "--experimental-default-type",
            "--stack-trace-limit",
            "--secure-heap",
            "--secure-heap-min",
        }
    ),
    scriptless=frozenset(
        {
            "-e",
            "--eval",
            "-p",
            "--print",
            "-pe",
            "-i",
            "--interactive",
            "-c",
            "--check",
            "-v",
            "--version",
            "-h",
            "--help",
            "--test",
            "--run",
            "--v8-options",
        }
    ),
)
_SYNTAX = {
    "node": _NODE,
    "nodejs": _NODE,
    "bun": _Syntax(
        valued=frozenset(
            {
                "-r",
                "--preload",
                "--require",
                "--import",
                "--cwd",
                "-c",
                "--config",
                "--env-file",
                "-d",
                "--define",
                "-l",
                "--loader",
                "--tsconfig-override",
                "--conditions",
                "--main-fields",
                "--extension-order",
                "--port",
                "--jsx-factory",
                "--jsx-fragment",
                "--jsx-import-source",
                "--jsx-runtime",
                "--origin",
            }
        ),
        scriptless=frozenset({"-e", "--eval", "-p", "--print", "-h", "--help", "-v", "--version"}),
        subcommand="run",
    ),
    "deno": _Syntax(
        valued=frozenset(
            {"-c", "--config", "--import-map", "--lock", "--cert", "--location", "--seed", "-L", "--log-level", "--ext"}
        ),
        scriptless=frozenset({"-h", "--help", "-V", "--version"}),
        subcommand="run",
    ),
}


def runs_npm_agent(program: Program, agent: NpmAgent) -> bool:
    """True when `program` is `agent`: its own executable, or a JavaScript runtime running its
    package's entry script."""
    if not program.argv or not program.argv[0]:
        return False
    return _is_own_binary(program, agent) or _runs_entry(program, agent)


def runs_python_module(program: Program, module: str) -> bool:
    """True when `program` is the running Python (where its executable can be read) started
    as `python [options] -m MODULE`."""
    if not program.argv or not _PYTHON.fullmatch(os.path.basename(program.argv[0])):
        return False
    executable = _executable(program)
    if executable is not None and os.path.realpath(executable) != os.path.realpath(sys.executable):
        return False
    return _python_module(program.argv) == module


def _executable(program: Program) -> str | None:
    """Where the program's executable really is: the kernel's answer, else argv[0] when it is
    a path (a bare name was looked up on a PATH we do not know)."""
    if program.exe is not None:
        return program.exe
    argv0 = program.argv[0]
    return os.path.realpath(argv0) if os.path.isabs(argv0) else None


def _is_own_binary(program: Program, agent: NpmAgent) -> bool:
    """argv[0] names the agent's binary, and so does the file it really runs, where known."""
    if not agent.binary.search(program.argv[0]):
        return False
    executable = _executable(program)
    return executable is None or bool(agent.binary.search(executable))


def _runs_entry(program: Program, agent: NpmAgent) -> bool:
    runtime = os.path.basename(program.argv[0])
    if runtime not in JS_RUNTIMES:
        return False
    executable = _executable(program)
    if executable is not None and os.path.basename(executable) not in JS_RUNTIMES:
        return False  # a program that only calls itself node
    script = _script(program.argv, _SYNTAX[runtime])
    if script is None:
        return False
    if runtime == "deno" and script.startswith("npm:"):
        return _names_package(script[len("npm:") :], agent)
    if not os.path.isabs(script):
        if program.cwd is None:
            return False
        script = os.path.join(program.cwd, script)
    return _is_package_entry(os.path.realpath(script), agent)


def _script(argv: list[str], syntax: _Syntax) -> str | None:
    """The first argument after the runtime's own options: the script it runs, if any."""
    subcommand = syntax.subcommand
    index = 1
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            return argv[index + 1] if index + 1 < len(argv) else None
        if arg.split("=", 1)[0] in syntax.scriptless or arg == "-":
            return None
        if arg.startswith("-"):
            index += 2 if arg in syntax.valued else 1
            continue
        if arg == subcommand:
            subcommand = None
            index += 1
            continue
        return arg
    return None


def _names_package(specifier: str, agent: NpmAgent) -> bool:
    """`npm:` specifiers: the package, perhaps a version, perhaps its command (`/codex`)."""
    version = r"(@[A-Za-z0-9._^~<>=*+-]+)?"
    pattern = re.escape(agent.package) + version + f"(/{re.escape(agent.command)})?"
    return re.fullmatch(pattern, specifier) is not None


def _is_package_entry(path: str, agent: NpmAgent) -> bool:
    """`path` is an entry file of `agent`'s package: its `bin` or one of its launchers, found
    by the package.json nearest above it that names a package."""
    directory = os.path.dirname(path)
    for _ in range(_MAX_ENTRY_DEPTH):
        manifest = _manifest(os.path.join(directory, "package.json"))
        if manifest is not None and "name" in manifest:
            if manifest["name"] != agent.package:
                return False
            entries = {os.path.normpath(entry) for entry in (*_bins(manifest, agent.command), *agent.launchers)}
            return os.path.relpath(path, directory) in entries
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return False


def _bins(manifest: dict, command: str) -> list[str]:
    bins = manifest.get("bin")
    if isinstance(bins, str):
        return [bins]
    if isinstance(bins, dict) and isinstance(bins.get(command), str):
        return [bins[command]]
    return []


def _manifest(path: str) -> dict | None:
    """A package.json's content; None when it is missing, not a small regular file, or not
    a JSON object. Opened without blocking: a FIFO in its place must not hang the courier."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MAX_MANIFEST_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as file:
            value = json.loads(file.read(_MAX_MANIFEST_BYTES))
    except (OSError, ValueError):
        return None
    finally:
        os.close(descriptor)
    return value if isinstance(value, dict) else None


def _python_module(argv: list[str]) -> str | None:
    """MODULE of `python [options] -m MODULE …`; None for a script, `-c`, stdin or the REPL."""
    index = 1
    while index < len(argv):
        arg = argv[index]
        index += 1
        if not arg.startswith("-") or arg in ("-", "--"):
            return None  # a script file, stdin, or a script after `--`
        if arg.startswith("--"):
            index += arg == "--check-hash-based-pycs"
            continue
        flags = arg[1:]
        for position, flag in enumerate(flags):
            value = flags[position + 1 :]
            if flag == "c":
                return None
            if flag == "m":
                if value:
                    return value
                return argv[index] if index < len(argv) else None
            if flag in "WX":
                index += not value
                break
    return None
