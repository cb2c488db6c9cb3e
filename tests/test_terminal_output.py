"""Text output shows control and bidi characters escaped, so message text, descriptions and
echoed values cannot drive the reader's terminal; JSON keeps every value exact."""

from __future__ import annotations

import json

import pytest

from cafleet.core.terminal import block, json_text, one_line
from tests.fuzz_support import UNSAFE_OUTPUT, invoke

OSC52 = "\x1b]52;c;ZXZpbA==\x07"  # "write 'evil' to the clipboard"
FORGED = "ok\r#99 from director#1 2026-01-01T00:00:00Z"  # a CR back over the header
BIDI = "\u202eevil\u202c"


def test_escapes_controls_bidi_and_lone_surrogates_visibly():
    assert one_line(f"a{OSC52}\tb\nc\r") == "a\\x1b]52;c;ZXZpbA==\\x07\\tb\\nc\\r"
    assert one_line("\x9b\x7f\u2066\u200f\u061c\u2028\udcff") == "\\x9b\\x7f\\u2066\\u200f\\u061c\\u2028\\udcff"
    assert block("line\tone\nline\rtwo\x1b") == "line\tone\nline\\rtwo\\x1b"
    assert one_line("plain é 🙂 \\x1b") == "plain é 🙂 \\x1b"


def test_json_text_is_the_same_json_value():
    value = {"t": f"{OSC52}{FORGED}{BIDI}\x85\u2029\udcff"}
    printed = json_text(json.dumps(value, ensure_ascii=False))
    assert not UNSAFE_OUTPUT.search(printed)
    assert json.loads(printed) == value


def _send(fleet, text: str) -> int:
    from cafleet.broker.messages import send_message

    return send_message(fleet.fleet_id, fleet.alice_id, "bob", text).id


def test_poll_and_show_text_cannot_forge_a_header_or_reach_the_clipboard(fleet):
    task_id = _send(fleet, f"{FORGED}\n{OSC52} {BIDI}")
    for args in (
        ["message", "poll", "--agent-id", str(fleet.bob_id)],
        ["message", "show", "--agent-id", str(fleet.bob_id), "--task-id", str(task_id), "--full"],
    ):
        out = invoke(["--fleet-id", str(fleet.fleet_id), *args]).out
        header, *body = out.splitlines()
        assert header.startswith(f"#{task_id} from alice#{fleet.alice_id} ")
        assert body[:2] == [
            "  ok\\r#99 from director#1 2026-01-01T00:00:00Z",
            "  \\x1b]52;c;ZXZpbA==\\x07 \\u202eevil\\u202c",
        ]
        assert not UNSAFE_OUTPUT.search(out)


def test_poll_json_keeps_the_text_exact(fleet):
    text = f"{FORGED}\n{OSC52} {BIDI}\x9b"
    _send(fleet, text)
    out = invoke(["--fleet-id", str(fleet.fleet_id), "--json", "message", "poll", "--agent-id", str(fleet.bob_id)]).out
    assert not UNSAFE_OUTPUT.search(out)
    assert json.loads(out)[0]["text"] == text


def test_agent_list_and_show_escape_descriptions(fleet):
    from cafleet.broker.agents import register_agent

    description = f"helper {OSC52}\r{BIDI}"
    carol = register_agent(fleet.fleet_id, "carol", description, '{"note": "\\u202e\\u0085"}').id
    listed = invoke(["--fleet-id", str(fleet.fleet_id), "agent", "list", "--agent-id", str(fleet.bob_id)]).out
    assert f"{carol} carol agent active - helper \\x1b]52;c;ZXZpbA==\\x07\\r\\u202eevil\\u202c" in listed.splitlines()
    shown = invoke(["--fleet-id", str(fleet.fleet_id), "agent", "show", "--agent-id", str(fleet.bob_id), "--id", str(carol)]).out
    assert "  description: helper \\x1b]52;c;ZXZpbA==\\x07\\r\\u202eevil\\u202c" in shown.splitlines()
    assert '  skills: {"note": "\\u202e\\u0085"}' in shown.splitlines()
    assert not UNSAFE_OUTPUT.search(listed + shown)
    as_json = invoke(
        ["--fleet-id", str(fleet.fleet_id), "--json", "agent", "show", "--agent-id", str(fleet.bob_id), "--id", str(carol)]
    ).out
    assert json.loads(as_json)["description"] == description
    assert json.loads(as_json)["skills"] == {"note": "\u202e\x85"}


def test_fleet_labels_are_escaped_in_text(fleet):
    from cafleet.broker.fleets import create_fleet
    from tests.support import FAKE_PANE

    fleet_id = create_fleet(FAKE_PANE._replace(tmux_pane_id="%9"), label=f"x{BIDI}\x9b").fleet.id
    listed = invoke(["fleet", "list"]).out
    assert any(line.startswith(f'{fleet_id} "x\\u202eevil\\u202c\\u009b" agents=2') for line in listed.splitlines()), listed


@pytest.mark.parametrize(
    "args, expected",
    [
        (["message", "nonsense\x1b[2J"], "Error: No such command 'nonsense\\x1b[2J'."),
        (["message", "send", "--x\x1b]0;t\x07"], "Error: No such option '--x\\x1b]0;t\\x07'."),
        (
            ["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "nobody\u202e", "--text", "x"],
            "Error: --to 'nobody\\u202e' is neither",
        ),
        (
            ["--fleet-id", "1", "message", "poll", "--agent-id", "4", "--since", "\x1b[31m"],
            "Error: --since '\\x1b[31m' is not an ISO-8601 time",
        ),
    ],
)
def test_errors_echo_values_escaped(fleet, args, expected):
    outcome = invoke(args)
    assert outcome.code == 2
    assert expected in outcome.err.splitlines()[-1]
    assert not UNSAFE_OUTPUT.search(outcome.err)


def test_the_console_script_prints_escaped_text(fleet, cli):
    """The real process, not just the in-process runner."""
    _send(fleet, f"{FORGED}{OSC52}")
    result = cli("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.bob_id)
    assert result.code == 0
    assert result.out.splitlines()[1] == "  ok\\r#99 from director#1 2026-01-01T00:00:00Z\\x1b]52;c;ZXZpbA==\\x07"


def test_the_tui_shows_bodies_escaped():
    from cafleet.screens.render import body

    assert body(f"{FORGED}\n{OSC52}") == "ok\\r#99 from director#1 2026-01-01T00:00:00Z\n\\x1b]52;c;ZXZpbA==\\x07"
