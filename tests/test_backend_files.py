"""Backend files: any other CLI as a member, described in TOML (docs/backend-files.md).

The stand-in agent, described by a backend file like any other CLI, passes `backend check`
against its real screen in a tmux server of its own, and carries a message end to end as a
member; bad files are refused naming the key and its line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cafleet.backends.backend_files import BackendFileError, load_backend_file
from cafleet.core.agent_state import AgentState
from tests.panes_support import PanesFleet, agents, create_panes_fleet, run, wait_for  # noqa: F401

STANDIN_FILE = f"""\
# The stand-in agent as any other CLI would be described.
name = "standin-file"
command = "{sys.executable}"
args = ["-m", "cafleet.demo.standin_agent", "--demo", "--name", "{{name}}"]
prompt = "positional"

[process]
python_module = "cafleet.demo.standin_agent"

[screen]
asking = '^\\? (?P<question>.+)$'
busy = '^\\(working'
limited = '^\\(limited: (?P<detail>[^·]*)· resets (?P<resets>[^)]*)\\)'
ready = '^> $'
draft = '^> (?P<draft>.+)$'

[keys]
submit = "Enter"
choice = "{{n}}"
exit = "/exit"
"""


@pytest.fixture
def backends_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "backends"
    directory.mkdir()
    monkeypatch.setenv("CAFLEET_BACKENDS_DIR", str(directory))
    (directory / "standin-file.toml").write_text(STANDIN_FILE)
    return directory


def test_the_file_reads_the_screen_bottom_up(backends_dir):
    spec = load_backend_file(backends_dir / "standin-file.toml")
    assert spec.read_screen(["stand-in agent ready", "> "]).state is AgentState.READY
    assert spec.read_screen(["> ", "» hi", "(working…)"]).state is AgentState.BUSY
    asking = spec.read_screen(["> ", "? Proceed?", "  1. yes"])
    assert (asking.state, asking.question) == (AgentState.ASKING, "Proceed?")
    assert spec.read_screen(["> half typed"]).draft == "half typed"
    limited = spec.read_screen(["(limited: usage limit · resets 11:32pm)"])
    assert (limited.state, limited.detail, limited.resets) == (AgentState.LIMITED, "usage limit", "11:32pm")
    assert spec.read_screen(["loading…"]).state is AgentState.STARTING
    assert spec.choice_keys(2) == ["2"]


@pytest.mark.parametrize(
    "change, says",
    [
        (("busy = '^\\(working'", "busy = '^(working'"), "`screen.busy` (line 12) is not a regular expression"),
        (('prompt = "positional"', 'prompt = "sideways"'), "`prompt` (line 5) must be positional, none, or option:--FLAG"),
        (("[keys]", '[keys]\nsubmitt = "Enter"'), "`keys.submitt` (line 18) is not a key cafleet knows"),
        (('name = "standin-file"', 'name = "claude"'), "`name` (line 2) is a built-in coding agent"),
        (("busy = '^\\(working'\n", ""), "`screen.busy` is missing"),
        (("[process]", "[process"), "is not valid TOML"),
        (
            ('prompt = "positional"', 'prompt = "positional"\npaste_shows_late = "yes"'),
            "`paste_shows_late` (line 6) must be true or false",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_key_and_its_line(tmp_path, change, says):
    path = tmp_path / "standin-file.toml"
    text = STANDIN_FILE.replace(*change)
    assert text != STANDIN_FILE
    path.write_text(text)
    with pytest.raises(BackendFileError) as refused:
        load_backend_file(path)
    assert says in str(refused.value)
    assert str(refused.value).startswith(f"backend file {path}")


def test_backend_check_passes_for_the_standin_file_against_its_real_screen(cli, backends_dir):
    checked = cli("backend", "check", backends_dir / "standin-file.toml", "--line", "take your time", "--timeout", "30")
    assert checked.code == 0, checked.out + checked.err
    lines = checked.out.splitlines()
    assert lines[0] == f"backend file {backends_dir / 'standin-file.toml'}: standin-file"
    for what in ("process", "ready", "busy", "exit"):
        assert any(line.startswith(f"  ok   {what}: ") for line in lines), checked.out
    assert lines[-1] == "Everything needed was seen."


def test_backend_check_says_what_is_missing(cli, backends_dir, tmp_path):
    wrong = tmp_path / "standin-file.toml"
    wrong.write_text(STANDIN_FILE.replace("busy = '^\\(working'", "busy = 'Thinking'"))
    checked = cli("backend", "check", wrong, "--line", "take your time", "--timeout", "8")
    assert checked.code == 1, checked.out + checked.err
    assert (
        "  FAIL busy: never seen within 8 s after typing 'take your time': check screen.busy against the screen below"
        in checked.out
    )
    assert "    | (working…)" in checked.out
    assert checked.out.splitlines()[-1] == "Something is missing: fix the file and check again."


def test_a_member_from_a_backend_file_carries_a_message_end_to_end(cli, tmux_server, agents, backends_dir):
    fleet = create_panes_fleet(cli, tmux_server, agents, "files")
    coder = _a_member_answers(cli, fleet, "--coding-agent", "standin-file")
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    assert listed[0]["placement"]["coding_agent"] == "standin-file"
    gone = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", coder)
    assert gone.code == 0, gone.err  # its exit line closed it


def _a_member_answers(cli, fleet, *agent: object) -> int:
    """A member started from a backend file (`agent`: the option naming it) that gets a message,
    typed once, acks it and answers; its id."""
    prompt = "You are {name} in the cafleet demo: fleet {fleet_id}, agent {agent_id}, director {director_id}."
    created = run(
        cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "coder", "--description", "codes",
        *agent, "--prompt", prompt, "--quiet",
    )  # fmt: skip
    assert created.code == 0, created.err
    coder = int(created.out)
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", coder, "--text", "status?")
    task = sent.json()["task_id"]

    def replies():
        polled = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, "--full").json()
        return [m for m in polled if m["from_agent_id"] == coder]

    (reply,) = wait_for(replies, timeout=30, what="the member's reply")
    assert reply["text"].startswith("On it")
    shown = run(cli, fleet, "--json", "message", "show", "--agent-id", fleet.director_id, "--task-id", task).json()
    assert (shown["state"], shown["notify_status"]) == ("completed", "delivered")  # typed once, acked
    return coder


def test_an_unknown_coding_agent_names_the_choices_and_the_file_to_write(cli, tmux_server, agents, backends_dir):
    fleet = create_panes_fleet(cli, tmux_server, agents, "unknown")
    refused = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "x", "--description", "y",
                  "--coding-agent", "aider")  # fmt: skip
    assert refused.code == 2, refused
    assert refused.err.startswith(
        "Error: coding agent 'aider' is not supported; use one of claude, codex, opencode, gemini, qwen, pi, standin-file,"
    )
    assert f"{backends_dir / 'aider.toml'}" in refused.err


def test_a_member_from_a_backend_file_named_by_its_path(cli, tmux_server, agents, tmp_path):
    elsewhere = tmp_path / "my-agents" / "standin-file.toml"  # not in the backends directory
    elsewhere.parent.mkdir()
    elsewhere.write_text(STANDIN_FILE)
    fleet = create_panes_fleet(cli, tmux_server, agents, "path")
    coder = _a_member_answers(cli, fleet, "--backend-file", elsewhere)
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    assert listed[0]["placement"]["coding_agent"] == str(elsewhere)  # the file it runs, wherever it is
    gone = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", coder)
    assert gone.code == 0, gone.err  # the file's exit line closed it


@pytest.mark.parametrize(
    "change, says",
    [
        (("busy = '^\\(working'", "busy = '^(working'"), "`screen.busy` (line 12) is not a regular expression"),
        (("[keys]", '[keys]\nsubmitt = "Enter"'), "`keys.submitt` (line 18) is not a key cafleet knows"),
    ],
)
def test_a_bad_backend_file_named_by_its_path_is_refused_naming_file_key_and_line(
    cli, tmux_server, agents, tmp_path, change, says
):
    path = tmp_path / "broken.toml"
    path.write_text(STANDIN_FILE.replace(*change))
    fleet = create_panes_fleet(cli, tmux_server, agents, "broken")
    refused = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "x", "--description", "y",
                  "--backend-file", path)  # fmt: skip
    assert refused.code == 2, refused
    assert refused.err.startswith(f"Error: backend file {path}: {says}")
    assert "Traceback" not in refused.err
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    assert listed == []  # nothing registered


def test_backend_file_and_coding_agent_are_one_choice(cli, tmux_server, agents, tmp_path):
    path = tmp_path / "standin-file.toml"
    path.write_text(STANDIN_FILE)
    fleet = create_panes_fleet(cli, tmux_server, agents, "both")
    base = ["member", "create", "--agent-id", fleet.director_id, "--name", "x", "--description", "y"]
    both = run(cli, fleet, *base, "--coding-agent", "codex", "--backend-file", path)
    assert both.code == 2 and "give --coding-agent or --backend-file, not both" in both.err
    as_name = run(cli, fleet, *base, "--coding-agent", str(path))
    assert as_name.code == 2 and f"name a backend file with --backend-file {path}" in as_name.err
    missing = run(cli, fleet, *base, "--backend-file", tmp_path / "nowhere.toml")
    assert missing.code == 2 and f"backend file {tmp_path / 'nowhere.toml'} cannot be read" in missing.err


def test_rows_says_how_small_a_pane_may_be(tmp_path):
    path = tmp_path / "standin-file.toml"
    path.write_text(STANDIN_FILE.replace('prompt = "positional"', 'prompt = "positional"\nrows = 4'))
    assert load_backend_file(path).min_rows == 4
    path.write_text(STANDIN_FILE)
    assert load_backend_file(path).min_rows == 10  # unless it says: room for most agents' box and status
    path.write_text(STANDIN_FILE.replace('prompt = "positional"', 'prompt = "positional"\nrows = "few"'))
    with pytest.raises(BackendFileError) as refused:
        load_backend_file(path)
    assert "`rows` (line 6) must be a whole number of rows from 2 to 200" in str(refused.value)


def test_unset_keeps_the_named_variables_from_the_agent(cli, tmux_server, agents, backends_dir):
    """Variables the file names in `unset` (CI=true turns some agents headless) never reach the
    agent, though its pane's environment has them; the others do."""
    path = backends_dir / "standin-file.toml"
    path.write_text(STANDIN_FILE.replace('prompt = "positional"', 'prompt = "positional"\nunset = ["CAFLEET_TEST_HEADLESS"]'))
    for name in ("CAFLEET_TEST_HEADLESS", "CAFLEET_TEST_KEPT"):
        assert tmux_server.tmux("set-environment", "-g", name, "true").returncode == 0
    fleet = create_panes_fleet(cli, tmux_server, agents, "unset")
    coder = _a_member_answers(cli, fleet, "--coding-agent", "standin-file")  # it started and works
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    pane = listed[0]["placement"]["tmux_pane_id"]
    pid = tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_pid}").stdout.strip()
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"CAFLEET_TEST_KEPT=true" in environment
    assert not any(entry.startswith(b"CAFLEET_TEST_HEADLESS=") for entry in environment)
    run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", coder)


def test_unset_must_name_variables(tmp_path):
    path = tmp_path / "standin-file.toml"
    path.write_text(STANDIN_FILE.replace('prompt = "positional"', 'prompt = "positional"\nunset = "CI"'))
    with pytest.raises(BackendFileError) as refused:
        load_backend_file(path)
    assert '`unset` (line 6) must be a list of environment variable names, e.g. ["CI"]' in str(refused.value)


def test_paste_shows_late_needs_a_draft_pattern(tmp_path):
    """The pasted text is seen in the box by `screen.draft`: without it Enter would never come."""
    path = tmp_path / "standin-file.toml"
    late = STANDIN_FILE.replace('prompt = "positional"', 'prompt = "positional"\npaste_shows_late = true')
    path.write_text(late)
    assert load_backend_file(path).paste_shows_late
    path.write_text(late.replace("draft = '^> (?P<draft>.+)$'\n", ""))
    with pytest.raises(BackendFileError) as refused:
        load_backend_file(path)
    assert "`paste_shows_late` (line 6) needs `screen.draft`" in str(refused.value)
