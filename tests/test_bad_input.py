"""Every bad input named in issue 12, and its relatives: a clear `Error:` naming the value and
the fix, exit 2, and the database exactly as it was. Most run in-process (fast); the ones
about what a real shell hands over run the console script."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.fuzz_support import invoke
from tests.support import cafleet_command, database_dump

F, DIRECTOR, ALICE, BOB = "1", "1", "3", "4"  # the `fleet` fixture's ids
BIG = str(2**63)


def refused(args: list[str], *expected: str, code: int = 2, stdin: bytes = b"") -> str:
    """Run `args`, assert it was refused with `code`, an Error line holding `expected`, no
    stdout and no change to the database; returns stderr."""
    before = database_dump()
    outcome = invoke(args, stdin)
    assert outcome.code == code, outcome
    assert outcome.out == "", outcome
    error = [line for line in outcome.err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1, outcome.err
    for part in expected:
        assert part in error[0], (part, error[0])
    assert "unexpected" not in error[0] and "cafleet bug" not in error[0]
    assert database_dump() == before
    return error[0]


def send(*extra: str) -> list[str]:
    return ["--fleet-id", F, "message", "send", "--agent-id", ALICE, *extra]


def poll(*extra: str) -> list[str]:
    return ["--fleet-id", F, "message", "poll", "--agent-id", BOB, *extra]


def register(*extra: str) -> list[str]:
    return ["--fleet-id", F, "agent", "register", *extra]


def member_create(*extra: str) -> list[str]:
    return ["--fleet-id", F, "member", "create", "--agent-id", DIRECTOR, "--name", "m1", "--description", "helps", *extra]


# -- text the shell could not decode (lone surrogates) ----------------------------------------


@pytest.mark.parametrize(
    "args, option",
    [
        (send("--to", "bob", "--text", "caf\udce9"), "--text"),
        (send("--to", "b\udcffb", "--text", "hi"), "--to"),
        (register("--name", "x\udcff", "--description", "d"), "--name"),
        (register("--name", "carol", "--description", "caf\udce9"), "--description"),
        (register("--name", "carol", "--description", "d", "--skills", '["\udcff"]'), "--skills"),
        (poll("--since", "2026\udcff"), "--since"),
        (member_create("--prompt", "hi \udcff"), "--prompt"),
        (member_create("--model", "m\udcff"), "--model"),
        (member_create("--agent-arg", "\udcff"), "--agent-arg"),
        (
            ["--fleet-id", F, "member", "send-input", "--agent-id", DIRECTOR, "--member-id", ALICE, "--freetext", "\udcff"],
            "--freetext",
        ),
        (["--fleet-id", F, "member", "exec", "--agent-id", DIRECTOR, "--member-id", ALICE, "ls \udcff"], "COMMAND"),
        (["fleet", "create", "--label", "\udcff"], "--label"),
    ],
)
def test_text_that_is_not_utf8_is_refused_naming_the_option(fleet, args, option):
    refused(args, option, "is not valid UTF-8", "byte 0x")


def test_non_utf8_argv_from_a_real_shell_is_refused(fleet):
    before = database_dump()
    argv = [os.fsencode(a) for a in cafleet_command()] + [
        b"--fleet-id",
        b"1",
        b"message",
        b"send",
        b"--agent-id",
        b"3",
        b"--to",
        b"bob",
        b"--text",
        b"caf\xe9",
    ]
    proc = subprocess.run(argv, capture_output=True, timeout=30)
    assert proc.returncode == 2
    assert b"Error: Invalid value for '--text': 'caf\\udce9' is not valid UTF-8 (byte 0xe9 at character 3)" in proc.stderr
    assert database_dump() == before


# -- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, option",
    [
        (["--fleet-id", BIG, "fleet", "list"], "--fleet-id"),
        (["fleet", "list", "--fleet-id", BIG], "--fleet-id"),
        (poll()[:4] + ["--agent-id", BIG], "--agent-id"),
        (["--fleet-id", F, "message", "ack", "--agent-id", BOB, "--task-id", BIG], "--task-id"),
        (["--fleet-id", F, "message", "cancel", "--agent-id", BOB, "--task-id", BIG], "--task-id"),
        (["--fleet-id", F, "message", "show", "--agent-id", BOB, "--task-id", BIG], "--task-id"),
        (send("--to", "bob", "--text", "hi", "--reply-to", BIG), "--reply-to"),
        (["--fleet-id", F, "agent", "show", "--agent-id", BOB, "--id", BIG], "--id"),
        (["--fleet-id", F, "member", "ping", "--agent-id", DIRECTOR, "--member-id", BIG], "--member-id"),
        (["--fleet-id", F, "monitor", "config", "--member-id", BIG, "--enable"], "--member-id"),
        (["fleet", "show", BIG], "'N'"),
        (["fleet", "delete", BIG], "'N'"),
    ],
)
def test_ids_past_sqlite_integers_are_refused(fleet, args, option):
    refused(args, option, f"'{BIG}' is out of range", "ids are whole numbers from 1 to 9223372036854775807")


@pytest.mark.parametrize("value", ["٦", "²", "１", "1_0", "+3", "3.0", "9" * 5000])
def test_ids_take_only_ascii_digits(fleet, value):
    refused(["--fleet-id", F, "agent", "show", "--agent-id", BOB, "--id", value], "--id", "ids are whole numbers")


def test_to_with_a_non_ascii_digit_does_not_reach_that_agent_id(fleet, cli):
    result = cli(*send("--to", "٦", "--text", "hi"))
    assert result.code == 2 and result.out == ""
    assert result.err == (
        "Error: --to '٦' is neither an agent id (digits 0-9) nor an agent name (letters, digits, '_', '.', '-'); "
        "`cafleet fleet show 1` lists the agents\n"
    )
    refused(send("--to", "²", "--text", "hi"), "--to '²' is neither an agent id")


def test_to_with_an_id_past_sqlite_integers_is_refused(fleet):
    refused(send("--to", "9" * 30, "--text", "hi"), "--to 999", "is not an id")


def test_to_that_is_empty_is_refused(fleet):
    refused(send("--to", " ", "--text", "hi"), "--to is empty")


# -- times ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_since_at_the_ends_of_the_calendar_is_refused(fleet, value):
    refused(poll("--since", value), f"--since '{value}' is outside years 1-9999 once converted to UTC")


@pytest.mark.parametrize("value", ["", "   "])
def test_since_empty_is_refused(fleet, value):
    refused(poll("--since", value), "--since is empty", "leave --since out")


def test_since_before_year_1000_still_finds_every_message(fleet):
    """Stamps are zero-padded (strftime's %Y is not), so text order stays time order."""
    from cafleet.core.timestamps import parse_user_time

    assert parse_user_time("0999-06-01T00:00:00Z", "--since") == "0999-06-01T00:00:00.000000Z"
    invoke(send("--to", "bob", "--text", "hi"))
    assert invoke(poll("--since", "0999-06-01", "--json")).out.count('"task_id"') == 1


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "٣", "1_0", "0x10"])
def test_monitor_tick_takes_only_finite_plain_numbers(fleet, value):
    refused(["--fleet-id", F, "monitor", "start", "--tick", value], "--tick", "use a number of seconds from 0.2 to 3600")


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", "٣"])
def test_poll_wait_takes_only_finite_plain_numbers(fleet, value):
    refused(poll("--wait", value), "--wait", "use a number of seconds from 0 to 3600")


@pytest.mark.parametrize("value", ["nan", "inf", "0.4", "601"])
def test_member_delete_timeout_is_checked(fleet, value):
    args = ["--fleet-id", F, "member", "delete", "--agent-id", DIRECTOR, "--member-id", ALICE, "--timeout", value]
    refused(args, "--timeout", "use a number of seconds from 0.5 to 600")


@pytest.mark.parametrize(
    "args, option",
    [
        (poll("--page-size", "５"), "--page-size"),
        (["--fleet-id", F, "member", "capture", "--agent-id", DIRECTOR, "--member-id", ALICE, "--lines", "１0"], "--lines"),
        (["--fleet-id", F, "member", "send-input", "--agent-id", DIRECTOR, "--member-id", ALICE, "--choice", "٢"], "--choice"),
        (["--fleet-id", F, "monitor", "config", "--member-id", ALICE, "--interval", "9" * 30], "--interval"),
        (["--fleet-id", F, "monitor", "config", "--member-id", ALICE, "--interval", "604801"], "--interval"),
    ],
)
def test_counts_take_only_ascii_digits_within_their_range(fleet, args, option):
    refused(args, option, "use a whole number from 1 to")


# -- JSON ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "skills, reason",
    [
        ("NaN", "NaN is not a JSON number"),
        ('{"level": Infinity}', "Infinity is not a JSON number"),
        ("[1e999]", "1e999 is too large for a JSON number"),
        ("1" * 5000, "a number with too many digits"),
        ("[" * 5000, "is nested more than 8 levels deep (the limit is 8)"),
        ('"\\ud800"', "escapes half of a surrogate pair"),
        ("x" * 10_001, "over the 10,000 limit"),
    ],
)
def test_skills_that_are_not_storable_json_are_refused(fleet, skills, reason):
    refused(register("--name", "carol", "--description", "d", "--skills", skills), "--skills", reason)


# -- texts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["\x01\x02", "\x1b", " \t\r\n", "\u200b\u202e", "\x85\x9b"])
def test_a_body_of_only_control_characters_is_refused(fleet, text):
    refused(send("--to", "bob", "--text", text), "message text from --text is empty")


def test_a_text_file_of_only_control_characters_is_refused(fleet):
    refused(send("--to", "bob", "--text-file", "-"), "message text from --text-file (stdin) is empty", stdin=b"\x00\x07\x1b")


@pytest.mark.parametrize("description", ["", "   ", "\x01\x1b"])
def test_an_empty_description_is_refused(fleet, description):
    refused(register("--name", "carol", "--description", description), "--description is empty")


def test_an_empty_member_description_is_refused_before_anything_else(fleet):
    """Checked before the coding agent is looked up on PATH (it is not installed here)."""
    args = ["--fleet-id", F, "member", "create", "--agent-id", DIRECTOR, "--name", "m1", "--description", "\x01"]
    refused(args, "--description is empty")


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("{name:%}", "prompt placeholder {name:%} has a format spec or conversion; write it as {name}"),
        ("{agent_id:>5}", "prompt placeholder {agent_id:>5} has a format spec"),
        ("{name!r}", "prompt placeholder {name!r} has a format spec or conversion"),
        (
            "{nope}",
            "prompt placeholder {nope} is unknown; use {fleet_id}, {agent_id}, {director_id}, {name}, {coding_agent}, {cafleet}",
        ),
        ("{name.upper}", "prompt placeholder {name.upper} is unknown"),
        ("a {", "prompt has a malformed placeholder"),
        ("a\x00b", "prompt holds the control character \\x00 at character 1"),
        ("\x1b\x01", "prompt is empty"),
    ],
)
def test_prompt_templates_are_checked_before_anything_is_written(fleet, prompt, expected):
    refused(member_create("--prompt", prompt), expected)


@pytest.mark.parametrize(
    "freetext, expected",
    [
        ("\x01!rm -rf x", "--freetext may not start with '!'"),
        ("\x1b \u200b!cmd", "--freetext may not start with '!'"),
        ("  !cmd", "--freetext may not start with '!'"),
        ("\x01\x02", "--freetext is empty"),
        ("yes\rno", "--freetext holds a line break"),
        ("yes\u2028no", "--freetext holds a line break"),
    ],
)
def test_send_input_checks_the_text_as_it_would_be_typed(fleet, freetext, expected):
    args = ["--fleet-id", F, "member", "send-input", "--agent-id", DIRECTOR, "--member-id", ALICE, "--freetext", freetext]
    refused(args, expected)


@pytest.mark.parametrize(
    "command, expected", [("\x01\x1b", "the command is empty"), ("ls\x0bpwd", "the command holds a line break")]
)
def test_exec_checks_the_command_as_it_would_be_typed(fleet, command, expected):
    refused(["--fleet-id", F, "member", "exec", "--agent-id", DIRECTOR, "--member-id", ALICE, command], expected)


def test_typed_text_is_the_cleaned_text():
    from cafleet.panes.members import typed_line

    assert typed_line("\x01!cmd\x1b", "--freetext", "would submit early") == "!cmd"
