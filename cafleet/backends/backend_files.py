"""Backends described by a file: any other coding-agent CLI as a member, from a small TOML file.

A file `<name>.toml` in the backends directory ($CAFLEET_BACKENDS_DIR, else
`$XDG_CONFIG_HOME/cafleet/backends`, default `~/.config/cafleet/backends`), or any file named
with `member create --backend-file PATH` (recorded by its absolute path), says how to start
the agent with its first prompt, which running program is the agent (the allow-list for
typing), what its screens look like (regular expressions over the captured screen) and which
keys submit, queue, pick a choice and quit. docs/backend-files.md has the reference and a
worked example; `cafleet backend check FILE` tries one against the real agent.

The screen is read from the bottom up: the lowest line any pattern matches decides the
state (asking, busy, the limit states, then ready and draft, in that order within a line).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from cafleet.backends.base import Backend, SpawnContext, SpawnPlan
from cafleet.core.agent_state import AgentState, ScreenReading
from cafleet.core.domain import CODING_AGENTS, CodingAgent
from cafleet.core.errors import InvalidInput
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import JS_RUNTIMES, runs_python_module
from cafleet.panes.processes import Program

_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The states a file's [screen] table may describe, in the order one line is tried against them.
SCREEN_STATES = (
    AgentState.ASKING,
    AgentState.BUSY,
    AgentState.RETRYING,
    AgentState.LIMITED,
    AgentState.AUTH_EXPIRED,
    AgentState.CONTEXT_FULL,
    AgentState.READY,
    AgentState.DRAFT,
)
_TABLE_KEYS = {
    "": {
        "name",
        "command",
        "args",
        "prompt",
        "package",
        "verified",
        "rows",
        "process",
        "screen",
        "keys",
        "env",
        "unset",
        "paste_shows_late",
    },
    "process": {"executable", "python_module", "node_script"},
    "screen": {str(state) for state in SCREEN_STATES},
    "keys": {"submit", "queue", "choice", "exit"},
}
PROMPT_WAYS = ("positional", "none")  # or "option:FLAG"
MIN_ROWS, MAX_ROWS = 2, 200  # `rows`: the fewest rows the agent's pane may have


class BackendFileError(InvalidInput):
    """A backend file that cannot be used; the message names the file, the key and its line."""


class ProcessRule(NamedTuple):
    executables: tuple[str, ...]
    python_module: str | None
    node_script: re.Pattern[str] | None


class FileBackend(Backend):
    """A coding agent described by a backend file."""

    def __init__(self, path: Path, table: dict, text: str):
        self.path = path
        self.name = table["name"]
        self.binary = table["command"]
        self.args: tuple[str, ...] = tuple(table.get("args", ()))
        self.prompt_way: str = table.get("prompt", "positional")
        self.package = table.get("package", "")
        self.verified_versions = tuple(table.get("verified", ()))
        self.min_rows = table.get("rows", Backend.min_rows)
        process = table["process"]
        self.process = ProcessRule(
            tuple(process.get("executable", ())),
            process.get("python_module"),
            _pattern(process["node_script"], path, text, "process.node_script") if "node_script" in process else None,
        )
        screen = table["screen"]
        self.patterns = {
            state: _pattern(screen[str(state)], path, text, f"screen.{state}") for state in SCREEN_STATES if str(state) in screen
        }
        keys = table.get("keys", {})
        self.submit_key: str = keys.get("submit", "Enter")
        self.queue_key = keys.get("queue", self.submit_key)
        self.choice_template: list[str] = _as_list(keys.get("choice", "{n}"))
        self.exit_line = keys.get("exit", "/exit")
        self.environment: dict[str, str] = dict(table.get("env", {}))
        self.unset: tuple[str, ...] = tuple(table.get("unset", ()))
        self.paste_shows_late = table.get("paste_shows_late", False)

    def plan(self, context: SpawnContext) -> SpawnPlan:
        values = {"fleet_id": str(context.fleet_id), "fleet_command": fleet_command(context.fleet_id), "name": context.name}
        argv = [context.executable, *(_fill(arg, values) for arg in self.args)]
        if context.model:
            argv += ["--model", context.model]
        argv += list(context.autonomy.extra_args)
        if context.prompt and self.prompt_way == "positional":
            argv.append(context.prompt)
        elif context.prompt and self.prompt_way.startswith("option:"):
            argv += [self.prompt_way.removeprefix("option:"), context.prompt]
        environment = {key: _fill(value, values) for key, value in self.environment.items()}
        grant = f"as its backend file {self.path} says: {shlex.join(argv[1 : 1 + len(self.args)])}"
        return SpawnPlan(argv, environment, (grant,), unset=self.unset)

    def find_session(self, probe) -> str | None:
        return None  # a backend file says nothing of saved conversations: `fleet restore --fresh`

    def choice_keys(self, choice: int) -> list[str]:
        return [key.replace("{n}", str(choice)) for key in self.choice_template]

    def runs_agent(self, program: Program) -> bool:
        rule = self.process
        if not program.argv:
            return False
        own = os.path.basename(program.exe or program.argv[0])
        if rule.executables and (own in rule.executables or os.path.basename(program.argv[0]) in rule.executables):
            return own not in JS_RUNTIMES and not own.startswith("python")
        if rule.python_module and runs_python_module(program, rule.python_module):
            return True
        if rule.node_script is not None and own in JS_RUNTIMES:
            script = next((arg for arg in program.argv[1:] if not arg.startswith("-")), None)
            return script is not None and rule.node_script.search(script) is not None
        return False

    def read_screen(self, lines: list[str]) -> ScreenReading:
        for line in reversed(lines):
            if not line.strip():
                continue
            for state, pattern in self.patterns.items():
                found = pattern.search(line)
                if found is None:
                    continue
                groups = found.groupdict()
                if state is AgentState.ASKING:
                    return ScreenReading(state, question=(groups.get("question") or line).strip())
                if state is AgentState.DRAFT:
                    return ScreenReading(state, draft=groups.get("draft") or line.strip())
                return ScreenReading(
                    state, detail=(groups.get("detail") or "").strip(), resets=(groups.get("resets") or "").strip()
                )
        return ScreenReading(AgentState.STARTING)


def backends_directory(environment: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environment is None else environment
    configured = env.get("CAFLEET_BACKENDS_DIR")
    if configured:
        return Path(configured)
    config = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or os.path.expanduser("~")) / ".config")
    return Path(config) / "cafleet" / "backends"


_LOADED: dict[Path, tuple[float, FileBackend]] = {}


def file_backend(name: str) -> FileBackend | None:
    """The backend file named `name` in the backends directory (read again when it changed)."""
    if not _NAME.fullmatch(name):
        return None
    return file_backend_at(backends_directory() / f"{name}.toml")


def is_file_path(name: str) -> bool:
    """Whether a member's recorded coding agent is a backend file named by its path
    (`member create --backend-file`), not a name."""
    return "/" in name


def file_backend_at(path: Path) -> FileBackend | None:
    """The backend file at `path` (read again when it changed); None when it is not there.
    A file that is there but wrong raises `BackendFileError`."""
    try:
        changed = path.stat().st_mtime
    except OSError:
        return None
    cached = _LOADED.get(path)
    if cached is None or cached[0] != changed:
        cached = (changed, load_backend_file(path))
        _LOADED[path] = cached
    return cached[1]


def named_backend_file(given: str) -> str:
    """What a member started from the backend file `given` (`--backend-file`) records as its
    coding agent: the file's absolute path, once the file was read and checked."""
    path = Path(os.path.abspath(os.path.expanduser(given)))
    load_backend_file(path)
    return str(path)


def file_backend_names() -> list[str]:
    try:
        return sorted(path.stem for path in backends_directory().glob("*.toml") if _NAME.fullmatch(path.stem))
    except OSError:
        return []


def load_backend_file(path: Path) -> FileBackend:
    """Read and check a backend file; `BackendFileError` names what is wrong, and where."""
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendFileError(f"backend file {path} cannot be read ({exc}); give a readable UTF-8 TOML file") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BackendFileError(f"backend file {path} is not valid TOML: {exc}; fix that line") from None
    _check(table, path, text)
    return FileBackend(path, table, text)


def _check(table: dict, path: Path, text: str) -> None:
    def fail(key: str, problem: str) -> BackendFileError:
        return BackendFileError(f"backend file {path}: `{key}` {_line_of(text, key)}{problem}")

    for scope, allowed in _TABLE_KEYS.items():
        part = table if not scope else table.get(scope, {})
        if not isinstance(part, dict):
            raise fail(scope, "must be a table ([" + scope + "])")
        for key in part:
            if key not in allowed:
                raise fail(
                    f"{scope}.{key}" if scope else key, f"is not a key cafleet knows; use one of {', '.join(sorted(allowed))}"
                )
    for key in ("name", "command", "process", "screen"):
        if key not in table:
            raise BackendFileError(f"backend file {path}: `{key}` is missing; see docs/backend-files.md")
    name = table["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail("name", "must be lower-case letters, digits and '-' (up to 32), starting with a letter")
    if name in CODING_AGENTS or name == CodingAgent.STANDIN:
        raise fail("name", f"is a built-in coding agent; pick another name than {name!r}")
    if path.stem != name and path.parent == backends_directory():
        raise fail("name", f"must match the file's name ({path.stem}.toml)")
    for key in ("command", "prompt", "package"):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            raise fail(key, "must be a non-empty string")
    prompt = table.get("prompt", "positional")
    if prompt not in PROMPT_WAYS and not re.fullmatch(r"option:-{1,2}[\w-]+", prompt):
        raise fail("prompt", "must be positional, none, or option:--FLAG")
    for key in ("args", "verified"):
        if key in table and not (isinstance(table[key], list) and all(isinstance(v, str) for v in table[key])):
            raise fail(key, "must be a list of strings")
    rows = table.get("rows", MIN_ROWS)
    if isinstance(rows, bool) or not isinstance(rows, int) or not MIN_ROWS <= rows <= MAX_ROWS:
        raise fail("rows", f"must be a whole number of rows from {MIN_ROWS} to {MAX_ROWS}")
    process = table["process"]
    if not any(key in process for key in ("executable", "python_module", "node_script")):
        raise fail("process", "needs executable, python_module or node_script: which running program is the agent")
    if "executable" in process and not (
        isinstance(process["executable"], list)
        and process["executable"]
        and all(isinstance(v, str) for v in process["executable"])
    ):
        raise fail("process.executable", 'must be a list of program names, e.g. ["aider"]')
    screen = table["screen"]
    for needed in ("ready", "busy"):
        if needed not in screen:
            raise BackendFileError(f"backend file {path}: `screen.{needed}` is missing; without it no notice can be typed safely")
    for key, value in screen.items():
        if not isinstance(value, str):
            raise fail(f"screen.{key}", "must be a regular expression (a string)")
        _pattern(value, path, text, f"screen.{key}")
    keys = table.get("keys", {})
    for key, value in keys.items():
        if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
            raise fail(f"keys.{key}", "must be a key name or a list of them")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise fail("env", "must be a table of strings")
    late = table.get("paste_shows_late", False)
    if not isinstance(late, bool):
        raise fail("paste_shows_late", "must be true or false")
    if late and "draft" not in screen:
        raise fail("paste_shows_late", "needs `screen.draft`, which is how the pasted text is seen in the box")
    unset = table.get("unset", [])
    if not (isinstance(unset, list) and all(isinstance(v, str) and _VARIABLE.fullmatch(v) for v in unset)):
        raise fail("unset", 'must be a list of environment variable names, e.g. ["CI"]')


def _pattern(value: str, path: Path, text: str, key: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise BackendFileError(f"backend file {path}: `{key}` {_line_of(text, key)}is not a regular expression ({exc})") from None


def _line_of(text: str, dotted: str) -> str:
    """`(line N) ` where the key is set in the file, or nothing when it cannot be found."""
    *tables, key = dotted.split(".")
    table = tables[0] if tables else ""
    current = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([\w.-]+)\s*\]", stripped)
        if header:
            current = header[1]
            if current == key and not table:
                return f"(line {number}) "
            continue
        if current == table and re.match(rf"{re.escape(key)}\s*=", stripped):
            return f"(line {number}) "
    return ""


def _fill(value: str, values: dict[str, str]) -> str:
    for key, replacement in values.items():
        value = value.replace("{" + key + "}", replacement)
    return value


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
