"""Hypothesis drives the whole CLI in-process with hostile ids, numbers, times, texts, names,
JSON and paths. Whatever it is given, every call exits 0, 1 or 2; a failure prints an
`Error:` line and leaves the database as it was; nothing is ever "unexpected"; no output
carries a raw control or bidi character; and JSON output parses.

Each example acts in a fleet of its own. `monitor start` and `message poll --wait` are
stubbed after their options are parsed (a valid call would loop or wait), and check the
value they were given. Budget: see `tests/fuzz_support.py` (CAFLEET_FUZZ_PROFILE).
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import click
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from cafleet.core.records import PaneLocation
from tests.fuzz_support import (
    FUZZ,
    PLACEHOLDERS,
    Ids,
    anything,
    check,
    dump,
    ids,
    invoke,
    json_texts,
    json_values,
    names,
    numbers,
    paths,
    plain_text,
    prompts,
    texts,
    times,
)

# Each example gets a SQLite file of its own (whichever engine the pass is for).
pytestmark = pytest.mark.sqlite_only

# Commands that open the TUI, start tmux sessions, write to $HOME or serve until Ctrl+C
# (`web`: its options have their own tests in test_web.py) are not fuzzed here.
SKIPPED = {("ui",), ("demo",), ("setup",), ("doctor",), ("web",)}
ID_OPTIONS = {"--agent-id", "--task-id", "--id", "--member-id", "--reply-to", "fleet_id"}
NUMBER_OPTIONS = {"--tick", "--wait", "--timeout", "--interval", "--page-size", "--lines", "--choice"}
HOSTILE = {"--since": times, "--name": names, "--to": names, "--skills": json_texts, "--prompt": prompts}
# Values that pass, so that three examples in four get past option parsing to the broker.
VALID = {
    "--since": st.sampled_from(["2020-01-01", "2026-11-21T09:30:00Z", "2999-01-01T00:00:00+05:00"]),
    "--name": st.from_regex(r"[a-z][a-z0-9_.-]{0,20}", fullmatch=True),
    "--to": st.sampled_from(["bob", "alice", "BOB", "director", "Administrator", *PLACEHOLDERS]),
    "--skills": json_values.map(lambda v: json.dumps(v, allow_nan=False) if _finite(v) else "[]"),
    "--prompt": st.sampled_from(["Hi {name}, fleet {fleet_id}.", "{{literal}} {agent_id}"]),
    "--model": st.sampled_from(["sonnet", "gpt-5", "anthropic/claude-sonnet-4"]),
    "--tick": st.sampled_from(["0.2", "5", "3600"]),
    "--wait": st.sampled_from(["0", "0.01", "2e-2"]),
    "--timeout": st.sampled_from(["0.5", "15"]),
    "--interval": st.sampled_from(["1", "60", "604800"]),
    "--page-size": st.sampled_from(["1", "20", "500"]),
    "--lines": st.sampled_from(["1", "40"]),
    "--choice": st.sampled_from(["1", "2", "3"]),
}


def _commands() -> list[tuple[tuple[str, ...], list[click.Parameter]]]:
    from cafleet.cli import cli

    found = []

    def walk(group: click.Group, path: tuple[str, ...], ctx: click.Context) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            here = path + (name,)
            if here in SKIPPED:
                continue
            if isinstance(command, click.Group):
                walk(command, here, click.Context(command, parent=ctx, info_name=name))
            else:
                found.append((here, [p for p in command.params if not getattr(p, "hidden", False)]))

    walk(cli, (), click.Context(cli, info_name="cafleet"))
    return found


COMMANDS = _commands()


def _finite(value) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def _values_for(param: click.Parameter, file_paths):
    """Three times in four a value of the right kind, else a hostile one."""
    name = param.opts[0] if isinstance(param, click.Option) else param.name
    if name in ID_OPTIONS:
        valid, hostile = st.sampled_from(PLACEHOLDERS), ids
    elif name in NUMBER_OPTIONS:
        valid, hostile = VALID[name], numbers
    elif name in ("--text-file", "--prompt-file"):
        valid = hostile = file_paths
    elif isinstance(param.type, click.Choice):
        valid, hostile = st.sampled_from(list(param.type.choices)), anything
    else:
        valid, hostile = VALID.get(name, plain_text), st.one_of(HOSTILE.get(name, texts), anything)
    return st.integers(0, 3).flatmap(lambda pick: valid if pick else hostile)


@st.composite
def calls(draw, file_paths) -> tuple[list[str], bool]:
    """A command line for one command: some of its options, hostile values, the global options
    before or after it. Returns (argv with placeholders, whether --json was asked for)."""
    path, params = draw(st.sampled_from(COMMANDS))
    options: list[list[str]] = []
    positionals: list[str] = []
    for param in params:
        if isinstance(param, click.Argument):
            positionals.append(draw(_values_for(param, file_paths)))
            continue
        if not draw(st.booleans()) and not param.required:
            continue
        if param.is_flag:
            options.append([draw(st.sampled_from(param.opts + param.secondary_opts))])
        else:
            options.append([param.opts[0], draw(_values_for(param, file_paths))])
    options = draw(st.permutations(options))
    stray = draw(st.integers(0, 9)) == 0
    if stray:
        options.append([draw(anything)])
    json_output = draw(st.booleans())
    fleet = (
        ["--fleet-id", draw(st.integers(0, 3).flatmap(lambda pick: st.just("{fleet}") if pick else ids))]
        if draw(st.integers(0, 9))
        else []
    )
    global_options = fleet + (["--json"] if json_output else [])
    body = [*itertools.chain.from_iterable(options), *positionals]
    if draw(st.booleans()):
        return [*global_options, *path, *body], json_output and not stray
    return [*path, *body, *global_options], json_output and not stray


class World:
    """A fresh fleet per example, in a database that is replaced every DATABASE_EXAMPLES
    examples (comparing dumps of an ever-growing file would slow a long run quadratically)."""

    DATABASE_EXAMPLES = 100

    def __init__(self, directory: Path, monkeypatch):
        self.directory = directory
        self.monkeypatch = monkeypatch
        self.examples = 0
        self.db_path = directory / "unset.db"
        self.paths = paths(directory)

    def new_fleet(self) -> Ids:
        from cafleet.broker.agents import register_agent
        from cafleet.broker.fleets import create_fleet
        from cafleet.broker.messages import broadcast_message, send_message
        from cafleet.store.db import open_database

        if self.examples % self.DATABASE_EXAMPLES == 0:
            self.db_path = self.directory / f"fuzz-{self.examples}.db"
            self.monkeypatch.setenv("CAFLEET_DATABASE_URL", f"sqlite:///{self.db_path}")
            open_database()
        self.examples += 1
        pane = PaneLocation("/tmp/cafleet-fuzz-no-such-tmux/default", 4242, "main", "@1", f"%{self.examples}")
        created = create_fleet(pane, label=f"fuzz {self.examples}")
        alice = register_agent(created.fleet.id, "alice", "writes code")
        bob = register_agent(created.fleet.id, "bob", "reviews code")
        task = send_message(created.fleet.id, alice.id, "bob", "hello \x1b[31mbob\r")
        summary = broadcast_message(created.fleet.id, bob.id, "to all").summary
        return Ids(created.fleet.id, created.director.id, created.administrator.id, alice.id, bob.id, task.id, summary.id)


@pytest.fixture
def world(tmp_path, monkeypatch) -> World:
    """A `World`, with the two commands that would block stubbed."""
    from cafleet.broker import inbox
    from cafleet.panes.monitor_loop import MonitorLoop

    def parsed_wait(fleet_id, agent_id, wait_seconds, *rest):
        assert math.isfinite(wait_seconds) and 0 < wait_seconds <= 3600, wait_seconds
        return inbox.poll_inbox(fleet_id, agent_id, *rest)

    def parsed_tick(loop):
        assert math.isfinite(loop.tick_seconds) and 0.2 <= loop.tick_seconds <= 3600, loop.tick_seconds
        return "stubbed"

    monkeypatch.setattr(inbox, "wait_for_inbox", parsed_wait)
    monkeypatch.setattr(MonitorLoop, "run", parsed_tick)
    monkeypatch.setattr(MonitorLoop, "install_signal_handlers", lambda loop: None)
    directory = tmp_path / "fuzz"
    directory.mkdir(mode=0o700)
    monkeypatch.chdir(directory)  # a fuzzed relative --output lands here, not in the checkout
    return World(directory, monkeypatch)


def test_the_fuzzer_reaches_every_command():
    """Guard against a table that silently lost commands."""
    reached = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "message send",
        "message poll",
        "agent register",
        "member create",
        "member send-input",
        "monitor start",
        "monitor config",
        "fleet show",
    } <= reached


@FUZZ
@given(data=st.data())
def test_any_command_with_hostile_values(world, data):
    example = world.new_fleet()
    argv, json_output = data.draw(calls(world.paths))
    argv = [example.fill(a) for a in argv]
    stdin = data.draw(st.binary(max_size=64))
    before = dump(world.db_path)
    outcome = invoke(argv, stdin)
    event(f"exit {outcome.code}")  # shown by --hypothesis-show-statistics: how deep examples get
    check(outcome, argv, before, dump(world.db_path), json_output)


@FUZZ
@given(value=ids, option=st.sampled_from(["--agent-id", "--task-id", "--reply-to", "--fleet-id"]))
def test_ids(world, value, option):
    example = world.new_fleet()
    value = example.fill(value)
    base = ["--fleet-id", str(example.fleet), "message", "send", "--agent-id", str(example.alice), "--to", "bob", "--text", "hi"]
    argv = [*base, option, value]
    before = dump(world.db_path)
    check(invoke(argv), argv, before, dump(world.db_path))


@FUZZ
@given(value=times)
def test_since(world, value):
    example = world.new_fleet()
    argv = ["--fleet-id", str(example.fleet), "message", "poll", "--agent-id", str(example.bob), "--all", "--since", value]
    before = dump(world.db_path)
    check(invoke(argv), argv, before, dump(world.db_path))


@FUZZ
@given(text=texts, name=names, description=texts, skills=st.one_of(st.none(), json_texts))
def test_register_and_send_texts(world, text, name, description, skills):
    example = world.new_fleet()
    register = ["--fleet-id", str(example.fleet), "--json", "agent", "register", "--name", name, "--description", description]
    register += [] if skills is None else ["--skills", skills]
    before = dump(world.db_path)
    check(invoke(register), register, before, dump(world.db_path), json_output=True)
    send = ["--fleet-id", str(example.fleet), "message", "send", "--agent-id", str(example.alice), "--to", name, "--text", text]
    before = dump(world.db_path)
    check(invoke(send), send, before, dump(world.db_path))
    for shown in (
        ["message", "poll", "--agent-id", str(example.bob), "--all", "--full"],
        ["agent", "list", "--agent-id", str(example.bob), "--all"],
    ):
        argv = ["--fleet-id", str(example.fleet), *shown]
        before = dump(world.db_path)
        check(invoke(argv), argv, before, dump(world.db_path))


@FUZZ
@given(option=st.sampled_from(["--wait", "--page-size"]), value=numbers)
def test_poll_numbers(world, option, value):
    example = world.new_fleet()
    argv = ["--fleet-id", str(example.fleet), "message", "poll", "--agent-id", str(example.alice), option, value]
    before = dump(world.db_path)
    check(invoke(argv), argv, before, dump(world.db_path))


@FUZZ
@given(tick=numbers, interval=numbers)
def test_monitor_numbers(world, tick, interval):
    example = world.new_fleet()
    for argv in (
        ["--fleet-id", str(example.fleet), "monitor", "start", "--tick", tick],
        ["--fleet-id", str(example.fleet), "monitor", "config", "--member-id", str(example.alice), "--interval", interval],
    ):
        before = dump(world.db_path)
        check(invoke(argv), argv, before, dump(world.db_path))
