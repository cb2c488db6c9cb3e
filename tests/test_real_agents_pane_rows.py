"""Each real agent's screen reads `ready` in a pane of exactly `Backend.min_rows` rows, the
fewest cafleet ever gives a member (marker `realagents`; tests/realagents, loopback model).

With CAFLEET_PANE_ROWS_SEARCH=1 the test also shrinks the pane a row at a time and prints
the fewest rows the agent was still read as ready in: how each backend's `min_rows` was
measured (docs/agents.md)."""

from __future__ import annotations

import os
import subprocess

import pytest

from cafleet.backends import BACKENDS
from tests.realagents.agent_pane import context, reading, start, unhung, wait_for_state
from tests.realagents.harness import ROUTES, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import real_agents, under_test  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
SEARCH = os.environ.get("CAFLEET_PANE_ROWS_SEARCH") == "1"


def resize(field, pane, rows: int) -> None:
    tmux = ["tmux", "-L", field.socket_name]
    subprocess.run([*tmux, "resize-window", "-t", pane.pane_id, "-x", "120", "-y", str(rows)], check=True, timeout=10)
    shown = lambda: subprocess.run(  # noqa: E731
        [*tmux, "display-message", "-p", "-t", pane.pane_id, "#{pane_height}"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    wait_until(lambda: shown() == str(rows), 10, f"the pane to be {rows} rows high")


def started_in(field, backend: str, rows: int):
    """The agent started in a window made `rows` high before it draws (node takes a second to
    start): as a member starts in its pane, with no taller screen in its history."""
    spawn = context(field, backend, "You are worker: wait for cafleet notices.")

    def starting():
        pane = start(field, backend, spawn)
        resize(field, pane, rows)
        return pane

    return unhung(field, starting)


@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_an_agent_reads_ready_in_its_fewest_rows(real_agents, tmp_path, backend):
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet_command()[0])
        try:
            fewest = BACKENDS[backend].min_rows
            wait_for_state(field, started_in(field, backend, fewest), "ready")
            if SEARCH:
                rows = fewest
                while rows > 3:
                    pane = started_in(field, backend, rows - 1)
                    try:
                        wait_until(lambda pane=pane: reading(field, pane).state == "ready", 40, "ready")
                    except AssertionError:
                        break
                    rows -= 1
                print(f"\n{backend}: ready down to {rows} rows (min_rows {fewest})")
        finally:
            stop_field(field)
