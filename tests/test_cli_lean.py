"""What agents pay for: lean poll/list JSON, --full changing only the text length, and the
small conveniences the playbooks rely on (`--to name#id`, several acks at once, register --quiet)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from cafleet.store.models import Task

BENCH = Path(__file__).resolve().parent.parent / "bench" / "poll_bytes.py"


def send(cli, fleet, to, text="hi", sender=None):
    result = cli(
        "--fleet-id",
        fleet.fleet_id,
        "message",
        "send",
        "--agent-id",
        sender or fleet.alice_id,
        "--to",
        to,
        "--text",
        text,
        "--quiet",
    )
    assert result.code == 0, result.err
    return int(result.out)


def test_a_json_poll_of_five_short_messages_costs_at_most_1_3_times_its_text():
    done = subprocess.run([sys.executable, str(BENCH), "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sizes = json.loads(done.stdout)
    assert sizes["poll --json"] <= 1.3 * sizes["poll text"], sizes
    assert sizes["poll --full text"] == sizes["poll text"], "short texts: --full must not add anything"
    assert sizes["agent list --json"] < sizes["poll --json --full"], sizes


def test_poll_full_in_text_only_lifts_the_cut(fleet, cli):
    f = fleet.fleet_id
    task = send(cli, fleet, "bob", "x" * 30)
    env = {"CAFLEET_MAX_TEXT_LEN": "10"}
    cut = cli("--fleet-id", f, "message", "poll", "--agent-id", fleet.bob_id, env=env).out.splitlines()
    full = cli("--fleet-id", f, "message", "poll", "--agent-id", fleet.bob_id, "--full", env=env).out.splitlines()
    assert cut[0] == full[0] and re.fullmatch(rf"#{task} from alice#{fleet.alice_id} \S+Z", full[0])
    assert (cut[1], full[1]) == ("  " + "x" * 10 + "…", "  " + "x" * 30)
    shown = cli("--fleet-id", f, "message", "show", "--agent-id", fleet.bob_id, "--task-id", task).out
    assert f"to bob#{fleet.bob_id}" in shown and "notify=skipped:no-placement" in shown


def test_lean_poll_keeps_threads_and_marks_a_cut(fleet, cli):
    f = fleet.fleet_id
    first = send(cli, fleet, "bob", "y" * 30)
    answer = send(cli, fleet, "alice", "ok", sender=fleet.bob_id)
    cli("--fleet-id", f, "message", "send", "--agent-id", fleet.alice_id, "--to", "bob", "--reply-to", answer, "--text", "fine")
    polled = cli(
        "--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id, env={"CAFLEET_MAX_TEXT_LEN": "5"}
    ).json()
    assert polled[0] == {"task_id": first, "from": f"alice#{fleet.alice_id}", "text": "yyyyy…", "text_truncated": True}
    assert polled[1]["reply_to_id"] == answer and "text_truncated" not in polled[1]
    cli("--fleet-id", f, "message", "ack", "--agent-id", fleet.bob_id, "--task-id", first)
    everything = cli("--fleet-id", f, "--json", "message", "poll", "--agent-id", fleet.bob_id, "--all").json()
    assert everything[0]["state"] == "completed" and everything[0]["acked_at"].endswith("Z")
    assert everything[1]["state"] == "input_required" and "acked_at" not in everything[1]


def test_to_accepts_name_hash_id_as_every_output_prints_it(fleet, cli):
    task = send(cli, fleet, f"bob#{fleet.bob_id}")
    assert Task.get_by_id(task).recipient_id == fleet.bob_id
    assert send(cli, fleet, f"BOB#{fleet.bob_id}")
    wrong = cli(
        "--fleet-id",
        fleet.fleet_id,
        "message",
        "send",
        "--agent-id",
        fleet.alice_id,
        "--to",
        f"bob#{fleet.alice_id}",
        "--text",
        "hi",
    )
    assert wrong.code == 1
    assert f"agent {fleet.alice_id} is named 'alice', not 'bob'" in wrong.err and f"alice#{fleet.alice_id}" in wrong.err
    assert Task.select().count() == 2


def test_to_all_is_a_usage_error_that_points_at_broadcast(fleet, cli):
    result = cli("--fleet-id", fleet.fleet_id, "message", "send", "--agent-id", fleet.alice_id, "--to", "all", "--text", "hi")
    assert result.code == 2
    assert result.err.startswith("Error: --to 'all'") and f"cafleet --fleet-id {fleet.fleet_id} message broadcast" in result.err
    assert Task.select().count() == 0


def test_ack_takes_several_tasks_all_or_none(fleet, cli):
    f, b = fleet.fleet_id, fleet.bob_id
    one, two, three = (send(cli, fleet, "bob", f"m{i}") for i in range(3))
    both = cli("--fleet-id", f, "message", "ack", "--agent-id", b, "--task-id", one, "--task-id", two)
    assert (both.code, both.out) == (0, f"Acked tasks {one}, {two}.\n")
    again = cli("--fleet-id", f, "message", "ack", "--agent-id", b, "--task-id", three, "--task-id", one)
    assert again.code == 1 and f"task {one} was already acked" in again.err
    assert Task.get_by_id(three).state == "input_required", "a refused ack must ack nothing"
    quiet = cli("--fleet-id", f, "--json", "message", "ack", "--agent-id", b, "--task-id", three, "--quiet")
    assert quiet.out == f"{three}\n"
    four, five = send(cli, fleet, "bob"), send(cli, fleet, "bob")
    acked = cli("--fleet-id", f, "--json", "message", "ack", "--agent-id", b, "--task-id", four, "--task-id", five).json()
    assert [t["task_id"] for t in acked] == [four, five] and {t["state"] for t in acked} == {"completed"}


def test_register_quiet_prints_only_the_id_even_under_json(fleet, cli):
    result = cli("--fleet-id", fleet.fleet_id, "--json", "agent", "register", "--name", "carol", "--description", "x", "--quiet")
    assert result.code == 0 and re.fullmatch(r"\d+\n", result.out)
