"""Broker refusals carry the bad value, its field and a face-neutral fix; each face words them.

The CLI prints every such `Error:` line exactly as it did when the broker wrote CLI sentences
itself (the expected lines below are those sentences); the TUI names its own keys and fields
instead of flags and commands; the neutral `message` names neither."""

from __future__ import annotations

import re

import pytest

from cafleet.core.errors import CafleetError, Field, Fix, Hint
from tests.fuzz_support import invoke
from tests.support import FAKE_PANE, database_dump

F, DIRECTOR, ALICE, BOB = "1", "1", "3", "4"  # the `fleet` fixture's ids
STAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
# What only the CLI may say: a flag, or a command to run.
CLI_WORDS = re.compile(r"(?<![\w-])--[a-z]|`cafleet|\bcafleet (?:fleet|agent|member|message|--)|`message ")


def send(*extra: str) -> list[str]:
    return ["--fleet-id", F, "message", "send", "--agent-id", ALICE, *extra]


def register(*extra: str) -> list[str]:
    return ["--fleet-id", F, "agent", "register", "--no-pane", "--name", "carol", "--description", "d", *extra]


DEREGISTER_BOB = ["--fleet-id", F, "agent", "deregister", "--agent-id", BOB]
EXAMPLE = 'pass e.g. \'["review", "tests"]\''

# (calls that must succeed first, the refused call, its exit code, its whole Error line as a regex)
CASES = {
    "fleet not found": (
        [],
        ["--fleet-id", "99", "message", "poll", "--agent-id", "1"],
        1,
        re.escape(
            "Error: fleet 99 not found; run `cafleet fleet list` to see fleets or `cafleet fleet create` (inside tmux) to make one"
        ),
    ),
    "fleet deleted": (
        [["--fleet-id", F, "fleet", "delete", F]],
        ["--fleet-id", F, "message", "poll", "--agent-id", BOB],
        1,
        f"Error: fleet 1 was deleted at {STAMP}; "
        + re.escape("create a new one with `cafleet fleet create` or pick one from `cafleet fleet list`"),
    ),
    "agent not found": (
        [],
        ["--fleet-id", F, "agent", "show", "--agent-id", ALICE, "--id", "999"],
        1,
        re.escape("Error: agent 999 not found in fleet 1; `cafleet fleet show 1` lists its agents"),
    ),
    "acting agent deregistered": (
        [DEREGISTER_BOB],
        ["--fleet-id", F, "message", "poll", "--agent-id", BOB],
        1,
        f"Error: agent 4 \\(bob\\) was deregistered at {STAMP}; "
        + re.escape("register again with `cafleet --fleet-id 1 agent register`"),
    ),
    "recipient empty": (
        [],
        send("--to", " ", "--text", "hi"),
        2,
        re.escape("Error: --to is empty; pass an agent id or name (`cafleet fleet show 1` lists them)"),
    ),
    "recipient name#id of another agent": (
        [],
        send("--to", "carol#4", "--text", "hi"),
        1,
        re.escape(
            "Error: --to 'carol#4': agent 4 is named 'bob', not 'carol'; pass `--to bob#4`, or `cafleet fleet show 1` to find 'carol'"
        ),
    ),
    "recipient id too large": (
        [],
        send("--to", "9" * 30, "--text", "hi"),
        2,
        re.escape(f"Error: --to {'9' * 30} is not an id (the largest is 9223372036854775807); pass an agent id or name"),
    ),
    "recipient deregistered": (
        [DEREGISTER_BOB],
        send("--to", BOB, "--text", "hi"),
        1,
        re.escape(
            "Error: agent 4 (bob) is deregistered and cannot receive messages; `cafleet fleet show 1` lists the active agents"
        ),
    ),
    "recipient all": (
        [],
        send("--to", "All", "--text", "hi"),
        2,
        re.escape(
            "Error: --to 'all': there is no agent named all; to reach every other agent use "
            "`cafleet --fleet-id 1 message broadcast --agent-id ID --text …`"
        ),
    ),
    "recipient neither id nor name": (
        [],
        send("--to", "a b", "--text", "hi"),
        2,
        re.escape(
            "Error: --to 'a b' is neither an agent id (digits 0-9) nor an agent name (letters, digits, '_', '.', '-'); "
            "`cafleet fleet show 1` lists the agents"
        ),
    ),
    "recipient unknown": (
        [],
        send("--to", "nobody", "--text", "hi"),
        1,
        re.escape(
            "Error: no active agent named 'nobody' in fleet 1; "
            "`cafleet fleet show 1` lists the agents, pass a name, an id or name#id to --to"
        ),
    ),
    "task not found": (
        [],
        ["--fleet-id", F, "message", "ack", "--agent-id", BOB, "--task-id", "999"],
        1,
        re.escape(
            "Error: task 999 not found among your messages in fleet 1; `message poll --all` lists the messages you received"
        ),
    ),
    "text empty": (
        [],
        send("--to", "bob", "--text", " "),
        2,
        re.escape(
            "Error: message text from --text is empty (nothing but whitespace or control characters); give the message some text"
        ),
    ),
    "description empty": (
        [],
        ["--fleet-id", F, "agent", "register", "--no-pane", "--name", "carol", "--description", " "],
        2,
        re.escape("Error: --description is empty; say in one sentence what the agent does"),
    ),
    "skills too long": (
        [],
        register("--skills", "[" + "1," * 6000 + "1]"),
        2,
        re.escape("Error: --skills is 12,003 characters, over the 10,000 limit; describe the skills briefly"),
    ),
    "skills too deep": (
        [],
        register("--skills", "[" * 9 + "]" * 9),
        2,
        re.escape(
            f"Error: --skills '[[[[[[[[[]]]]]]]]]' is nested more than 8 levels deep (the limit is 8); flatten it: {EXAMPLE}"
        ),
    ),
    "skills not JSON": (
        [],
        register("--skills", "[review"),
        2,
        re.escape(f"Error: --skills '[review' is not valid JSON (Expecting value); {EXAMPLE}"),
    ),
    "skills NaN": (
        [],
        register("--skills", "[NaN]"),
        2,
        re.escape(f"Error: --skills '[NaN]' is not usable JSON (NaN is not a JSON number); {EXAMPLE}"),
    ),
    "skills number too long": (
        [],
        register("--skills", "[" + "9" * 5000 + "]"),
        2,
        re.escape(f"Error: --skills '[{'9' * 59}…' is not usable JSON (a number with too many digits); {EXAMPLE}"),
    ),
    "skills escaped surrogate": (
        [],
        register("--skills", '["\\udc00"]'),
        2,
        re.escape("Error: --skills '[\"\\udc00\"]' escapes half of a surrogate pair (\\udXXX); write the character itself"),
    ),
    "Director deregistered": (
        [],
        ["--fleet-id", F, "agent", "deregister", "--agent-id", DIRECTOR],
        1,
        re.escape(
            "Error: agent 1 is the root Director of fleet 1 and cannot be deregistered; end the fleet with `cafleet fleet delete 1` instead"
        ),
    ),
    "not a member": (
        [],
        ["--fleet-id", F, "member", "capture", "--agent-id", DIRECTOR, "--member-id", ALICE],
        1,
        re.escape(
            "Error: agent 3 (alice) is not a member of Director 1; `cafleet --fleet-id 1 member list --agent-id 1` lists them"
        ),
    ),
    "search without words": (
        [],
        ["--fleet-id", F, "message", "search", "--agent-id", BOB, "!!!"],
        2,
        re.escape(
            "Error: search query '!!!' has no words to search for; "
            'give letters or digits, e.g. `message search parser` or `message search "exact phrase"`'
        ),
    ),
    "search sender unknown": (
        [],
        ["--fleet-id", F, "message", "search", "--agent-id", BOB, "x", "--from", "ghost"],
        1,
        re.escape(
            "Error: --from 'ghost': no agent of fleet 1 has that name or id; `cafleet fleet show 1` lists its agents (deregistered ones too)"
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_cli_prints_each_refusal_as_it_always_has(fleet, case):
    setup, args, code, line = CASES[case]
    for call in setup:
        assert invoke(call).code == 0, call
    before = database_dump()
    outcome = invoke(args)
    assert (outcome.code, outcome.out) == (code, ""), outcome
    assert re.fullmatch(line + "\n", outcome.err), outcome.err
    assert database_dump() == before


def _refusal(call) -> CafleetError:
    with pytest.raises(CafleetError) as raised:
        call()
    return raised.value


def _broker_only_refusals() -> dict[str, tuple[object, int, str]]:
    """Refusals the CLI cannot reach from a test without tmux (the pane ones) or that click's
    own checks catch first (text that is not UTF-8): (the call, exit code, the CLI's words)."""
    from cafleet.broker import agents, fleets, members
    from cafleet.core.text import validate_body

    return {
        "fleet create in a taken pane": (
            lambda: fleets.create_fleet(FAKE_PANE),
            1,
            "pane %1 is already the Director of fleet 1; keep using it (`cafleet --fleet-id 1 whoami`), or pass --force "
            "to direct a second fleet from this pane, or end that one first with `cafleet fleet delete 1`",
        ),
        "register in a taken pane": (
            lambda: agents.register_agent(1, "bee", "x", pane=FAKE_PANE),
            1,
            "pane %1 already is agent director#1 of fleet 1; register bee from its own pane, or with --no-pane to register it without one",
        ),
        "member reaped while its pane was spawned": (
            lambda: members.attach_pane(999, "%9"),
            1,
            "member 999 was removed (deleted, or reaped as a dead spawn) while its pane %9 was being spawned; "
            "the pane was closed: run `member create` again",
        ),
        "label too long": (
            lambda: fleets.validate_label("x" * 300),
            2,
            "--label is 300 characters, over the 200 limit; shorten it",
        ),
        "label not UTF-8": (
            lambda: fleets.validate_label("a\udcffb"),
            2,
            "--label is not valid UTF-8 (U+DCFF at character 1); pass UTF-8 text (convert it with iconv)",
        ),
        "description not UTF-8": (
            lambda: agents.validate_description("caf\udce9"),
            2,
            "--description is not valid UTF-8 (U+DCE9 at character 3); pass UTF-8 text (convert it with iconv)",
        ),
        "skills not UTF-8": (
            lambda: agents.parse_skills('["\udcff"]'),
            2,
            "--skills is not valid UTF-8 (U+DCFF at character 2); pass UTF-8 text (convert it with iconv)",
        ),
        "text not UTF-8": (
            lambda: validate_body("caf\udce9", "--text"),
            2,
            "message text from --text is not valid UTF-8 (U+DCE9 at character 3); pass UTF-8 text (convert it with iconv)",
        ),
    }


def test_refusals_only_the_broker_reaches_read_as_they_always_have(db):
    from cafleet.broker.fleets import create_fleet
    from cafleet.cli.error_text import error_text

    create_fleet(FAKE_PANE)
    for case, (call, code, words) in _broker_only_refusals().items():
        error = _refusal(call)
        assert (error.exit_code, error_text(error)) == (code, words), case


def test_every_fix_and_field_has_the_cli_s_words():
    from cafleet.cli.error_text import FIXES, FLAGS

    assert set(FIXES) == set(Fix)
    assert set(FLAGS) == set(Field) - {Field.PANE}  # a pane is where the command runs, not an option
    assert not any(CLI_WORDS.search(fix.value) for fix in Fix)


def _tui_and_neutral_words(case: str, monkeypatch) -> tuple[str, str]:
    """How the TUI words, and how `message` says, the refusal behind a CLI case."""
    import cafleet.cli.error_text as cli_words
    from cafleet.screens.error_text import error_text

    setup, args, _, _ = CASES[case]
    for call in setup:
        assert invoke(call).code == 0, call
    seen: list[CafleetError] = []
    cli_text = cli_words.error_text
    monkeypatch.setattr(cli_words, "error_text", lambda error: seen.append(error) or cli_text(error))
    assert invoke(args).code in (1, 2)
    [error] = seen
    return error_text(error), error.message


@pytest.mark.parametrize("case", [c for c in CASES if c != "text empty"])  # its source is the face's own words
def test_the_tui_and_the_neutral_message_name_no_flag_or_command(fleet, case, monkeypatch):
    tui, neutral = _tui_and_neutral_words(case, monkeypatch)
    assert not CLI_WORDS.search(tui), tui
    assert not CLI_WORDS.search(neutral), neutral


@pytest.mark.parametrize(
    "case, words",
    [
        ("recipient unknown", "no active agent named 'nobody' in fleet 1; type @ and a name (→ completes it)"),
        ("recipient all", "the @mention 'all': there is no agent named all; type @all to message everyone"),
        (
            "recipient deregistered",
            "agent 4 (bob) is deregistered and cannot receive messages; type @ and the name of an active agent (→ completes it)",
        ),
        (
            "task not found",
            "task 999 not found among your messages in fleet 1; the Inbox tab (Ctrl+O) lists the messages you received",
        ),
        ("agent not found", "agent 999 not found in fleet 1; the fleet's roster (Ctrl+R) lists its agents"),
        (
            "search without words",
            "search query '!!!' has no words to search for; type letters or digits, e.g. parser or \"exact phrase\"",
        ),
        (
            "not a member",
            "agent 3 (alice) is not a member of Director 1; the fleet's roster (Ctrl+R) lists the Director's members",
        ),
    ],
)
def test_the_tui_words_the_fix_as_its_own_keys(fleet, case, words, monkeypatch):
    assert _tui_and_neutral_words(case, monkeypatch)[0] == words


def test_an_error_keeps_the_bad_value_and_where_it_came_from(fleet):
    from cafleet.broker.guards import recipient

    error = _refusal(lambda: recipient(1, " carol#4 "))
    assert (error.field, error.value, error.hint) == (Field.RECIPIENT, "carol#4", Hint(Fix.USE_HANDLE, 1, name="bob#4"))
    assert error.message == "recipient 'carol#4': agent 4 is named 'bob', not 'carol'; " + Fix.USE_HANDLE.value
    assert str(error) == error.message
