"""`fleet create` and `doctor` against a real, private tmux server (never the user's)."""

import json
import os
import shlex

import pytest

from cafleet.store.models import Agent, Fleet, Placement
from tests.support import cafleet_command
from tests.waiting import wait_for


def test_fleet_create_places_the_director_in_the_calling_pane(tmux_server, cli, db_path):
    result = cli("fleet", "create", "--label", "refactor", "--coding-agent", "opencode", env=tmux_server.pane_env())
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    fleet_id, director_id = int(lines[0]), int(lines[1])
    assert f"in pane {tmux_server.pane_id} (session main" in lines[2]

    from cafleet.store.db import open_database

    open_database()
    placement = Placement.get(Placement.agent == director_id)
    assert placement.tmux_pane_id == tmux_server.pane_id
    assert placement.tmux_socket == tmux_server.socket_path
    assert placement.tmux_server_pid == tmux_server.server_pid
    assert placement.tmux_session == "main" and placement.tmux_window_id.startswith("@")
    assert placement.coding_agent == "opencode"
    assert placement.host == os.uname().nodename  # no CAFLEET_HOST_ID: this machine's hostname
    assert Fleet.get_by_id(fleet_id).label == "refactor"


def test_fleet_create_json_and_quiet(tmux_server, cli):
    doc = cli("--json", "fleet", "create", env=tmux_server.pane_env()).json()
    assert set(doc) >= {"fleet_id", "director", "administrator_agent_id"}
    assert doc["director"]["kind"] == "director"
    assert doc["director"]["placement"]["tmux_pane_id"] == tmux_server.pane_id
    quiet = cli("fleet", "create", "--quiet", "--force", env=tmux_server.pane_env())
    assert quiet.out == f"{doc['fleet_id'] + 1}\n"


def test_a_pane_that_directs_a_fleet_needs_force_for_another(tmux_server, cli, db_path):
    first = cli("fleet", "create", "--quiet", env=tmux_server.pane_env()).out.strip()
    again = cli("fleet", "create", "--label", "second", env=tmux_server.pane_env())
    assert again.code == 1
    assert f"is already the Director of fleet {first}" in again.err and "--force" in again.err
    assert cli("fleet", "list", "--json").json()[0]["fleet_id"] == int(first)
    assert len(cli("fleet", "list", "--json").json()) == 1
    forced = cli("fleet", "create", "--quiet", "--force", env=tmux_server.pane_env())
    assert forced.code == 0 and forced.out.strip() != first
    # The pane now directs two fleets: whoami asks which one.
    both = cli("whoami", env=tmux_server.pane_env())
    assert both.code == 1 and "directs fleets" in both.err
    mine = cli("--fleet-id", first, "--json", "whoami", env=tmux_server.pane_env()).json()
    assert (mine["fleet_id"], mine["kind"], mine["is_director"]) == (int(first), "director", True)


def test_fleet_create_run_inside_a_pane(tmux_server, tmp_path):
    """The command typed into a real pane: it must find its own pane from tmux."""
    out = tmp_path / "created.txt"
    window = tmux_server.tmux("new-window", "-P", "-F", "#{pane_id}", "-t", "main").stdout.strip()
    command = " ".join(shlex.quote(p) for p in cafleet_command()) + f" --json fleet create --label typed > {out} 2>&1"
    tmux_server.tmux("send-keys", "-t", window, "-l", "--", command)
    tmux_server.tmux("send-keys", "-t", window, "Enter")
    wait_for(lambda: out.exists() and out.read_text().strip(), 15, "fleet create to write its output")
    doc = json.loads(out.read_text())
    assert doc["director"]["placement"]["tmux_pane_id"] == window
    assert doc["label"] == "typed"


def test_fleet_create_outside_tmux_writes_nothing(cli, db_path):
    result = cli("fleet", "create")
    assert result.code == 1
    assert result.err.startswith("Error: `cafleet fleet create` must run inside a tmux pane")
    assert "Traceback" not in result.err
    assert not db_path.exists()


def test_fleet_create_with_a_dead_pane_is_refused(tmux_server, cli, db_path):
    result = cli("fleet", "create", env=tmux_server.pane_env("%999"))
    assert result.code == 1 and "tmux could not describe the calling pane %999" in result.err
    assert not db_path.exists() or _agent_count() == 0


def _agent_count():
    from cafleet.store.db import open_database

    open_database()
    return Agent.select().count()


@pytest.mark.sqlite_only  # the server's report: tests/test_postgres_ops.py
def test_doctor_reports_pane_database_and_backends(tmux_server, cli, db_path):
    before = cli("--json", "doctor", env=tmux_server.pane_env()).json()
    assert before["tmux"]["pane_id"] == tmux_server.pane_id
    assert before["tmux"]["socket_path"] == tmux_server.socket_path
    assert before["database"]["path"] == str(db_path) and before["database"]["exists"] is False
    assert any("does not exist yet" in p for p in before["problems"])
    assert set(before["backends"]) == {"claude", "codex", "opencode", "gemini", "qwen", "pi"}

    cli("db", "init")
    text = cli("doctor", env=tmux_server.pane_env()).out
    assert f"tmux: pane {tmux_server.pane_id}" in text
    from cafleet.store.migrations import LATEST_VERSION

    assert f"database: {db_path} schema {LATEST_VERSION} (this cafleet: {LATEST_VERSION})" in text

    outside = cli("doctor")
    assert outside.code == 0 and "tmux: not inside a tmux pane" in outside.out
