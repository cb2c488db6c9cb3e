"""A reboot of a Field's fleet, and `fleet restore` after it: every process of the fleet
SIGKILLed at once (the tmux server, the agents' process trees, the courier, anything else run
under the Field's HOME), then a new tmux server on the same socket whose first pane runs the
Director's agent again, from which `fleet restore` is run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.panes_support import couriers_of
from tests.realagents.agent_pane import _tree
from tests.realagents.harness import Field, wait_until


def fleet_processes(field: Field) -> set[int]:
    """The tmux server and everything under it, the courier, and every other process of the
    Field's HOME (an agent's helper that left its pane's tree)."""
    pids = set(_tree(field.server_pid)) | set(couriers_of())
    marker = f"HOME={field.home}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                pids.add(int(proc.name))
        except OSError:
            continue
    pids.discard(os.getpid())
    return pids


def kill_fleet(field: Field) -> None:
    """What a reboot does: every process of the fleet dies at once, nobody cleaning up (the
    socket file stays behind)."""
    for pid in fleet_processes(field):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_until(lambda: not _server_answers(field), 20, "the tmux server to be gone")
    wait_until(lambda: not _alive(fleet_processes(field)), 20, "every process of the fleet to be gone")


def new_server(field: Field, director_log: Path) -> Field:
    """A new tmux server on the Field's socket, started from the same environment (as the user
    would after a reboot); its first pane runs the Director's agent again, logging to
    `director_log`. The Field of that server: `env` is the Director's new pane's."""
    env = {k: v for k, v in field.env.items() if k not in ("TMUX", "TMUX_PANE")}
    director = f"exec {sys.executable} -m cafleet.demo.standin_agent --name director --log {director_log}"
    base = ["tmux", "-L", field.socket_name, "-f", "/dev/null"]
    subprocess.run(
        [*base, "new-session", "-d", "-s", "main", "-x", "200", "-y", "50", "-c", str(field.workdir), director],
        env=env,
        check=True,
        timeout=10,
    )
    shown = subprocess.run(
        [*base, "display-message", "-p", "-t", "main", "#{socket_path}\t#{pid}\t#{pane_id}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    socket, pid, pane = shown.stdout.strip().split("\t")
    assert socket == field.socket_path, (socket, field.socket_path)
    env.update(TMUX=f"{socket},{pid},0", TMUX_PANE=pane)
    return field._replace(server_pid=int(pid), director_pane=pane, env=env, director_log=director_log)


def restore(cafleet: str, field: Field, fleet: int, *options: str) -> subprocess.CompletedProcess:
    """`cafleet fleet restore FLEET` as the Director's agent runs it in its (new) pane."""
    return subprocess.run(
        [cafleet, "--fleet-id", str(fleet), "fleet", "restore", str(fleet), *options],
        env=field.env,
        cwd=field.workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _server_answers(field: Field) -> bool:
    listed = subprocess.run(["tmux", "-L", field.socket_name, "list-sessions"], capture_output=True, timeout=10)
    return listed.returncode == 0


def _alive(pids: set[int]) -> bool:
    """Whether any of `pids` still runs (a zombie, dead but not yet reaped, does not)."""
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            return True
    return False
