"""`cafleet message search` through the real console script: output, marks, errors."""

from __future__ import annotations

import re


def _send(fleet, sender, to, text):
    from cafleet.broker.messages import send_message

    return send_message(fleet.fleet_id, sender, to, text)


def _normalised(out: str) -> str:
    return re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "TIME", out)


def test_text_output_marks_matches_and_escapes_the_text(cli, fleet):
    plain = _send(fleet, fleet.alice_id, "bob", "Please review the parser")
    tricky = _send(fleet, fleet.alice_id, "bob", "parser ⟦not a mark⟧ \x1b[31mred\x1b[0m\r\nnext line")
    result = cli("--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.bob_id, "parser")
    assert result.code == 0, result
    assert result.err == ""
    assert _normalised(result.out) == (
        f"#{plain.id} from alice#{fleet.alice_id} to bob#{fleet.bob_id} TIME unread\n"
        "  Please review the ⟦parser⟧\n"
        f"#{tricky.id} from alice#{fleet.alice_id} to bob#{fleet.bob_id} TIME unread\n"
        "  ⟦parser⟧ \\u27e6not a mark\\u27e7 \\x1b[31mred\\x1b[0m\\r\n"
        "  next line\n"
    )
    assert "\x1b" not in result.out and "\r" not in result.out


def test_a_long_message_shows_the_part_around_the_match(cli, fleet):
    _send(fleet, fleet.alice_id, "bob", "intro " * 100 + "needle here " + "outro " * 100)
    result = cli(
        "--fleet-id",
        fleet.fleet_id,
        "message",
        "search",
        "--agent-id",
        fleet.bob_id,
        "needle",
        env={"CAFLEET_MAX_TEXT_LEN": "40"},
    )
    body = result.out.splitlines()[1]
    assert body.startswith("  …") and body.endswith("…")
    assert "⟦needle⟧ here" in body
    assert len(body.replace("⟦", "").replace("⟧", "")) == len("  ") + 1 + 40 + 1
    full = cli("--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.bob_id, "needle", "--full")
    assert full.out.splitlines()[1].startswith("  intro intro") and full.out.rstrip().endswith("outro")


def test_json_output_has_the_show_keys_plus_score_and_snippet(cli, fleet):
    task = _send(fleet, fleet.alice_id, "bob", "deploy the parser")
    show = cli("--json", "--fleet-id", fleet.fleet_id, "message", "show", "--agent-id", fleet.bob_id, "--task-id", task.id).json()
    result = cli("--json", "--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.bob_id, "parser")
    [hit] = result.json()
    assert set(hit) == set(show) | {"score", "snippet", "snippet_matches"}
    assert {k: hit[k] for k in show} == show
    assert hit["snippet"] == "deploy the parser" and hit["snippet_matches"] == [[11, 17]]
    assert hit["score"] > 0


def test_no_results_and_someone_elses_message(cli, fleet):
    _send(fleet, fleet.alice_id, "bob", "private matter")
    result = cli("--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.director_id, "private")
    assert result.code == 0 and "⟦private⟧ matter" in result.out  # the Director sees the fleet
    none = cli("--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.alice_id, "nothing")
    assert (none.code, none.out) == (0, "No messages match 'nothing'.\n")
    empty_json = cli("--json", "--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.alice_id, "nothing")
    assert empty_json.json() == []


def test_bad_input_is_an_error_that_says_what_to_do(cli, fleet):
    cases = [
        (["!!!"], 2, "has no words to search for"),
        (["x", "--since", "yesterday"], 2, "--since 'yesterday' is not an ISO-8601 time"),
        (["x", "--limit", "0"], 2, "--limit"),
        (["x", "--from", "ghost"], 1, "--from 'ghost': no agent of fleet"),
    ]
    for args, code, message in cases:
        result = cli("--fleet-id", fleet.fleet_id, "message", "search", "--agent-id", fleet.bob_id, *args)
        assert result.code == code, (args, result)
        assert result.err.startswith("Error: ") or "Usage:" in result.err, result.err
        assert message in result.err, result.err
        assert result.out == "" and "Traceback" not in result.err


def test_invalid_utf8_in_the_query_is_a_usage_error(cli, fleet):
    import os
    import subprocess

    from tests.support import cafleet_command

    argv = [os.fsencode(a) for a in cafleet_command()] + [
        b"--fleet-id",
        str(fleet.fleet_id).encode(),
        b"message",
        b"search",
        b"--agent-id",
        str(fleet.bob_id).encode(),
        b"bad\xff",
    ]
    result = subprocess.run(argv, capture_output=True, timeout=30)
    assert result.returncode == 2, result
    assert result.stderr.decode().startswith("Error: search query") and b"Traceback" not in result.stderr
