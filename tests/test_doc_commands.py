"""Doc tests: every `cafleet …` command line in the shipped skills and the reference pages runs
against a real fleet on a private tmux server, with stand-in coding agents as members, and
behaves as documented (success, or the `# exit N` its line states).

The documents use literal example ids (fleet 7, Director 1, you = agent 3, task 12). Each
document's cast says who those ids are; the world maps them to real ids and, before each
command, arranges what the command needs (an unread message to ack, a member that shows a
question for `send-input --choice`, a spare fleet for `fleet delete`), then runs it with the
environment of the right pane: the acting agent's own pane, the Director's, or the human's
terminal outside every pane.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from conftest import CliResult, cafleet_command
from doc_commands import REPO, command_path, commands, documents, parse
from doc_walkthrough import WALKTHROUGHS
from panes_support import OUTSIDE_PANES, make_fake_agents, wait_for

from tests.git_support import git, make_repo

# The documents, not the engine: their commands run through the same broker the engine tests
# prove, and CI's PostgreSQL pass must fit beside the real-agent tests.
pytestmark = pytest.mark.engine_neutral

MEMBER, AGENT = "member", "agent"
# Literal agent id -> (name, kind) for each document; 1 is the Director, 2 the Administrator.
DEFAULT_CAST = {3: ("reviewer", MEMBER), 4: ("coder", MEMBER), 5: ("tester", MEMBER)}
CASTS = {
    "docs/cli.md": {3: ("coder", MEMBER)},
    "docs/multi-host.md": {3: ("reviewer", AGENT), 4: ("coder", MEMBER)},
}
ID_OPTIONS = {"--agent-id", "--member-id", "--id"}
TASK_OPTIONS = {"--task-id", "--reply-to"}
INTERACTIVE = {("ui",), ()}  # the TUI: started in a tmux window, looked at, closed


def test_every_command_line_in_the_docs_parses():
    lines = [c for doc in documents() for c in commands(doc)]
    assert len(lines) >= 80
    for command in lines:
        try:
            parse(command.argv)
        except click.ClickException as exc:
            pytest.fail(f"{command.doc}:{command.line}: {command.text}\n  -> {exc.format_message()}")


def test_a_flag_the_cli_lacks_fails_the_check():
    for bad in (
        ["--fleet-id", "7", "message", "poll", "--agent-id", "3", "--no-such-option"],
        ["--fleet-id", "7", "message", "ack", "--agent-id", "3", "--task-id", "twelve"],
        ["message", "poll", "--agent-id", "3"],
    ):
        with pytest.raises(click.ClickException):
            parse(bad)


class World:
    """One live fleet on a private tmux server, and the mapping from a document's ids to it."""

    def __init__(self, cli, server, tmp_path, cast):
        self.cli, self.server, self.cast = cli, server, cast
        self.agents = make_fake_agents(tmp_path)
        self.cwd = make_repo(tmp_path / "work")  # a project under git, so `--worktree` works
        self.director_env = {**server.pane_env(), **self.agents.env}
        created = self.run_in(self.director_env, "fleet", "create", "--label", "docs")
        assert created.code == 0, created.err
        self.fleet_id, self.director_id = map(int, created.out.splitlines()[:2])
        shown = self.human("--json", "fleet", "show", self.fleet_id).json()
        self.admin_id = next(a["agent_id"] for a in shown["agents"] if a["kind"] == "administrator")

    # --- running --------------------------------------------------------------------------

    def run_in(self, env, *args, input=None, timeout=60):
        """The console script in the world's working directory (where --text-file finds its files)."""
        proc = subprocess.run(
            cafleet_command() + [str(a) for a in args],
            input=input.encode() if input else None,
            capture_output=True,
            env={**os.environ, **self.agents.env, **env},
            timeout=timeout,
            cwd=self.cwd,
        )
        return CliResult(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def human(self, *args, **kwargs):
        return self.run_in(OUTSIDE_PANES, *args, **kwargs)

    def as_director(self, *args, **kwargs):
        return self.run_in(self.director_env, "--fleet-id", self.fleet_id, *args, **kwargs)

    def env_of(self, agent_id):
        pane = self.pane_of(agent_id)
        return self.server.pane_env(pane) if pane else OUTSIDE_PANES

    def pane_of(self, agent_id):
        if agent_id == self.director_id:
            return self.server.pane_id
        shown = self.human("--json", "--fleet-id", self.fleet_id, "agent", "show", "--agent-id", self.admin_id, "--id", agent_id)
        placement = shown.json().get("placement") if shown.code == 0 else None
        return placement and placement["tmux_pane_id"]

    def new_pane(self):
        out = self.server.tmux("new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(self.cwd)).stdout.strip()
        assert out.startswith("%"), out
        return out

    # --- agents ---------------------------------------------------------------------------

    def active(self):
        shown = self.human("--json", "fleet", "show", self.fleet_id).json()
        return {a["name"].lower(): a for a in shown["agents"] if a["status"] == "active"}

    def agent(self, literal: int) -> int:
        if literal == 1:
            return self.director_id
        if literal == 2:
            return self.admin_id
        name, kind = self.cast.get(literal, (f"agent{literal}", AGENT))
        return self.named(name, kind)

    def named(self, name: str, kind: str | None = None) -> int:
        found = self.active().get(name.lower())
        if found:
            return found["agent_id"]
        kind = kind or next((k for n, k in self.cast.values() if n.lower() == name.lower()), AGENT)
        if kind == MEMBER:
            made = self.as_director(
                "member",
                "create",
                "--agent-id",
                self.director_id,
                "--name",
                name,
                "--description",
                f"{name} (doc test)",
                "--quiet",
            )
            assert made.code == 0, made.err
            member = int(made.out)
            self.wait_state(member, "ready")
            return member
        made = self.human(
            "--fleet-id", self.fleet_id, "agent", "register", "--name", name, "--description", "doc test", "--quiet"
        )
        assert made.code == 0, made.err
        return int(made.out)

    def free_name(self, name: str) -> None:
        found = self.active().get(name.lower())
        if not found:
            return
        if found["kind"] == "member":
            gone = self.as_director(
                "member", "delete", "--agent-id", self.director_id, "--member-id", found["agent_id"], "--force"
            )
        else:
            gone = self.human("--fleet-id", self.fleet_id, "agent", "deregister", "--agent-id", found["agent_id"])
        assert gone.code == 0, gone.err

    def state(self, member: int) -> str | None:
        listed = self.as_director("--json", "member", "list", "--agent-id", self.director_id, "--activity").json()
        return next((m["activity"]["state"] for m in listed if m["agent_id"] == member), None)

    def wait_state(self, member: int, state: str) -> None:
        wait_for(lambda: self.state(member) == state, timeout=20, what=f"member {member} to be {state}")

    def message(self, to: int, sender: int | None = None) -> int:
        sender = sender or (self.director_id if to != self.director_id else self.admin_id)
        sent = self.human(
            "--fleet-id",
            self.fleet_id,
            "message",
            "send",
            "--agent-id",
            sender,
            "--to",
            to,
            "--text",
            "doc test message",
            "--quiet",
        )
        assert sent.code == 0, sent.err
        return int(sent.out)

    # --- one documented command ---------------------------------------------------------------

    def prepare(self, argv: list[str]):
        """The command with real ids, and the environment it runs in."""
        path = command_path(argv)
        words = list(argv)
        acting = None
        for i, word in enumerate(words[:-1]):
            value = words[i + 1]
            if word == "--fleet-id":
                words[i + 1] = str(self.fleet_id)
            elif word in ID_OPTIONS and value.isdigit():
                words[i + 1] = str(self.agent(int(value)))
                if word == "--agent-id":
                    acting = int(words[i + 1])
            elif word == "--to":
                words[i + 1] = self.recipient(value)
            elif word in ("--name",) and path in (("agent", "register"), ("member", "create")):
                self.free_name(value)
            elif word in ("--text-file", "--prompt-file") and value != "-":
                (self.cwd / value).write_text(f"Doc test {word[2:]}: please report DONE: when done.\n")
        for i, word in enumerate(words[:-1]):
            if word in TASK_OPTIONS and words[i + 1].isdigit():
                words[i + 1] = str(self.task_for(path, acting))
        if path in (("member", "diff"), ("member", "merge")):
            self.has_committed_work(int(words[words.index("--member-id") + 1]))
        if path in (("member", "send-input"), ("member", "exec"), ("member", "ping"), ("member", "capture")):
            member = int(words[words.index("--member-id") + 1])
            if "--choice" in words:
                self.make_ask(member)
            else:
                self.wait_state(member, "ready")
        if path == ("message", "broadcast"):
            name, kind = next(iter(self.cast.values()))
            self.named(name, kind)  # someone to broadcast to
        if path == ("message", "poll") and acting:
            self.message(acting)  # so `--wait` returns at once and the poll has something to show
        if path == ("backend", "check") or "standin-file" in words or any(w.endswith("/standin-file.toml") for w in words):
            file = self.backend_file()
            words = [str(file) if word.endswith("/standin-file.toml") else word for word in words]
        if path == ("fleet", "restore"):  # the Director's, in its own pane: every member's pane runs
            words[words.index("restore") + 1] = str(self.fleet_id)
            return words, self.director_env
        if path in (("fleet", "show"), ("fleet", "delete"), ("fleet", "export"), ("fleet", "usage")):
            index = words.index(path[1]) + 1
            words[index] = str(self.spare_fleet() if path[1] == "delete" else self.fleet_id)
            if "--fleet-id" in words:
                words[words.index("--fleet-id") + 1] = words[index]
            return words, OUTSIDE_PANES
        if path == ("agent", "deregister"):
            spare = self.named("spare-agent")
            words[words.index("--agent-id") + 1] = str(spare)
            return words, OUTSIDE_PANES
        if path == ("fleet", "create"):
            return words, self.server.pane_env(self.new_pane())
        if path[:1] == ("notify",):  # the human's notifiers: changed from the human's terminal only
            return words, OUTSIDE_PANES
        if acting is not None:
            return words, self.env_of(acting)
        return words, self.director_env

    def recipient(self, value: str) -> str:
        name, sep, number = value.rpartition("#")
        if sep and number.isdigit():
            real = self.agent(int(number)) if int(number) in (1, 2) else self.named(name)
            return f"{name}#{real}"
        if value.isdigit():
            return str(self.agent(int(value)))
        if value.lower() in ("administrator", "all"):
            return value
        self.named(value)
        return value

    def task_for(self, path, acting: int) -> int:
        if path == ("message", "cancel"):
            return self.message(self.director_id if acting != self.director_id else self.admin_id, sender=acting)
        return self.message(acting)

    def has_committed_work(self, member: int) -> None:
        """A worktree member whose branch holds a commit its base lacks (made in its pane)."""
        listed = self.as_director("--json", "member", "list", "--agent-id", self.director_id).json()
        worktree = next(m["worktree"] for m in listed if m["agent_id"] == member)
        assert worktree, f"member {member} has no worktree: create it with --worktree in the document"
        if worktree["ahead"]:
            return
        self.wait_state(member, "ready")
        before = git(Path(worktree["path"]), "rev-parse", "HEAD")
        name = f"work-{member}.txt"
        command = f"printf '%s\\n' done > {name} && git add {name} && git commit -q -m 'doc test work'"
        done = self.as_director("member", "exec", "--agent-id", self.director_id, "--member-id", member, command)
        assert done.code == 0, done.err
        wait_for(lambda: git(Path(worktree["path"]), "rev-parse", "HEAD") != before, timeout=30, what="the member's commit")

    def make_ask(self, member: int) -> None:
        self.wait_state(member, "ready")
        pane = self.pane_of(member)
        self.server.tmux("send-keys", "-t", pane, "-l", "ask: Overwrite config.toml? | yes | no")
        time.sleep(0.3)
        self.server.tmux("send-keys", "-t", pane, "Enter")
        self.wait_state(member, "asking")

    def backend_file(self) -> Path:
        """docs/backend-files.md's worked example, in the backends directory, as its reader would
        save it (with this machine's Python)."""
        doc = (REPO / "docs" / "backend-files.md").read_text(encoding="utf-8")
        example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
        python = next(line for line in example.splitlines() if line.startswith("command = "))
        path = Path(os.environ["HOME"]) / ".config" / "cafleet" / "backends" / "standin-file.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(example.replace(python, f"command = {json.dumps(sys.executable)}"), encoding="utf-8")
        return path

    def spare_fleet(self) -> int:
        created = self.run_in(self.server.pane_env(self.new_pane()), "fleet", "create", "--label", "spare", "--quiet")
        assert created.code == 0, created.err
        return int(created.out)

    def run_documented(self, command) -> tuple[int, str]:
        words, env = self.prepare(command.argv)
        path = command_path(words)
        if path == ("monitor", "start"):
            return self.run_monitor(words, env)
        if path == ("web",) and "--help" not in words:
            return self.run_web_server(words, env)
        if path in INTERACTIVE and "--version" not in words and "--help" not in words:
            return self.run_tui(words, env)
        stdin = "Doc test text from standard input.\n" if command.stdin_from_heredoc else None
        result = self.run_in(env, *words, input=stdin)
        return result.code, result.err + result.out

    def run_monitor(self, words, env) -> tuple[int, str]:
        proc = subprocess.Popen(
            cafleet_command() + words,
            env={**os.environ, **self.agents.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        started = proc.stdout.readline()  # "… monitor for fleet N started": its handlers are in place
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
        return proc.returncode, started + out

    def run_web_server(self, words, env) -> tuple[int, str]:
        """`cafleet web` until it prints its URL, then Ctrl+C (on a free port, not the documented one)."""
        if "--port" in words:
            words = [*words[: words.index("--port") + 1], "0", *words[words.index("--port") + 2 :]]
        proc = subprocess.Popen(
            cafleet_command() + words,
            env={**os.environ, **self.agents.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert proc.stdout is not None
        shown = []
        for line in proc.stdout:
            shown.append(line)
            if "http://127.0.0.1:" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        return proc.returncode, "".join(shown) + out

    def run_tui(self, words, env) -> tuple[int, str]:
        """The TUI in a window of its own (nothing else on its screen), until it shows the fleet."""
        variables = {
            **self.agents.env,
            **env,
            "CAFLEET_DATABASE_URL": os.environ["CAFLEET_DATABASE_URL"],
            "HOME": os.environ["HOME"],
            "XDG_DATA_HOME": os.environ["XDG_DATA_HOME"],
        }
        flags = [arg for k, v in variables.items() for arg in ("-e", f"{k}={v}")]
        pane = self.server.tmux(
            "new-window", "-d", "-P", "-F", "#{pane_id}", *flags, "--", *cafleet_command(), *words
        ).stdout.strip()
        self.server.tmux("set-option", "-p", "-t", pane, "remain-on-exit", "on")

        def screen():
            shown = self.server.tmux("capture-pane", "-p", "-t", pane).stdout
            return shown if re.search(r"\bdocs\b|Error", shown) else None

        try:
            shown = wait_for(screen, timeout=30, what="the TUI to show the fleet")
        except AssertionError:
            raise AssertionError(
                "the TUI never showed the fleet:\n" + self.server.tmux("capture-pane", "-p", "-t", pane).stdout
            ) from None
        finally:
            self.server.tmux("kill-pane", "-t", pane)
        return (1 if "Error" in shown else 0), shown


@pytest.mark.parametrize("doc", [doc for doc in documents() if doc not in WALKTHROUGHS])
def test_every_documented_command_behaves_as_documented(doc, cli, tmux_server, tmp_path):
    """Reference pages and skills, whose commands each agent runs in its own pane. The
    walk-through pages are followed literally instead (tests/test_doc_walkthroughs.py)."""
    lines = commands(doc)
    if not lines:
        assert doc in ("docs/concepts.md", "docs/agents.md", "docs/members.md"), (
            f"{doc} has no command lines; list it here if that is intended"
        )
        return
    world = World(cli, tmux_server, tmp_path, CASTS.get(doc, DEFAULT_CAST))
    failures = []
    for command in lines:
        code, output = world.run_documented(command)
        if code != command.expected_exit or "Traceback" in output:
            failures.append(
                f"{doc}:{command.line}: {command.text}\n  exit {code} (documented: {command.expected_exit})\n  {output.strip()[:600]}"
            )
    assert not failures, "\n".join(failures)


def test_the_runner_reports_a_command_that_does_not_behave_as_documented(cli, tmux_server, tmp_path):
    """Guard against a check that can never fail: `--to all` exits 2, whatever a document says."""
    from doc_commands import DocCommand

    world = World(cli, tmux_server, tmp_path, DEFAULT_CAST)
    argv = ["--fleet-id", "7", "message", "send", "--agent-id", "3", "--to", "all", "--text", "hi"]
    code, output = world.run_documented(DocCommand("synthetic", 1, " ".join(argv), argv, 0, False))
    assert code == 2 and "message broadcast" in output
