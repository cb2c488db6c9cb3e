"""One real agent in a window of a Field's private tmux server, started from a backend's own
plan (the argv cafleet would run), typed into as the courier types, read by its screen reader."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from cafleet.backends import BACKENDS, Autonomy, SpawnContext
from cafleet.backends.base import SessionProbe, write_plan_files
from cafleet.core.agent_state import UNREADABLE_AFTER_SECONDS, AgentState, ScreenReading
from tests.realagents.harness import Field, agents_bin, pane_text, wait_until


class AgentPane(NamedTuple):
    backend: str
    pane_id: str
    started_at: float  # epoch seconds, taken just before tmux ran the agent


def context(field: Field, backend: str, prompt: str, **changes) -> SpawnContext:
    executable = str(agents_bin() / backend)  # type: ignore[operator]
    base = SpawnContext(
        executable=executable,
        name="worker",
        prompt=prompt,
        model=None,
        fleet_id=1,
        database_dir=field.workdir,
        autonomy=Autonomy(),
        environment=field.env,
    )
    return base._replace(**changes)


def start(field: Field, backend: str, spawn: SpawnContext, unset: tuple[str, ...] = (), **extra: str) -> AgentPane:
    """The agent in a new window; `unset` and `extra` change the environment it inherits."""
    plan = BACKENDS[backend].plan(spawn)
    write_plan_files(plan)  # as `member create` does (gemini's policy, pi's gate, qwen's defaults)
    settings = [item for name, value in {**plan.env, **extra}.items() for item in ("-e", f"{name}={value}")]
    without = shlex.join(["env", *(f"--unset={name}" for name in unset)]) + " " if unset else ""
    started_at = time.time()
    pane_id = subprocess.run(
        ["tmux", "-L", field.socket_name, "new-window", "-d", "-P", "-F", "#{pane_id}", "-c", str(field.workdir), *settings]
        + ["exec " + without + shlex.join(plan.launch_argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()
    return AgentPane(backend, pane_id, started_at)


def unhung(field: Field, starting: Callable[[], AgentPane]) -> AgentPane:
    """The agent `starting` starts, started once more if that start hung: its screen still
    blank a minute on (opencode's, now and then). The courier does the same for a member; here
    the test starts the agent itself, so it does what the courier would."""
    pane = starting()
    try:
        wait_until(lambda: pane_text(field, pane.pane_id).strip(), UNREADABLE_AFTER_SECONDS, f"{pane.backend} to draw")
    except AssertionError:
        print(f"{pane.backend}'s start hung (blank for {UNREADABLE_AFTER_SECONDS:g} s): starting it again")
        kill_agent(field, pane)
        pane = starting()
    return pane


def reading(field: Field, pane: AgentPane) -> ScreenReading:
    return BACKENDS[pane.backend].read_screen(pane_text(field, pane.pane_id).split("\n")[-60:])


def wait_for_state(field: Field, pane: AgentPane, *states: str, timeout: float = 90) -> ScreenReading:
    return wait_on_screen(field, pane, lambda: (r := reading(field, pane)).state in states and r, timeout, "/".join(states))


def wait_on_screen(field: Field, pane: AgentPane, predicate, timeout: float, what: str):
    """`wait_until`, failing with what the agent's screen showed."""
    try:
        return wait_until(predicate, timeout, f"{pane.backend}: {what}")
    except AssertionError as exc:
        screen = "\n".join(line.rstrip() for line in pane_text(field, pane.pane_id).split("\n") if line.strip())
        raise AssertionError(f"{exc}; it reads {reading(field, pane)}, its screen:\n{screen[-3000:]}") from None


def type_turn(field: Field, pane: AgentPane, text: str) -> None:
    """A bracketed paste, then Enter as its own call, as cafleet's keystrokes do."""
    buffer = f"t-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", field.socket_name]
    subprocess.run([*tmux, "set-buffer", "-b", buffer, "--", text], check=True, timeout=10)
    subprocess.run([*tmux, "paste-buffer", "-p", "-d", "-b", buffer, "-t", pane.pane_id], check=True, timeout=10)
    time.sleep(0.3)
    if BACKENDS[pane.backend].paste_shows_late:  # an Enter before the paste shows is lost
        wait_for_state(field, pane, "draft", timeout=5)
    subprocess.run([*tmux, "send-keys", "-t", pane.pane_id, "Enter"], check=True, timeout=10)
    # As the courier verifies: text still in the box a moment later gets one more Enter (a
    # gemini busy with its own start-up work drops one now and then).
    try:
        wait_on_screen(field, pane, lambda: reading(field, pane).state != AgentState.DRAFT, 1.0, "the text to leave the box")
    except AssertionError:
        subprocess.run([*tmux, "send-keys", "-t", pane.pane_id, "Enter"], check=True, timeout=10)


def kill_agent(field: Field, pane: AgentPane) -> None:
    """SIGKILL the pane's whole process tree (codex's node and its native child), as a crash or
    a reboot would end it, and wait for its window to close."""
    shown = subprocess.run(
        ["tmux", "-L", field.socket_name, "display-message", "-p", "-t", pane.pane_id, "#{pane_pid}"],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.strip()
    for pid in _tree(int(shown)):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: pane.pane_id not in _panes(field), 20, f"{pane.backend}'s window to close")


def probe(field: Field, pane: AgentPane, marker: str) -> SessionProbe:
    return SessionProbe(field.workdir, marker, pane.started_at, field.env, str(agents_bin() / pane.backend))  # type: ignore[operator]


def _panes(field: Field) -> list[str]:
    listed = subprocess.run(
        ["tmux", "-L", field.socket_name, "list-panes", "-a", "-F", "#{pane_id}"], capture_output=True, text=True, timeout=10
    )
    return listed.stdout.split()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(proc.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found
