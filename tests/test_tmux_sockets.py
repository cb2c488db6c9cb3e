"""The check that fails a test leaving a tmux socket behind (`no_tmux_socket_left` in
conftest.py) can fail: a server stopped without removing its socket, and one still running,
are both found in this run's own TMUX_TMPDIR and cleared away."""

from __future__ import annotations

import os
import subprocess
import uuid

from tests.support import stop_tmux_server, tmux_socket_path
from tests.tmux_sockets import left_behind, remove, sockets_in


def start(name: str) -> None:
    subprocess.run(["tmux", "-L", name, "-f", "/dev/null", "new-session", "-d"], check=True, timeout=10)


def test_the_run_has_a_tmux_directory_of_its_own(tmux_socket_directory):
    assert os.environ["TMUX_TMPDIR"] != "/tmp" and tmux_socket_directory.parent == tmux_socket_path("x").parent.parent
    assert tmux_socket_directory.name == f"tmux-{os.getuid()}"


def test_a_killed_server_and_a_running_one_are_both_found_and_cleared(tmux_socket_directory):
    before = sockets_in(tmux_socket_directory)
    killed, running = (f"cafleet-test-check-{uuid.uuid4().hex[:8]}" for _ in range(2))
    start(killed)
    start(running)
    subprocess.run(["tmux", "-L", killed, "kill-server"], check=True, timeout=10)  # tmux keeps the file
    assert left_behind(tmux_socket_directory, before, settle=0) == {killed, running}
    remove(tmux_socket_directory, {killed, running})
    assert left_behind(tmux_socket_directory, before, settle=0) == set()
    assert subprocess.run(["tmux", "-L", running, "has-session"], capture_output=True, timeout=10).returncode != 0


def test_stop_tmux_server_leaves_nothing(tmux_socket_directory):
    before = sockets_in(tmux_socket_directory)
    name = f"cafleet-test-check-{uuid.uuid4().hex[:8]}"
    start(name)
    assert tmux_socket_path(name).exists()
    stop_tmux_server(name)
    assert left_behind(tmux_socket_directory, before, settle=0) == set()
