"""`cafleet backend check FILE`: try a backend file against its real agent.

The agent is started as a member would be, with a first prompt, in a tmux server of its own
(never the user's), and its screen is read with the file's patterns while it starts, while it
takes one typed line, and while it quits. Each finding says which line of the screen a
pattern matched, or that it never matched, with the screen as it was.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

from cafleet.backends import Autonomy, SpawnContext
from cafleet.backends.backend_files import FileBackend, load_backend_file
from cafleet.core.agent_state import AgentState, Observation
from cafleet.core.config import local_directory
from cafleet.core.errors import Refused
from cafleet.panes.keystrokes import guard_for
from cafleet.panes.processes import foreground_program, program_name
from cafleet.panes.tmux import Tmux, TmuxError

POLL_SECONDS = 0.2
SCREEN_LINES = 60


class Finding(NamedTuple):
    what: str  # process, ready, busy, exit …
    ok: bool | None  # None: not seen, which is no failure (an agent asked nothing)
    detail: str


class CheckReport(NamedTuple):
    backend: FileBackend
    executable: str
    version: str
    findings: list[Finding]
    screen: list[str]  # the last screen seen, for a pattern that never matched

    @property
    def passed(self) -> bool:
        return all(finding.ok is not False for finding in self.findings)


def check_backend_file(path: Path, prompt: str, line: str, timeout: float) -> CheckReport:
    spec = load_backend_file(path)
    executable = shutil.which(spec.binary)
    if executable is None:
        raise Refused(f"{spec.binary!r} (the backend file's `command`) is not on PATH; install it or give its absolute path")
    version = spec.version(executable)
    context = SpawnContext(
        executable=executable,
        name="backend-check",
        prompt=prompt,
        model=None,
        fleet_id=0,
        database_dir=local_directory(),
        autonomy=Autonomy(),
        environment=os.environ,
    )
    plan = spec.plan(context)
    socket = f"cafleet-check-{secrets.token_hex(5)}"
    checker = _Checker(spec, socket, plan.launch_argv, plan.env, timeout)
    try:
        findings = checker.run(line)
    finally:
        subprocess.run(["tmux", "-L", socket, "kill-server"], capture_output=True, timeout=10)
        Path(checker.tmux.socket_path).unlink(missing_ok=True)  # tmux leaves it behind
    shown = version.describe().removeprefix(f"{spec.name} ") if version.installed else "version unknown"
    return CheckReport(spec, executable, shown, findings, checker.screen)


class _Checker:
    def __init__(self, spec: FileBackend, socket: str, argv: list[str], env: dict[str, str], timeout: float):
        self.spec, self.timeout = spec, timeout
        base = ["tmux", "-L", socket, "-f", "/dev/null"]
        environment = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        started = subprocess.run(
            [*base, "new-session", "-d", "-x", "120", "-y", "40", "-P", "-F", "#{socket_path}\t#{pane_id}", *environment]
            + [shlex.join(argv)],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if started.returncode != 0:
            raise Refused(f"tmux could not start the agent: {started.stderr.strip() or 'no reason given'}")
        socket_path, self.pane_id = started.stdout.strip().split("\t")
        self.tmux = Tmux(socket_path)
        self.screen: list[str] = []

    def run(self, line: str) -> list[Finding]:
        findings = []
        seen, at = self._wait_for({AgentState.READY}, "starting")
        findings.append(self._process_finding())
        findings.append(self._finding(AgentState.READY, seen, at, "after it started with its first prompt"))
        if seen is None:
            return findings
        for state in (AgentState.ASKING, AgentState.DRAFT):
            if self.spec.patterns.get(state) is None:
                findings.append(Finding(str(state), None, "no pattern: such a screen reads as starting (nothing typed)"))
        typed = self._type(line, self.spec.submit_key)
        if not typed:
            findings.append(Finding("typing", False, "the pane changed before the line could be typed"))
            return findings
        busy, busy_at = self._wait_for({AgentState.BUSY}, "typed")
        findings.append(self._finding(AgentState.BUSY, busy, busy_at, f"after typing {line!r}"))
        again, again_at = self._wait_for({AgentState.READY}, "answering")
        findings.append(self._finding(AgentState.READY, again, again_at, "again once the turn ended"))
        if again is not None:
            findings.append(self._exit())
        return findings

    def _observe(self) -> tuple[Observation, str | None]:
        pane = self.tmux.pane(self.pane_id)
        if pane is None or pane.dead:
            return Observation(AgentState.LOST, "the pane closed"), None
        program = foreground_program(pane.pid)
        if program is None or not self.spec.runs_agent(program):
            name = program_name(program.argv) if program else pane.current_command
            return Observation(AgentState.EXITED, f"{name} runs in the pane", command=pane.current_command), None
        try:
            self.screen = _trimmed(self.tmux.capture(self.pane_id, SCREEN_LINES))
        except TmuxError:
            return Observation(AgentState.LOST, "the pane closed"), None
        reading = self.spec.read_screen(self.screen)
        return Observation(reading.state, reading.detail, reading.question, reading.draft, pane.current_command), _matched(
            self.spec, self.screen, reading.state
        )

    def _wait_for(self, states: set[AgentState], phase: str) -> tuple[str | None, float]:
        """The screen line that matched one of `states` and when, or (None, the time waited)."""
        started = time.monotonic()
        while time.monotonic() - started < self.timeout:
            observation, line = self._observe()
            if observation.state in states:
                return line or "", time.monotonic() - started
            if observation.state in (AgentState.LOST, AgentState.EXITED) and phase != "starting":
                return None, time.monotonic() - started
            time.sleep(POLL_SECONDS)
        return None, self.timeout

    def _process_finding(self) -> Finding:
        pane = self.tmux.pane(self.pane_id)
        program = foreground_program(pane.pid) if pane is not None and not pane.dead else None
        if program is None:
            return Finding("process", False, "no program runs in the pane (the agent exited?)")
        name = program_name(program.argv)
        if self.spec.runs_agent(program):
            shown = shlex.join(program.argv[:4]) + (" …" if len(program.argv) > 4 else "")
            return Finding("process", True, f"the pane runs {shown}: the agent")
        return Finding(
            "process", False, f"{name} runs in the pane, which [process] does not name: {shlex.join(program.argv)[:200]}"
        )

    def _finding(self, state: AgentState, line: str | None, seconds: float, when: str) -> Finding:
        if line is None:
            return Finding(
                str(state), False, f"never seen within {seconds:.0f} s {when}: check screen.{state} against the screen below"
            )
        return Finding(str(state), True, f"seen {seconds:.1f} s {when}, on the line {line.strip()!r}")

    def _type(self, line: str, submit: str) -> bool:
        observation, _ = self._observe()
        guard = guard_for(observation)
        if observation.state is not AgentState.READY or guard is None:
            return False
        return self.tmux.paste(self.pane_id, line, guard) and self.tmux.press_key(self.pane_id, guard, submit)

    def _exit(self) -> Finding:
        exit_line = self.spec.exit_line
        if not self._type(exit_line, self.spec.submit_key):
            return Finding("exit", False, f"{exit_line!r} could not be typed: the agent was not ready")
        started = time.monotonic()
        while time.monotonic() - started < self.timeout:
            pane = self.tmux.pane(self.pane_id)
            if pane is None or pane.dead:
                return Finding("exit", True, f"{exit_line!r} closed the agent in {time.monotonic() - started:.1f} s")
            time.sleep(POLL_SECONDS)
        return Finding("exit", False, f"{exit_line!r} did not close the agent within {self.timeout:.0f} s: check keys.exit")


def _matched(spec: FileBackend, screen: list[str], state: AgentState) -> str | None:
    pattern = spec.patterns.get(state)
    if pattern is None:
        return None
    return next((line for line in reversed(screen) if line.strip() and pattern.search(line)), None)


def _trimmed(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines
