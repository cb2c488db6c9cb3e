"""The broker's sentences are for every face: none names a CLI flag or a `cafleet …` command.

A refusal whose fix depends on the face carries the fix as data (`cafleet.core.errors.Hint`);
the CLI words it as a command (cafleet/cli/error_text.py), the TUI as a key."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import cafleet.broker

BROKER = Path(cafleet.broker.__file__).parent
CLI_WORDS = re.compile(
    r"(?<![\w-])--[a-z]"  # a flag
    r"|\bcafleet +(?:--|[a-z])"  # a command line
    r"|\b(?:fleet|agent|member|message|monitor|db) (?:create|list|show|delete|export|register|deregister|send|"
    r"broadcast|poll|ack|cancel|search|capture|exec|send-input|ping|spawn|status)\b"  # a subcommand
)
# Not refusals: the "[needs you]" message a Director (a coding agent on the CLI) is sent when
# one of its members asks a question, which tells it the command that answers, and the one it
# is sent when its provider holds a member ("[limited]"), which tells it how to look at the
# member and to start the monitor that wakes it.
FOR_THE_DIRECTOR = {("agent_states.py", "needs_you_text"), ("holds.py", "hold_text"), ("holds.py", "_wake_words")}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _exempt(path: Path, tree: ast.AST) -> set[int]:
    """The string constants inside the functions of FOR_THE_DIRECTOR."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (path.name, node.name) in FOR_THE_DIRECTOR:
            found |= {id(inner) for inner in ast.walk(node) if isinstance(inner, ast.Constant)}
    return found


def cli_worded_strings(root: Path) -> list[str]:
    """`path:line: text` of every string constant under `root` (f-string parts included,
    docstrings not) that names a CLI flag or command."""
    hits = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _docstrings(tree) | _exempt(path, tree)
        found = sorted(
            (node.lineno, node.value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and CLI_WORDS.search(node.value)
        )
        hits += [f"{path.relative_to(root.parent)}:{line}: {text!r}" for line, text in found]
    return hits


def test_no_broker_sentence_names_a_cli_flag_or_command():
    assert cli_worded_strings(BROKER) == []


def test_the_check_finds_what_it_looks_for(tmp_path):
    broker = tmp_path / "broker"
    broker.mkdir()
    (broker / "guards.py").write_text(
        '"""Names `--to` in a docstring, which is allowed."""\n'
        "def f(fleet_id, ref):\n"
        '    raise ValueError(f"{ref}: `cafleet fleet show {fleet_id}` lists them")\n'
        "def g(ref):\n"
        '    raise ValueError(f"pass a name to --to, not {ref}")\n'
        "def h():\n"
        '    return "`message poll --all` lists them"\n'
        "def needs_you_text():\n"
        '    return "answer with: member send-input"\n'
    )
    hits = cli_worded_strings(broker)
    assert [hit.split(": ")[0] for hit in hits] == [
        "broker/guards.py:3",
        "broker/guards.py:5",
        "broker/guards.py:7",
        "broker/guards.py:9",
    ]
