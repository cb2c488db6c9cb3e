"""The stand-in agent in a real (private) tmux pane: it must take input the way the real
coding-agent TUIs do, since every pane-lifecycle test relies on it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cafleet.demo.standin_agent import InputParser
from tests import waiting

pytestmark = pytest.mark.engine_neutral  # the stand-in agent alone: no database

DEADLINE = 10.0


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def wait_for(predicate, what: str, timeout: float = DEADLINE):
    return waiting.wait_for(predicate, timeout=timeout, what=what, interval=0.05)


def events(log: Path, kind: str) -> list[dict]:
    return [e for e in read_log(log) if e["event"] == kind]


def wait_for_event(log: Path, kind: str, count: int = 1) -> list[dict]:
    return wait_for(lambda: len(events(log, kind)) >= count and events(log, kind), f"{count} {kind!r} event(s)")


class Pane:
    def __init__(self, server, pane_id: str, log: Path):
        self.server, self.id, self.log = server, pane_id, log

    def keys(self, *keys: str) -> None:
        self.server.tmux("send-keys", "-t", self.id, *keys)

    def type(self, text: str) -> None:
        self.keys("-l", "--", text)

    def paste(self, text: str) -> None:
        name = f"standin-{time.monotonic_ns()}"
        subprocess.run(
            ["tmux", "-L", self.server.name, "load-buffer", "-b", name, "-"], input=text, text=True, check=True, timeout=10
        )
        result = self.server.tmux("paste-buffer", "-p", "-d", "-b", name, "-t", self.id)
        assert result.returncode == 0, result.stderr

    def screen(self) -> str:
        return self.server.tmux("capture-pane", "-p", "-t", self.id).stdout

    def alive(self) -> bool:
        panes = self.server.tmux("list-panes", "-a", "-F", "#{pane_id}").stdout.split()
        return self.id in panes

    def inputs(self) -> list[str]:
        return [e["text"] for e in events(self.log, "input")]


def start(tmux_server, tmp_path, *args: str, env: dict | None = None) -> Pane:
    """Launch the stand-in in a new window; with CAFLEET_STANDIN_LOG in `env`, no --log."""
    log = Path(env["CAFLEET_STANDIN_LOG"]) if env else tmp_path / f"standin-{time.monotonic_ns()}.jsonl"
    command = [sys.executable, "-m", "cafleet.demo.standin_agent", *([] if env else ["--log", str(log)]), *args]
    env_flags = [f"-e{k}={v}" for k, v in (env or {}).items()]
    result = tmux_server.tmux("new-window", "-P", "-F", "#{pane_id}", "-t", "main", *env_flags, shlex.join(command))
    assert result.returncode == 0, result.stderr
    pane = Pane(tmux_server, result.stdout.strip(), log)
    wait_for_event(log, "ready")
    # The banner is written after bracketed paste is switched on, so once tmux shows it, tmux
    # has also seen the mode switch and `paste-buffer -p` will bracket the paste.
    wait_for(lambda: "ready" in pane.screen(), "the banner on screen")
    return pane


def test_start_event_records_argv_pid_and_database(tmux_server, tmp_path, db_path):
    pane = start(tmux_server, tmp_path, "--permission-mode", "dontAsk", "--name", "x", "--model", "m", "prompt text")
    (started,) = events(pane.log, "start")
    assert started["argv"][-7:] == ["--permission-mode", "dontAsk", "--name", "x", "--model", "m", "prompt text"]
    assert started["pid"] > 0 and started["time"] > 0
    assert started["env_database_url"] == os.environ["CAFLEET_DATABASE_URL"]
    assert "stand-in agent x ready" in pane.screen()


def test_bracketed_paste_then_enter_is_one_input(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path, "--name", "x")
    pane.paste("line one\nline two — ✓")
    time.sleep(0.25)
    pane.keys("Enter")
    wait_for_event(pane.log, "input")
    assert pane.inputs() == ["line one\nline two — ✓"]
    assert events(pane.log, "escape") == []
    wait_for(lambda: "» line one⏎line two — ✓" in pane.screen(), "the echoed input")


def test_typed_text_then_enter_arrives_intact(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.type("- a bullet")
    pane.keys("Enter")
    wait_for_event(pane.log, "input")
    assert pane.inputs() == ["- a bullet"]


def test_backspace_deletes_the_last_character(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.type("héllo!")
    pane.keys("BSpace", "Enter")
    wait_for_event(pane.log, "input")
    assert pane.inputs() == ["héllo"]


def test_a_newline_typed_outside_a_paste_submits(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.type("first\nsecond")
    pane.keys("Enter")
    wait_for_event(pane.log, "input", 2)
    assert pane.inputs() == ["first", "second"]


def test_escape_key_is_logged(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.keys("Escape")
    (escape,) = wait_for_event(pane.log, "escape")
    assert escape["sequence"] == "\x1b"
    pane.keys("Up")
    wait_for_event(pane.log, "escape", 2)
    assert events(pane.log, "escape")[1]["sequence"].startswith("\x1b")
    assert pane.inputs() == []


def test_exit_closes_the_pane(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.type("/exit")
    pane.keys("Enter")
    wait_for(lambda: not pane.alive(), "the pane to close")
    assert [e["event"] for e in read_log(pane.log)] == ["start", "ready", "input", "exit"]


def test_shell_mode_runs_the_command(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pane.type("!echo hi")
    pane.keys("Enter")
    (shell,) = wait_for_event(pane.log, "shell")
    assert shell["command"] == "echo hi"
    wait_for(lambda: "hi" in pane.screen().splitlines(), "the command's output on screen")


def test_input_during_startup_delay_is_discarded(tmux_server, tmp_path):
    log = tmp_path / "delayed.jsonl"
    command = shlex.join([sys.executable, "-m", "cafleet.demo.standin_agent", "--log", str(log), "--startup-delay", "1.5"])
    pane_id = tmux_server.tmux("new-window", "-P", "-F", "#{pane_id}", "-t", "main", command).stdout.strip()
    pane = Pane(tmux_server, pane_id, log)
    wait_for_event(log, "start")
    pane.type("too early")
    pane.keys("Enter")
    wait_for_event(log, "ready")
    pane.type("on time")
    pane.keys("Enter")
    wait_for_event(log, "input")
    assert pane.inputs() == ["on time"]


def test_log_path_defaults_to_the_environment(tmux_server, tmp_path):
    log = tmp_path / "from-env.jsonl"
    pane = start(tmux_server, tmp_path, env={"CAFLEET_STANDIN_LOG": str(log)})
    assert "--log" not in events(log, "start")[0]["argv"]
    pane.type("hello")
    pane.keys("Enter")
    wait_for_event(log, "input")
    assert pane.inputs() == ["hello"]


def test_sigterm_restores_and_logs_exit(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    pid = events(pane.log, "start")[0]["pid"]
    subprocess.run(["kill", "-TERM", str(pid)], check=True)
    (ended,) = wait_for_event(pane.log, "exit")
    assert ended["reason"] == "SIGTERM"


def test_killing_the_pane_logs_exit(tmux_server, tmp_path):
    pane = start(tmux_server, tmp_path)
    tmux_server.tmux("kill-pane", "-t", pane.id)
    (ended,) = wait_for_event(pane.log, "exit")
    assert ended["reason"] == "SIGHUP"


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_parser_handles_any_read_boundaries(chunk):
    data = "héllo\x7f\x1b[200~a\rb\x1b[201~\r\x1b[A\x1bx".encode()
    parser, got = InputParser(), []
    for i in range(0, len(data), chunk):
        got += parser.feed(data[i : i + chunk])
    got += parser.flush_escape()
    text = "".join(e[1] for e in got if e[0] == "text")
    assert text == "héllo"
    assert ("paste", "a\nb") in got and ("backspace",) in got
    assert [e for e in got if e[0] == "escape"] == [("escape", "\x1b[A"), ("escape", "\x1bx")]
    assert got.index(("paste", "a\nb")) < got.index(("enter",))


@pytest.mark.parametrize(
    "screen, state, resets, box_open",
    [
        (
            ["» limit: usage limit reached | 11:32pm", "(limited: usage limit reached · resets 11:32pm)", "> "],
            "limited",
            "11:32pm",
            True,
        ),
        (["» limit: quota exceeded", "(limited: quota exceeded)", "> "], "limited", "", True),
        (["(limited: quota exceeded)", "> wake up"], "draft", "", False),  # someone types under it
        (["(limited: usage limit reached · resets in 5s)"], "limited", "in 5s", False),  # no box drawn yet
        (["(limited: quota exceeded)", "» go on", "> "], "ready", "", False),  # its next turn
    ],
)
def test_the_standin_shows_a_limit_above_its_box_until_its_next_turn(screen, state, resets, box_open):
    from cafleet.backends.standin import read_standin_screen

    reading = read_standin_screen(screen)
    assert (reading.state, reading.resets, reading.box_open) == (state, resets, box_open)
