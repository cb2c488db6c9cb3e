"""Scoping: what `cafleet --fleet-id 7 *` can reach, and replies to messages one has seen."""

from __future__ import annotations

from tests.support import database_dump


def test_a_repeated_fleet_id_is_refused_wherever_it_appears(cli, fleet):
    """`cafleet --fleet-id 8 … --fleet-id 11` once registered the agent in fleet 11."""
    fleet_id = fleet.fleet_id
    before = database_dump()
    for args in (
        ["--fleet-id", fleet_id, "agent", "register", "--name", "x", "--description", "y", "--fleet-id", 99],
        ["--fleet-id", fleet_id, "--fleet-id", 99, "agent", "register", "--name", "x", "--description", "y"],
        ["--fleet-id", fleet_id, "agent", "--fleet-id", fleet_id, "register", "--name", "x", "--description", "y"],
        ["agent", "register", "--fleet-id", fleet_id, "--name", "x", "--fleet-id", 99, "--description", "y"],
    ):
        result = cli(*map(str, args))
        assert result.code == 2, (args, result)
        assert "Error: --fleet-id is given 2 times" in result.err
    assert database_dump() == before


def test_a_command_naming_a_fleet_must_agree_with_fleet_id(cli, fleet):
    fleet_id = fleet.fleet_id
    before = database_dump()
    for verb in ("show", "delete"):
        result = cli("--fleet-id", str(fleet_id), "fleet", verb, str(fleet_id + 1))
        assert result.code == 2
        assert f"names fleet {fleet_id + 1} but --fleet-id is {fleet_id}" in result.err
    assert database_dump() == before
    assert cli("--fleet-id", str(fleet_id), "fleet", "show", str(fleet_id)).code == 0


def test_commands_outside_any_fleet_refuse_fleet_id(cli, fleet):
    before = database_dump()
    for args in (["db", "init"], ["setup"], ["demo", "--stop"], ["fleet", "create"]):
        result = cli("--fleet-id", str(fleet.fleet_id), *args)
        assert result.code == 2, (args, result)
        assert "does not act in a fleet; run it without --fleet-id" in result.err
    assert database_dump() == before


def test_fleet_list_with_fleet_id_shows_only_that_fleet(cli, fleet):
    from cafleet.broker.fleets import create_fleet
    from tests.support import OTHER_PANE

    create_fleet(OTHER_PANE, label="other")
    assert len(cli("--json", "fleet", "list").json()) == 2
    only = cli("--fleet-id", str(fleet.fleet_id), "--json", "fleet", "list").json()
    assert [f["fleet_id"] for f in only] == [fleet.fleet_id]


def test_a_reply_must_answer_a_message_the_sender_has_seen(cli, fleet):
    f = fleet
    sent = cli(
        "--fleet-id", str(f.fleet_id), "message", "send", "--agent-id", str(f.alice_id), "--to", "bob", "--quiet", "--text", "hi"
    )
    task = sent.out.strip()
    before = database_dump()
    stranger = cli(
        "--fleet-id",
        str(f.fleet_id),
        "message",
        "send",
        "--agent-id",
        str(f.director_id),
        "--to",
        "alice",
        "--reply-to",
        task,
        "--text",
        "re",
    )
    assert stranger.code == 1 and f"task {task} not found among your messages" in stranger.err
    assert database_dump() == before
    answer = cli(
        "--fleet-id",
        str(f.fleet_id),
        "message",
        "send",
        "--agent-id",
        str(f.bob_id),
        "--to",
        "alice",
        "--reply-to",
        task,
        "--text",
        "re",
    )
    assert answer.code == 0, answer.err
