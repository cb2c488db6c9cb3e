"""The walk-through pages, followed literally: each command typed where the page says, in order.

A reader of README.md, docs/quickstart.md or docs/run-a-team.md starts tmux, creates a fleet in
its first pane (which makes that pane the Director's), and types each command in the place the
page names (tests/doc_walkthrough.py): the Director's pane, a second tmux window, or a plain
terminal outside tmux. Each line runs through bash with that place's environment, on the default
database of a fresh home directory, with one coding agent (a stand-in `claude`) installed. Where
the page shows a transcript, the output must match it (times, pids and this machine's paths
aside). The ids are the ones a fresh database prints, as the reader would see them; a page that
says its ids are examples (`fleet 7`) has them mapped to the fleet it created.

What the reader does not type (the Director agent spawning members, a member stopping at a
question) is the story between the commands; the reader's World plays it just before the
command that needs it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from doc_commands import argv_of, command_path
from doc_walkthrough import WALKTHROUGHS, Place, Step, walkthrough
from panes_support import OUTSIDE_PANES, wait_for
from support import TmuxServer, private_tmux_server

from tests.git_support import git, make_repo

pytestmark = pytest.mark.sqlite_only  # a newcomer's fleet lives on the default SQLite file

# What the story calls the members a page refers to by id (in the order the Director spawns them).
STORY_MEMBERS = {"docs/run-a-team.md": ("coder", "tester", "reviewer")}
# Pages whose reader's project is a git repository (on `main`, one commit).
GIT_PROJECTS = {"docs/worktrees.md"}
# What members commit in their worktrees before the reader first looks at their branches.
STORY_COMMITS = {
    "docs/worktrees.md": {3: {"lexer.py": "def tokens(text): return text.split()\n"}, 4: {"parser.py": "class Node: ...\n"}},
}


class Reader:
    """One reader following one page, on a private tmux server whose session is `work`."""

    def __init__(self, doc: str, server: TmuxServer, bin_dir: Path):
        self.doc, self.server, self.bin_dir = doc, server, bin_dir
        self.home = Path(os.environ["HOME"])
        self.project = self.home / "project"
        if doc in GIT_PROJECTS:
            make_repo(self.project, {"README.md": "# project\n"})
        else:
            self.project.mkdir(exist_ok=True)
        self.base_env = dict(os.environ)
        self.committed: set[int] = set()
        self.director_pane = server.pane_id  # where the reader starts; then where `fleet create` ran
        self.windows: dict[tuple[Place, int], str] = {}
        self.fleet_literal: str | None = None  # the page's fleet id, e.g. "7"
        self.fleet_id: int | None = None
        self.agent_shift = 0
        self.directors: dict[int, int] = {}
        self.groups: list[int] = []

    # --- places ---------------------------------------------------------------------------

    def pane_for(self, step: Step) -> str | None:
        """The pane the reader types `step` in; None for a terminal outside tmux."""
        if step.place is Place.DIRECTOR_PANE:
            return self.director_pane
        if step.place in (Place.NEW_WINDOW, Place.SECOND_WINDOW):
            key = (step.place, step.told if step.place is Place.NEW_WINDOW else 0)
            if key not in self.windows:
                self.windows[key] = self.tmux("new-window", "-P", "-F", "#{pane_id}", "-c", str(self.project))
            return self.windows[key]
        if step.place is Place.PLAIN_TERMINAL:
            return None
        # Each agent in its own pane: an agent registers itself from a pane of its own.
        argv = argv_of(step.command)[1:]
        if command_path(argv) == ("agent", "register"):
            return self.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(self.project))
        acting = _option(argv, "--agent-id")
        return self.pane_of(int(acting)) if acting and self.fleet_id else self.director_pane

    def pane_of(self, agent_id: int) -> str | None:
        shown = self.cafleet(
            "--json", "--fleet-id", self.fleet_id, "agent", "show", "--agent-id", self.director_id(), "--id", agent_id
        )
        placement = json.loads(shown.stdout).get("placement") if shown.returncode == 0 else None
        return placement and placement["tmux_pane_id"]

    def tmux(self, *args: str) -> str:
        done = self.server.tmux(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    # --- running --------------------------------------------------------------------------

    def cafleet(self, *args, env: dict | None = None) -> subprocess.CompletedProcess:
        """The story's own commands (not the reader's): as the human, outside every pane."""
        return subprocess.run(
            ["cafleet", *map(str, args)],
            capture_output=True,
            text=True,
            env={**self.base_env, **(env or OUTSIDE_PANES)},
            cwd=self.project,
            timeout=60,
        )

    def run(self, step: Step) -> tuple[int, str]:
        command = self.with_real_ids(step.command)
        self.play_story_before(command)
        path = command_path(argv_of(command)[1:]) if command.startswith("cafleet") else ()
        pane = self.pane_for(step)
        env = {**self.base_env, **(self.server.pane_env(pane) if pane else OUTSIDE_PANES)}
        if path == ("ui",) or (command.strip() == "cafleet"):
            return self.run_tui(command, env)
        if path == ("monitor", "start") and "&" not in command:
            pytest.fail(f"{step.doc}:{step.line}: a reader would be stuck in the foreground monitor")
        proc = subprocess.Popen(
            ["bash", "-c", command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=self.project,
            start_new_session=True,
        )
        self.groups.append(proc.pid)
        out, _ = proc.communicate(timeout=90)
        if path == ("monitor", "start"):  # in the background: a reader's next line comes after it is up
            wait_for(
                lambda: "running" in self.cafleet("--fleet-id", self.fleet_id, "monitor", "status").stdout,
                timeout=30,
                what="the monitor to run",
            )
        if path == ("fleet", "create") and proc.returncode == 0:
            printed = out.split()
            self.fleet_id = int(printed[0])
            if len(printed) > 1 and printed[1].isdigit():  # without --quiet: the Director's id
                self.agent_shift = int(printed[1]) - 1
            self.director_pane = pane or self.director_pane
        return proc.returncode, out

    def run_tui(self, command: str, env: dict) -> tuple[int, str]:
        """The TUI in a window of its own, until it shows the fleet; then Ctrl+Q."""
        flags = [arg for k in ("HOME", "PATH") for arg in ("-e", f"{k}={env[k]}")]
        pane = self.tmux(
            "new-window", "-d", "-P", "-F", "#{pane_id}", *flags, "-c", str(self.project), "--", "bash", "-c", command
        )
        self.tmux("set-option", "-p", "-t", pane, "remain-on-exit", "on")

        def screen():
            shown = self.server.tmux("capture-pane", "-p", "-t", pane).stdout
            return shown if re.search(r"refactor|parser-split|Error", shown) else None

        try:
            shown = wait_for(screen, timeout=30, what="the TUI to show the fleet")
        finally:
            self.server.tmux("kill-pane", "-t", pane)
        return (1 if "Error" in shown else 0), shown

    def close(self) -> None:
        for group in self.groups:
            try:
                os.killpg(group, signal.SIGTERM)
            except ProcessLookupError:
                pass

    # --- ids and the story ------------------------------------------------------------------

    def with_real_ids(self, command: str) -> str:
        """The page's example ids replaced by the ones the reader's commands printed: its fleet
        id by the fleet the page created last, and its agent ids (which count from the
        Director's 1) shifted to count from that fleet's Director."""
        if self.fleet_id is None:
            return command
        if self.agent_shift:
            command = re.sub(
                r"(--(?:agent|member)-id |--id )(\d+)", lambda m: f"{m.group(1)}{int(m.group(2)) + self.agent_shift}", command
            )
        literal = re.search(r"--fleet-id (\d+)|fleet (?:delete|show|export) (\d+)", command)
        if literal and self.fleet_literal is None:
            self.fleet_literal = literal.group(1) or literal.group(2)
        if self.fleet_literal is None:
            return command
        return re.sub(rf"(--fleet-id |fleet (?:delete|show|export) ){self.fleet_literal}\b", rf"\g<1>{self.fleet_id}", command)

    def play_story_before(self, command: str) -> None:
        if not command.startswith("cafleet") or self.fleet_id is None:
            return
        argv = argv_of(command)[1:]
        if command_path(argv)[:1] == ("member",) and command_path(argv)[1:] in (("list",), ("diff",)):
            self.story_members_commit()
        if command_path(argv) == ("monitor", "status"):  # a reader asks once the members have settled
            for listed in self.members():
                self.wait_state(listed["agent_id"], "ready")
        member = _option(argv, "--member-id")
        if member:
            self.story_spawns_until(int(member))
            self.wait_state(int(member), "ready")
            if "--choice" in argv:
                self.story_member_asks(int(member))

    def story_members_commit(self) -> None:
        """Each member of STORY_COMMITS commits its files in its worktree (once)."""
        for literal, files in STORY_COMMITS.get(self.doc, {}).items():
            member = literal + self.agent_shift
            if member in self.committed:
                continue
            self.committed.add(member)
            self.wait_state(member, "ready")
            worktree = next(m["worktree"] for m in self.members() if m["agent_id"] == member)
            before = git(Path(worktree["path"]), "rev-parse", "HEAD")
            writes = " && ".join(f"printf '%s\\n' {shlex.quote(text.rstrip())} > {name}" for name, text in files.items())
            command = f"{writes} && git add -A && git commit -q -m {shlex.quote('work of member ' + str(member))}"
            done = self.cafleet(
                "--fleet-id", self.fleet_id, "member", "exec", "--agent-id", self.director_id(), "--member-id", member, command
            )
            assert done.returncode == 0, done.stderr
            wait_for(lambda p=worktree["path"], b=before: git(Path(p), "rev-parse", "HEAD") != b, timeout=30, what="the commit")

    def members(self) -> list[dict]:
        shown = self.cafleet(
            "--json", "--fleet-id", self.fleet_id, "member", "list", "--agent-id", self.director_id(), "--activity"
        )
        assert shown.returncode == 0, shown.stderr
        return json.loads(shown.stdout)

    def director_id(self) -> int:
        """The Director of the page's latest fleet (looked up once per fleet)."""
        if self.fleet_id not in self.directors:
            shown = json.loads(self.cafleet("--json", "fleet", "show", self.fleet_id).stdout)
            self.directors[self.fleet_id] = next(a["agent_id"] for a in shown["agents"] if a["kind"] == "director")
        return self.directors[self.fleet_id]

    def story_spawns_until(self, member: int) -> None:
        names = list(STORY_MEMBERS.get(self.doc, ()))
        while not any(m["agent_id"] == member for m in self.members()):
            assert names, f"{self.doc}: the story has no member {member} (add it to STORY_MEMBERS)"
            name = names.pop(0)
            made = self.cafleet(
                "--fleet-id", self.fleet_id, "member", "create", "--agent-id", self.director_id(),
                "--name", name, "--description", f"{name} (the story)", "--quiet",
            )  # fmt: skip
            assert made.returncode == 0, made.stderr

    def state(self, member: int) -> str | None:
        return next((m["activity"]["state"] for m in self.members() if m["agent_id"] == member), None)

    def wait_state(self, member: int, state: str) -> None:
        wait_for(lambda: self.state(member) in (state, "asking"), timeout=30, what=f"member {member} to be {state}")

    def story_member_asks(self, member: int) -> None:
        pane = next(m["placement"]["tmux_pane_id"] for m in self.members() if m["agent_id"] == member)
        self.tmux("send-keys", "-t", pane, "-l", "ask: Overwrite config.toml? | yes | no")
        wait_for(lambda: "Overwrite" in self.tmux("capture-pane", "-p", "-t", pane), timeout=10, what="the question typed")
        self.tmux("send-keys", "-t", pane, "Enter")
        wait_for(lambda: self.state(member) == "asking", timeout=30, what=f"member {member} to ask")
        wait_for(self.director_has_needs_you, timeout=30, what="the Director's [needs you] message")

    def director_has_needs_you(self) -> bool:
        polled = self.cafleet("--fleet-id", self.fleet_id, "message", "poll", "--agent-id", self.director_id())
        return "[needs you]" in polled.stdout


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else None


# --- the documented output ---------------------------------------------------------------------

VARIABLE = [
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"), "<time>"),
    (re.compile(r"pid=\d+"), "pid=<pid>"),
    (re.compile(r"(oldest-unread|idle)=\d+s"), r"\1=<age>"),
    (re.compile(r"\b(at|merge commit) [0-9a-f]{7,40}\b"), r"\1 <commit>"),  # commits hash their times
]


def normalized(text: str, reader: Reader) -> str:
    text = text.replace(reader.server.socket_path, "/tmp/tmux-1000/default")
    text = text.replace(str(reader.bin_dir), "/usr/local/bin").replace(str(reader.home), "/home/you")
    text = text.replace(os.path.dirname(shutil.which("cafleet") or "/usr/local/bin/cafleet"), "/usr/local/bin")
    host = re.escape(socket.gethostname())
    text = re.sub(rf"courier-{host}\.log", "courier-laptop.log", text)
    text = re.sub(rf"host: {host}; couriers: {host} pid \d+", "host: laptop; couriers: laptop pid 4750", text)
    for pattern, replacement in VARIABLE:
        text = pattern.sub(replacement, text)
    return text.rstrip()


def mismatch(step: Step, output: str, reader: Reader) -> str | None:
    if step.output is None:
        return None
    documented = normalized("\n".join(step.output), reader)
    shown = normalized(output, reader)
    if documented == shown:
        return None
    return f"documented output:\n{documented}\nactual output:\n{shown}"


@pytest.fixture
def newcomer(tmp_path, monkeypatch) -> Path:
    """A fresh home with the default database and one coding agent (a stand-in `claude`)
    installed; returns the directory that holds that agent."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    claude = bin_dir / "claude"
    claude.write_text(f'#!/bin/sh\nexec {sys.executable} -m cafleet.demo.standin_agent "$@"\n')
    claude.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    monkeypatch.delenv("XDG_DATA_HOME")
    return bin_dir


@pytest.mark.parametrize("doc", WALKTHROUGHS)
def test_a_reader_can_follow_the_page_literally(doc, newcomer):
    steps = walkthrough(doc)
    assert steps, f"{doc} has no commands for a reader"
    with private_tmux_server(session="work") as server:
        reader = Reader(doc, server, newcomer)
        try:
            for step in steps:
                code, output = reader.run(step)
                wrong = mismatch(step, output, reader) if code == step.expected_exit else None
                if code != step.expected_exit or "Traceback" in output or wrong:
                    pytest.fail(
                        f"{doc}:{step.line}: in {step.place.value}: {step.command}\n"
                        f"exit {code} (documented: {step.expected_exit})\n{wrong or output.strip()[:1500]}",
                        pytrace=False,
                    )
        finally:
            reader.close()


def test_a_page_that_cannot_be_followed_fails(newcomer):
    """Guard: the quickstart's old order (poll as the reviewer in the Director's pane) is refused."""
    page = walkthrough(
        "old-quickstart.md",
        """Start tmux (`tmux new -s work`) and run the following in one of its panes.

    $ cafleet fleet create --label refactor --quiet
    1
    $ cafleet --fleet-id 1 agent register --name reviewer --description "Reviews diffs"
    3
    $ cafleet --fleet-id 1 message send --agent-id 1 --to reviewer --text "Please review PR 42" --quiet
    1
    $ cafleet --fleet-id 1 message poll --agent-id 3
""",
    )
    with private_tmux_server(session="work") as server:
        reader = Reader("old-quickstart.md", server, newcomer)
        try:
            results = [reader.run(step) for step in page]
        finally:
            reader.close()
    assert [(code, mismatch(step, out, reader)) for step, (code, out) in zip(page[:3], results[:3], strict=True)] == [
        (0, None)
    ] * 3
    assert results[3][0] == 1 and "is not you" in results[3][1]


def test_the_place_a_page_names_holds_until_it_names_another():
    page = """Start tmux and run the following in one of its panes.

    cafleet fleet create --label a

Then open a second window (`C-b c`) and, in the second window:

    $ cafleet --fleet-id 1 message poll --agent-id 3
    #1 from director#1 2026-11-21T12:34:30Z

Nothing new is said here.

    cafleet --fleet-id 1 message ack --agent-id 3 --task-id 1

In the Director's pane:

    cafleet --fleet-id 1 monitor status
"""
    steps = walkthrough("page.md", page)
    assert [(s.line, s.place) for s in steps] == [
        (3, Place.DIRECTOR_PANE),
        (7, Place.SECOND_WINDOW),
        (12, Place.SECOND_WINDOW),
        (16, Place.DIRECTOR_PANE),
    ]
    assert steps[1].output == ["#1 from director#1 2026-11-21T12:34:30Z"] and steps[0].output is None


def test_a_command_before_any_place_is_an_error():
    with pytest.raises(ValueError, match="before the page says where to run it"):
        walkthrough("page.md", "Run this:\n\n    cafleet fleet list\n")
