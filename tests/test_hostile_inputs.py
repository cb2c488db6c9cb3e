"""Hostile or huge input is refused with one clear `Error:` line, or handled; never a crash.

Deeply nested `--skills`, broadcasts to thousands of agents, FIFOs and other special files as
`--text-file`/`--prompt-file`, identity errors across fleets, and look-alike agent names. Each
refusal runs the real console script and checks the exact error line, the exit code, that
nothing was printed to stdout or traced, and that the database is exactly as it was.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading

import pytest

from tests.support import FAKE_PANE, OTHER_PANE, database_dump

F = "1"  # the `fleet` fixture's fleet: Director 1, Administrator 2, alice 3, bob 4
DIRECTOR_PANE = {"TMUX": f"{FAKE_PANE.tmux_socket},{FAKE_PANE.tmux_server_pid},0", "TMUX_PANE": FAKE_PANE.tmux_pane_id}


def refused(cli, args, error: str, code: int = 2, env: dict | None = None, timeout: float = 30) -> None:
    """`args` exits with `code`, prints exactly the line `error` and nothing else, and changes
    nothing in the database."""
    before = database_dump()
    result = cli(*args, env=env, timeout=timeout)
    assert (result.code, result.out, result.err) == (code, "", error + "\n"), result
    assert database_dump() == before


def register(*extra: str) -> list[str]:
    return ["--fleet-id", F, "agent", "register", "--no-pane", *extra]


# -- --skills: depth and size ------------------------------------------------------------------

EXAMPLE = 'flatten it: pass e.g. \'["review", "tests"]\''


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    "skills, shown",
    [
        (nested(9), nested(9)),
        ('{"a": ' * 9 + "1" + "}" * 9, '{"a": ' * 9 + "1}}}}}…"),  # shown cut to 60 characters
        # ~1000 levels used to be accepted and crashed the TUI later; the parser is never reached.
        (nested(980), "[" * 60 + "…"),
        ("[" * 5000, "[" * 60 + "…"),
    ],
)
def test_skills_nested_deeper_than_the_limit_are_refused(cli, fleet, skills, shown):
    refused(
        cli,
        register("--name", "carol", "--description", "d", "--skills", skills),
        f"Error: --skills '{shown}' is nested more than 8 levels deep (the limit is 8); {EXAMPLE}",
    )


@pytest.mark.parametrize(
    "skills, stored",
    [
        (nested(8), nested(8)),
        # Brackets inside strings are text, escaped quotes included.
        ('["[[[[[[[[[[", "\\"[[[[[[[[[[[", "\\\\"]', '["[[[[[[[[[[","\\"[[[[[[[[[[[","\\\\"]'),
        ('{"langs": {"python": ["pytest", "mypy"]}}', '{"langs":{"python":["pytest","mypy"]}}'),
    ],
)
def test_skills_within_the_limits_are_stored(cli, fleet, skills, stored):
    result = cli(*register("--name", "carol", "--description", "d", "--skills", skills, "--quiet"))
    assert result.code == 0 and result.err == "", result
    from cafleet.store.models import Agent

    assert Agent.get_by_id(int(result.out)).skills == stored


def test_skills_over_the_size_limit_are_refused(cli, fleet):
    refused(
        cli,
        register("--name", "carol", "--description", "d", "--skills", '["' + "x" * 9_998 + '"]'),
        "Error: --skills is 10,002 characters, over the 10,000 limit; describe the skills briefly",
    )


async def test_the_agent_detail_shows_skills_already_stored_too_deep_or_too_long(db):
    """Rows written before the limits existed: the profile shows a bounded summary."""
    from textual.widgets import OptionList, Static

    from cafleet.broker.agents import register_agent
    from cafleet.screens.agent_detail import AgentDetailScreen
    from cafleet.screens.app import build_app
    from cafleet.store.models import Agent
    from tests.tui_support import build_story, settle

    story = build_story()
    deep = register_agent(story.fleet_id, "deep", "nested ~1000 levels")
    wide = register_agent(story.fleet_id, "wide", "10,000 skills")
    Agent.update(skills=nested(980)).where(Agent.id == deep.id).execute()
    Agent.update(skills="[" + ",".join(f'"skill-{i}"' for i in range(10_000)) + "]").where(Agent.id == wide.id).execute()

    app = build_app(story.fleet_id, watch_changes=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for agent_id, expected in ((deep.id, "skills: [[[…]]]"), (wide.id, "skills: skill-0, skill-1, skill-2")):
            await settle(pilot)
            roster = app.screen.query_one("#roster", OptionList)
            roster.focus()
            roster.highlighted = roster.get_option_index(f"agent-{agent_id}")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, AgentDetailScreen) and app.screen.agent_id == agent_id
            profile = str(app.screen.query_one("#agent-profile", Static).content)
            (line,) = [line for line in profile.splitlines() if line.startswith("skills: ")]
            assert line.startswith(expected) and len(line) <= len("skills: ") + 121, line
            await pilot.press("escape")


# -- broadcasts of any size ---------------------------------------------------------------------


def add_agents(fleet_id: int, count: int) -> list[int]:
    """`count` active pane-less agents, inserted in bulk (registering 3,000 one by one would
    cost minutes of CLI calls)."""
    from cafleet.core.domain import AgentKind, AgentStatus
    from cafleet.core.timestamps import utc_now
    from cafleet.store.models import Agent, database

    now = utc_now()
    rows = [
        dict(
            fleet=fleet_id,
            name=f"helper-{i}",
            description="d",
            kind=AgentKind.AGENT,
            status=AgentStatus.ACTIVE,
            registered_at=now,
        )
        for i in range(count)
    ]
    with database.atomic():
        for start in range(0, count, 100):
            Agent.insert_many(rows[start : start + 100]).execute()
    return [a.id for a in Agent.select(Agent.id).where(Agent.name.startswith("helper-"))]


def limit_variables(limit: int) -> bool:
    """Lower SQLite's bound-variable limit on this thread's connection; False on PostgreSQL."""
    from cafleet.store.db import is_postgres
    from cafleet.store.models import database

    if is_postgres():
        return False
    database.connection().setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, limit)
    return True


def deliveries_of(summary_id: int) -> list[tuple]:
    from cafleet.store.models import Task

    return list(
        Task.select(Task.recipient, Task.notify_status)
        .where((Task.origin == summary_id) & (Task.kind == "broadcast"))
        .order_by(Task.recipient)
        .tuples()
    )


@pytest.mark.sqlite_only
def test_a_broadcast_to_more_agents_than_999_variables_allow_in_one_insert(fleet):
    """84 recipients fill one INSERT under a 999-variable limit; 200 need three."""
    from cafleet.broker.messages import broadcast_message

    helpers = add_agents(fleet.fleet_id, 200)
    assert limit_variables(999)
    sent = broadcast_message(fleet.fleet_id, fleet.alice_id, "standup in 5")
    recipients = sorted([fleet.director_id, fleet.bob_id, *helpers])
    # The Director has a pane (its notice waits for the courier); the others have none.
    assert deliveries_of(sent.summary.id) == [
        (r, "pending" if r == fleet.director_id else "skipped:no-placement") for r in recipients
    ]
    assert [d.to_agent_id for d in sent.deliveries] == recipients


def test_a_broadcast_to_3000_agents(fleet):
    """3,000 recipients x 12 columns is over SQLite's default limit of 32,766 variables."""
    from cafleet.broker.messages import broadcast_message

    helpers = add_agents(fleet.fleet_id, 3000)
    limit_variables(32_766)
    sent = broadcast_message(fleet.fleet_id, fleet.alice_id, "all hands")
    assert len(deliveries_of(sent.summary.id)) == 3002
    assert {d.to_agent_id for d in sent.deliveries} == {fleet.director_id, fleet.bob_id, *helpers}


def test_a_broadcast_to_3000_agents_from_the_cli(cli, fleet):
    helpers = add_agents(fleet.fleet_id, 3000)
    result = cli("--fleet-id", F, "--json", "message", "broadcast", "--agent-id", fleet.alice_id, "--text", "all hands")
    assert result.code == 0 and result.err == "", result.err
    summary = result.json()
    assert len(summary["deliveries"]) == 3002
    assert len(deliveries_of(summary["task_id"])) == 3002 and len(helpers) == 3000


def test_a_broadcast_whose_later_batch_fails_writes_nothing(fleet, monkeypatch):
    """Batches share one transaction: a failure in the third leaves no summary and no delivery."""
    from cafleet.broker import messages
    from cafleet.store.models import Task

    add_agents(fleet.fleet_id, 200)
    if not limit_variables(999):
        monkeypatch.setattr(messages, "_rows_per_statement", lambda: 80)
    calls = []
    real = messages.placements_of

    def failing_third(ids):
        calls.append(len(ids))
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return real(ids)

    monkeypatch.setattr(messages, "placements_of", failing_third)
    before = database_dump()
    with pytest.raises(RuntimeError, match="disk on fire"):
        messages.broadcast_message(fleet.fleet_id, fleet.alice_id, "all hands")
    assert len(calls) == 3 and Task.select().count() == 0
    assert database_dump() == before


# -- special files as --text-file / --prompt-file -------------------------------------------------


def special_files(tmp_path) -> dict[str, tuple[str, str]]:
    """Each kind of non-regular file, and how the error names it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    unix = tmp_path / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(unix))
    return {
        "fifo": (str(fifo), "a FIFO (named pipe)"),
        "directory": (str(tmp_path), "a directory"),
        "character device": ("/dev/zero", "a character device"),
        "socket": (str(unix), "a socket"),
    }


@pytest.mark.parametrize("kind", ["fifo", "directory", "character device", "socket"])
@pytest.mark.parametrize(
    "command, option",
    [
        (["message", "send", "--agent-id", "3", "--to", "bob", "--text-file"], "--text-file"),
        (["message", "broadcast", "--agent-id", "3", "--text-file"], "--text-file"),
        (["member", "create", "--agent-id", "1", "--name", "m1", "--description", "d", "--prompt-file"], "--prompt-file"),
    ],
)
def test_a_file_option_refuses_anything_but_a_regular_file(cli, fleet, tmp_path, kind, command, option):
    path, words = special_files(tmp_path)[kind]
    # A FIFO nobody writes to would block open() forever: the timeout makes a hang a failure.
    refused(
        cli,
        ["--fleet-id", F, *command, path],
        f"Error: {option} '{path}' is {words}, not a regular file; pass a regular file, or '-' and pipe "
        "the text to standard input",
        timeout=20,
    )


def test_a_fifo_swapped_in_after_the_check_does_not_block_the_open(fleet, tmp_path, monkeypatch):
    """Between stat() and open() the path may become a FIFO: O_NONBLOCK opens it at once, and
    the second check refuses it."""
    from cafleet.cli import params
    from cafleet.core.errors import InvalidInput

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    regular = os.stat(__file__)
    monkeypatch.setattr(params.os, "stat", lambda path: regular)  # the check before opening saw a file
    finished = threading.Event()
    errors = []

    def read():
        try:
            params.read_text_file(str(fifo), "--text-file")
        except InvalidInput as exc:
            errors.append(exc.message)
        finished.set()

    threading.Thread(target=read, daemon=True).start()
    assert finished.wait(20), "reading a FIFO blocked"
    assert errors == [
        f"--text-file '{fifo}' is a FIFO (named pipe), not a regular file; pass a regular file, "
        "or '-' and pipe the text to standard input"
    ]


def test_standard_input_and_regular_files_still_work(cli, fleet, tmp_path):
    body = tmp_path / "body.md"
    body.write_text("- from a file\n")
    sent = cli("--fleet-id", F, "--json", "message", "send", "--agent-id", "3", "--to", "bob", "--text-file", body, "--full")
    assert sent.code == 0 and sent.json()["text"] == "- from a file\n", sent
    piped = cli("--fleet-id", F, "--json", "message", "send", "--agent-id", "3", "--to", "bob", "--text-file", "-", input="piped")
    assert piped.code == 0 and piped.json()["text"] == "piped", piped


def test_a_text_file_over_one_mebibyte_is_refused_after_reading_at_most_that(cli, fleet, tmp_path):
    big = tmp_path / "big.md"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    refused(
        cli,
        ["--fleet-id", F, "message", "send", "--agent-id", "3", "--to", "bob", "--text-file", big],
        f"Error: --text-file '{big}' is over the 1,048,576-byte message limit; send a shorter summary and "
        "point to the file instead",
    )


# -- identity errors name only the caller's fleets -----------------------------------------------


@pytest.fixture
def two_fleets(fleet):
    """The `fleet` fixture (its Director in FAKE_PANE) and a second fleet directed from
    OTHER_PANE, with an agent whose name and description are that fleet's business."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet

    other = create_fleet(OTHER_PANE, label="secret project")
    spy = register_agent(other.fleet.id, "quiet-spy", "knows the launch date")
    return fleet, other.fleet.id, other.director.id, spy.id


def test_an_identity_refusal_never_names_another_fleets_agent(cli, two_fleets):
    fleet, other_fleet, other_director, spy = two_fleets
    pane = f"pane {FAKE_PANE.tmux_pane_id} of the tmux server at {FAKE_PANE.tmux_socket}"
    for fleet_flag in (F, str(other_fleet)):
        for impostor in (spy, other_director, 999):
            refused(
                cli,
                ["--fleet-id", fleet_flag, "message", "send", "--agent-id", impostor, "--to", "bob", "--text", "hi"],
                f"Error: --agent-id {impostor} is not you: this {pane} is director#{fleet.director_id} (Director of "
                f"fleet {fleet.fleet_id}); act as yourself with --agent-id {fleet.director_id} (`cafleet --fleet-id "
                f"{fleet.fleet_id} whoami` shows it). Only the human, outside every agent's pane, may act as another agent",
                code=1,
                env=DIRECTOR_PANE,
            )
    # An agent of the caller's own fleet is still named: that helps, and leaks nothing.
    refused(
        cli,
        ["--fleet-id", F, "message", "poll", "--agent-id", fleet.alice_id],
        f"Error: --agent-id {fleet.alice_id} (alice#{fleet.alice_id}, agent of fleet {fleet.fleet_id}) is not you: "
        f"this {pane} is director#{fleet.director_id} (Director of fleet {fleet.fleet_id}); act as yourself with "
        f"--agent-id {fleet.director_id} (`cafleet --fleet-id {fleet.fleet_id} whoami` shows it). Only the human, "
        "outside every agent's pane, may act as another agent",
        code=1,
        env=DIRECTOR_PANE,
    )


# -- look-alike names ----------------------------------------------------------------------------


def test_skeletons_fold_the_look_alike_characters_and_case():
    from cafleet.core.names import skeleton

    for a, b in [
        ("coder-l", "coder-I"),
        ("rn-x", "m-x"),
        ("agent-0", "agent-O"),
        ("bot-1", "bot-l"),
        ("bot-1", "BOT-I"),
        ("vv-a", "w-a"),
        ("rnrn", "mm"),
        ("vvv", "wv"),
        ("vvv", "vw"),
        ("Coder", "coder"),
    ]:
        assert skeleton(a) == skeleton(b), (a, b)
    for a, b in [("coder-i", "coder-l"), ("coder-1", "coder-2"), ("reviewer", "reviewers"), ("n-x", "m-x")]:
        assert skeleton(a) != skeleton(b), (a, b)


@pytest.mark.parametrize(
    "first, second",
    [("coder-l", "coder-I"), ("rn-x", "m-x"), ("agent-0", "agent-O"), ("bot-1", "bot-l"), ("vv-a", "w-a")],
)
def test_a_name_that_reads_like_an_active_agents_is_refused(cli, fleet, first, second):
    created = cli(*register("--name", first, "--description", "d", "--quiet"))
    assert created.code == 0, created
    first_id = int(created.out)
    refused(
        cli,
        register("--name", second, "--description", "d"),
        f"Error: agent name '{second}' reads like '{first}' (agent {first_id}) of fleet {F}: names that differ only "
        "in look-alike characters (0/O/o, 1/l/I, rn/m, vv/w) are refused, since a misread name reaches the wrong "
        f"agent; choose a distinct name, e.g. {second}-2",
        code=1,
    )


def test_a_look_alike_of_a_deregistered_agent_or_a_distinct_name_is_accepted(cli, fleet):
    first = int(cli(*register("--name", "coder-l", "--description", "d", "--quiet")).out)
    assert cli("--fleet-id", F, "agent", "deregister", "--agent-id", first).code == 0
    assert cli(*register("--name", "coder-I", "--description", "d")).code == 0
    assert cli(*register("--name", "coder-i2", "--description", "d")).code == 0


def test_the_builtin_names_have_look_alikes_too(cli, fleet):
    refused(
        cli,
        register("--name", "Adrninistrator", "--description", "d"),
        f"Error: agent name 'Adrninistrator' reads like 'Administrator' (agent {fleet.administrator_id}) of fleet {F}: "
        "names that differ only in look-alike characters (0/O/o, 1/l/I, rn/m, vv/w) are refused, since a misread "
        "name reaches the wrong agent; choose a distinct name, e.g. Adrninistrator-2",
        code=1,
    )
