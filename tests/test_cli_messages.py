"""The agent-facing CLI through the real console script: output shapes, options, bad input."""

import json
import re
import time

import pytest

from cafleet.store.models import Task

TASK_KEYS = {
    "task_id",
    "fleet_id",
    "kind",
    "state",
    "from_agent_id",
    "from_name",
    "to_agent_id",
    "to_name",
    "origin_task_id",
    "reply_to_id",
    "text",
    "text_truncated",
    "created_at",
    "state_changed_at",
    "acked_at",
    "notify_status",
}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def no_traceback(result):
    assert "Traceback" not in result.err, result.err
    return result


def test_send_poll_ack_round_trip_in_text(fleet, cli):
    f, a, b = fleet.fleet_id, fleet.alice_id, fleet.bob_id
    sent = cli("--fleet-id", f, "message", "send", "--agent-id", a, "--to", "bob", "--text", "- please review\nPR 42")
    assert sent.code == 0 and re.fullmatch(rf"Sent task (\d+) to bob#{b}\.\n", sent.out)
    task_id = int(re.search(r"\d+", sent.out).group())

    polled = cli("--fleet-id", f, "message", "poll", "--agent-id", b)
    header, *body = polled.out.splitlines()
    assert re.fullmatch(rf"#{task_id} from alice#{a} \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ", header)
    assert body == ["  - please review", "  PR 42"]

    assert cli("--fleet-id", f, "message", "ack", "--agent-id", b, "--task-id", task_id).out == f"Acked task {task_id}.\n"
    assert cli("--fleet-id", f, "message", "poll", "--agent-id", b).out == "No unread messages.\n"


def test_global_options_are_accepted_after_the_command(fleet, cli):
    before = cli("--fleet-id", fleet.fleet_id, "--json", "message", "poll", "--agent-id", fleet.bob_id)
    after = cli("message", "poll", "--agent-id", fleet.bob_id, "--fleet-id", fleet.fleet_id, "--json")
    assert before.code == after.code == 0
    assert before.out == after.out == "[]\n"


def test_global_options_are_accepted_between_group_and_command(fleet, cli):
    result = cli("agent", "--fleet-id", fleet.fleet_id, "--json", "list", "--agent-id", fleet.alice_id)
    assert result.code == 0, result.err
    assert [a["name"] for a in result.json()][-2:] == ["alice", "bob"]


def test_json_shapes_are_stable(fleet, cli):
    f = fleet.fleet_id
    sent = cli(
        "--fleet-id", f, "--json", "message", "send", "--agent-id", fleet.alice_id, "--to", fleet.bob_id, "--text", "hi"
    ).json()
    assert set(sent) == TASK_KEYS
    assert ISO_UTC.match(sent["created_at"]) and sent["state"] == "input_required"
    assert (sent["from_agent_id"], sent["to_agent_id"], sent["text"]) == (fleet.alice_id, fleet.bob_id, "hi")

    summary = cli("--fleet-id", f, "--json", "message", "broadcast", "--agent-id", fleet.director_id, "--text", "all").json()
    assert summary["kind"] == "broadcast_summary" and summary["recipient_count"] == 2
    assert summary["origin_task_id"] == summary["task_id"]
    assert [d["to_agent_id"] for d in summary["deliveries"]] == [fleet.alice_id, fleet.bob_id]

    polled = cli("--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id).json()
    assert polled == [
        {"task_id": sent["task_id"], "from": f"alice#{fleet.alice_id}", "text": "hi"},
        {
            "task_id": summary["task_id"] + 2,
            "from": f"director#{fleet.director_id}",
            "origin_task_id": summary["task_id"],
            "text": "all",
        },
    ]
    detailed = cli("--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id, "--full").json()
    assert [set(t) for t in detailed] == [TASK_KEYS | {"notified_at"}] * 2
    assert [t["kind"] for t in detailed] == ["unicast", "broadcast"]

    roster = cli("--fleet-id", f, "--json", "agent", "list", "--agent-id", fleet.alice_id).json()
    assert [a["name"] for a in roster] == ["director", "Administrator", "alice", "bob"]
    assert roster[0] == {
        "agent_id": fleet.director_id,
        "name": "director",
        "kind": "director",
        "status": "active",
        "pane": "%1",
        "coding_agent": "claude",
        "description": roster[0]["description"],
    }
    assert set(roster[2]) == {"agent_id", "name", "kind", "status", "description"}
    full = cli("--fleet-id", f, "--json", "agent", "list", "--agent-id", fleet.alice_id, "--full").json()
    assert full[0]["placement"]["tmux_pane_id"] == "%1" and full[0]["fleet_id"] == f


def test_pretty_indents_json(fleet, cli):
    out = cli("--fleet-id", fleet.fleet_id, "--pretty", "agent", "show", "--agent-id", fleet.alice_id, "--id", fleet.bob_id).out
    assert out.startswith('{\n  "agent_id": ') and json.loads(out)["name"] == "bob"


def test_quiet_prints_only_the_id(fleet, cli):
    out = cli(
        "--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text", "x", "--quiet"
    ).out
    assert re.fullmatch(r"\d+\n", out)
    assert Task.get_by_id(int(out)).text == "x"


def test_text_is_cut_to_max_len_unless_full(fleet, cli):
    f = fleet.fleet_id
    cli("--fleet-id", f, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text", "😀" * 12)
    env = {"CAFLEET_MAX_TEXT_LEN": "5"}
    short = cli("--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id, env=env).json()[0]
    assert (short["text"], short["text_truncated"]) == ("😀" * 5 + "…", True)
    full = cli("--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id, "--full", env=env).json()[0]
    assert (full["text"], full["text_truncated"]) == ("😀" * 12, False)
    text = cli("--fleet-id", f, "message", "poll", "--agent-id", fleet.bob_id, env=env).out
    assert text.splitlines()[1] == "  " + "😀" * 5 + "…"


def test_poll_says_how_many_more_wait(fleet, cli):
    for i in range(3):
        cli("--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text", f"m{i}")
    out = cli("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.bob_id, "--page-size", "1").out
    assert out.splitlines()[-1] == "(2 more unread; ack these and poll again)"
    as_json = cli("--fleet-id", fleet.fleet_id, "--json", "message", "poll", "--agent-id", fleet.bob_id, "--page-size", "2")
    assert len(as_json.json()) == 2 and "1 more unread" in as_json.err


def test_text_file_and_stdin(fleet, cli, tmp_path):
    body = tmp_path / "body.md"
    body.write_text("# Plan\n- step one\n", encoding="utf-8")
    f = fleet.fleet_id
    from_file = cli(
        "--fleet-id", f, "--json", "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text-file", body, "--full"
    ).json()
    from_stdin = cli(
        "--fleet-id",
        f,
        "--json",
        "message",
        "send",
        "--agent-id",
        fleet.alice_id,
        "--to",
        "bob",
        "--text-file",
        "-",
        "--full",
        input="via stdin ✓",
    ).json()
    assert from_file["text"] == "# Plan\n- step one\n"
    assert from_stdin["text"] == "via stdin ✓"


def test_show_full_reports_delivery_outcome(fleet, cli):
    task_id = cli(
        "--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text", "x", "--quiet"
    ).out.strip()
    shown = cli("--fleet-id", fleet.fleet_id, "message", "show", "--agent-id", fleet.bob_id, "--task-id", task_id, "--full")
    assert shown.code == 0
    assert shown.out.splitlines()[0].endswith("unread notify=skipped:no-placement")


def write_bytes(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["message", "poll", "--agent-id", "1"], 2, "needs --fleet-id N"),
        (["--fleet-id", "abc", "fleet", "list"], 2, "'abc' is not an id"),
        (["--fleet-id", "1", "message", "poll", "--agent-id", "x"], 2, "'x' is not an id"),
        (["--fleet-id", "1", "message", "poll", "--agent-id", "0"], 2, "--agent-id"),
        (["--fleet-id", "1", "message", "ack", "--agent-id", "1"], 2, "Missing option '--task-id'"),
        (["--fleet-id", "77", "message", "poll", "--agent-id", "1"], 1, "fleet 77 not found"),
        (["--fleet-id", "1", "message", "poll", "--agent-id", "999"], 1, "agent 999 not found in fleet 1"),
        (["--fleet-id", "1", "message", "ack", "--agent-id", "4", "--task-id", "555"], 1, "task 555 not found"),
        (
            ["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "nobody", "--text", "hi"],
            1,
            "no active agent named 'nobody'",
        ),
        (["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "bob", "--text", "  "], 2, "empty"),
        (["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "bob"], 2, "exactly one of --text"),
        (
            ["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "bob", "--text", "a", "--text-file", "-"],
            2,
            "exactly one of --text",
        ),
        (
            ["--fleet-id", "1", "message", "send", "--agent-id", "3", "--to", "bob", "--text-file", "/nonexistent/x.md"],
            2,
            "cannot read --text-file '/nonexistent/x.md'",
        ),
        (
            ["--fleet-id", "1", "message", "poll", "--agent-id", "4", "--since", "yesterday"],
            2,
            "--since 'yesterday' is not an ISO-8601 time",
        ),
        (["--fleet-id", "1", "message", "poll", "--agent-id", "4", "--page-size", "0"], 2, "--page-size"),
        (["--fleet-id", "1", "message", "poll", "--agent-id", "4", "--wait", "-1"], 2, "--wait"),
        (
            ["--fleet-id", "1", "agent", "register", "--name", "bad name", "--description", "x"],
            2,
            "agent name 'bad name' is not allowed",
        ),
        (
            ["--fleet-id", "1", "agent", "register", "--name", "Alice", "--description", "x"],
            1,
            "already has an active agent named 'alice'",
        ),
        (["--fleet-id", "1", "agent", "deregister", "--agent-id", "1"], 1, "root Director"),
        (["fleet", "show", "-3"], 2, "-3"),
        (["fleet", "delete", "12"], 1, "fleet 12 not found"),
        (["message", "nonsense"], 2, "No such command 'nonsense'"),
    ],
)
def test_bad_input_gets_one_clear_error_and_changes_nothing(fleet, cli, args, code, message):
    assert (fleet.fleet_id, fleet.alice_id, fleet.bob_id) == (1, 3, 4)  # ids the table relies on
    before = Task.select().count()
    result = no_traceback(cli(*args))
    assert result.code == code, result
    assert result.err.startswith("Error:") or "Error:" in result.err, result.err
    assert message in result.err
    assert result.out == ""
    assert Task.select().count() == before


def test_non_utf8_text_file_is_refused(fleet, cli, tmp_path):
    latin1 = write_bytes(tmp_path / "latin1.txt", "café".encode("latin-1"))
    result = no_traceback(
        cli("--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text-file", latin1)
    )
    assert result.code == 2
    assert f"--text-file '{latin1}' is not UTF-8 text (invalid byte 0xe9 at offset 3)" in result.err
    assert Task.select().count() == 0


def test_oversized_text_file_is_refused(fleet, cli, tmp_path):
    big = write_bytes(tmp_path / "big.log", b"x" * (1024 * 1024 + 10))
    result = no_traceback(
        cli("--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--text-file", big)
    )
    assert result.code == 2 and "over the 1,048,576-byte message limit" in result.err


@pytest.mark.parametrize("value", ["lots", "٣", "1_0", "-5", "0", "99999999999999999999"])
def test_bad_max_text_len_is_explained(fleet, cli, value):
    result = no_traceback(
        cli("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.bob_id, env={"CAFLEET_MAX_TEXT_LEN": value})
    )
    assert result.code == 2 and f"CAFLEET_MAX_TEXT_LEN={value!r} must be a positive integer" in result.err


def test_deleted_fleet_is_refused_with_a_way_out(fleet, cli):
    assert cli("fleet", "delete", fleet.fleet_id).out == "Deleted fleet 1. Deregistered 4 agents.\n"
    assert cli("fleet", "delete", fleet.fleet_id).out == "Deleted fleet 1. Deregistered 0 agents.\n"
    result = no_traceback(cli("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.bob_id))
    assert result.code == 1 and "fleet 1 was deleted at" in result.err and "cafleet fleet create" in result.err
    assert cli("fleet", "list").out.startswith("No fleets yet")
    shown = cli("--json", "fleet", "show", fleet.fleet_id).json()
    assert shown["deleted_at"] and {a["status"] for a in shown["agents"]} == {"deregistered"}


def test_version_and_help(cli):
    from cafleet import __version__

    assert cli("--version").out == f"cafleet {__version__}\n"
    assert cli("fleet", "list", "--version").out == f"cafleet {__version__}\n"
    bare = cli()
    assert bare.code == 0 and "message" in bare.out and "--fleet-id N" in bare.out
    sub = cli("message", "send", "--help")
    assert "--fleet-id" not in sub.out  # global options are documented once, on the root


def test_ui_without_a_terminal_refuses_at_once(cli):
    started = time.monotonic()
    result = cli("ui", input=b"", timeout=10)
    assert result.code == 2 and "`cafleet ui` needs a terminal on stdin and stdout" in result.err
    assert time.monotonic() - started < 2
    assert "Traceback" not in result.err


def test_a_broadcast_to_one_agent_says_agent_and_delivery_in_the_singular(fleet, cli):
    f = fleet.fleet_id
    assert cli("--fleet-id", f, "agent", "deregister", "--agent-id", fleet.bob_id).code == 0
    sent = cli("--fleet-id", f, "message", "broadcast", "--agent-id", fleet.alice_id, "--text", "standup")
    assert re.match(r"Broadcast task (\d+) to 1 agent: director#\d+ \(task \d+\)\.\n", sent.out), sent.out
    summary = re.match(r"Broadcast task (\d+)", sent.out).group(1)
    shown = cli("--fleet-id", f, "message", "show", "--agent-id", fleet.alice_id, "--task-id", summary)
    assert " to 1 agent " in shown.out.splitlines()[0], shown.out
    canceled = cli("--fleet-id", f, "message", "cancel", "--agent-id", fleet.alice_id, "--task-id", summary)
    assert canceled.out == f"Canceled broadcast {summary}: 1 of 1 delivery is canceled.\n"
