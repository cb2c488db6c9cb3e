"""`cafleet fleet export`: JSONL that round-trips to the database, a Markdown transcript, and
an --output that never clobbers a file or leaves a half-written one."""

from __future__ import annotations

import json
import re


def _story(fleet):
    from cafleet.broker.messages import ack_message, broadcast_message, cancel_message, send_message
    from cafleet.store.models import Task

    question = send_message(fleet.fleet_id, fleet.alice_id, "bob", "Review PR 42?\nIt touches the tokenizer.")
    answer = send_message(fleet.fleet_id, fleet.bob_id, "alice", "Done, two nits.", reply_to=question.id)
    ack_message(fleet.fleet_id, fleet.bob_id, question.id)
    sent = broadcast_message(fleet.fleet_id, fleet.director_id, "Standup in 5 ⟦minutes⟧ \x1b[31m")
    ack_message(fleet.fleet_id, fleet.alice_id, sent.deliveries[0].id)
    retracted = send_message(fleet.fleet_id, fleet.alice_id, "bob", "never mind")
    cancel_message(fleet.fleet_id, fleet.alice_id, retracted.id)
    # The first two on one day, the rest on the next: the transcript has two day headings.
    Task.update(created_at="2026-11-20T09:00:00.000000Z").where(Task.id <= answer.id).execute()
    Task.update(created_at="2026-11-21T10:00:00.000000Z").where(Task.id > answer.id).execute()
    return question, answer, sent, retracted


def test_jsonl_round_trips_to_the_database(cli, fleet):
    from cafleet.store.models import Task

    _story(fleet)
    result = cli("fleet", "export", fleet.fleet_id)
    assert result.code == 0, result
    assert result.err == ""
    documents = [json.loads(line) for line in result.out.splitlines()]

    rows = {t.id: t for t in Task.select().where(Task.fleet == fleet.fleet_id)}
    seen = set()
    for doc in documents:
        row = rows[doc["task_id"]]
        assert doc["kind"] in ("unicast", "broadcast_summary")
        assert (doc["text"], doc["text_truncated"]) == (row.text, False)
        assert (doc["from_agent_id"], doc["to_agent_id"], doc["state"]) == (row.sender_id, row.recipient_id, row.state)
        assert (doc["created_at"], doc["acked_at"], doc["reply_to_id"]) == (row.created_at, row.acked_at, row.reply_to_id)
        assert (doc["origin_task_id"], doc["notify_status"], doc["notified_at"]) == (
            row.origin_id,
            row.notify_status,
            row.notified_at,
        )
        seen.add(row.id)
        for delivery in doc.get("deliveries", []):
            copy = rows[delivery["task_id"]]
            assert (copy.origin_id, copy.recipient_id, copy.state, copy.acked_at) == (
                row.id,
                delivery["to_agent_id"],
                delivery["state"],
                delivery["acked_at"],
            )
            seen.add(copy.id)
    assert seen == set(rows), "every task of the fleet is in the export"
    assert [d["task_id"] for d in documents] == sorted(d["task_id"] for d in documents)


def test_jsonl_objects_have_the_keys_of_message_show_json(cli, fleet):
    question, _, sent, _ = _story(fleet)
    documents = {
        json.loads(line)["task_id"]: json.loads(line) for line in cli("fleet", "export", fleet.fleet_id).out.splitlines()
    }
    for task_id, agent_id in ((question.id, fleet.alice_id), (sent.summary.id, fleet.director_id)):
        shown = cli(
            "--json", "--fleet-id", fleet.fleet_id, "message", "show", "--agent-id", agent_id, "--task-id", task_id, "--full"
        )
        assert documents[task_id] == shown.json()


def test_markdown_reads_as_a_transcript_grouped_by_day(cli, fleet):
    question, answer, sent, retracted = _story(fleet)
    result = cli("fleet", "export", fleet.fleet_id, "--format", "markdown")
    assert result.code == 0, result
    text = re.sub(r"Exported \S+ \S+ UTC", "Exported NOW UTC", result.out)
    a, b, d = fleet.alice_id, fleet.bob_id, fleet.director_id
    first, second = sent.deliveries[0], sent.deliveries[1]
    assert text == (
        f'# Fleet {fleet.fleet_id} "test": transcript\n\n'
        "Exported NOW UTC. Times are UTC; ✓ acked, ● unread, ✗ canceled.\n"
        "\n## 2026-11-20\n"
        f"\n**09:00:00 alice#{a} → bob#{b}** · #{question.id} · ✓ {_clock(question.id)}\n\n"
        "> Review PR 42?\n> It touches the tokenizer.\n"
        f"\n**09:00:00 bob#{b} → alice#{a}** · #{answer.id} · re #{question.id} · ● unread\n\n"
        "> Done, two nits.\n"
        "\n## 2026-11-21\n"
        f"\n**10:00:00 director#{d} → all ({len(sent.deliveries)})** · #{sent.summary.id} · broadcast · "
        f"{first.to_name}#{first.to_agent_id} ✓ {_clock(first.id)} · {second.to_name}#{second.to_agent_id} ● unread\n\n"
        "> Standup in 5 ⟦minutes⟧ \\u001b[31m\n"
        f"\n**10:00:00 alice#{a} → bob#{b}** · #{retracted.id} · ✗ canceled {_clock(retracted.id, 'state_changed_at')}\n\n"
        "> never mind\n"
    )


def test_the_transcript_numbers_a_reply_to_a_broadcast_as_its_summary(cli, fleet):
    """The transcript lists a broadcast once, as its summary: a reply to one recipient's copy
    answers that summary, not a copy the transcript never shows."""
    from cafleet.broker.messages import broadcast_message, send_message

    sent = broadcast_message(fleet.fleet_id, fleet.director_id, "Standup")
    copy = next(d for d in sent.deliveries if d.to_agent_id == fleet.alice_id)
    reply = send_message(fleet.fleet_id, fleet.alice_id, "director", "no blockers", reply_to=copy.id)
    result = cli("fleet", "export", fleet.fleet_id, "--format", "markdown")
    assert result.code == 0, result
    header = next(line for line in result.out.splitlines() if f"#{reply.id} ·" in line)
    assert f"· re #{sent.summary.id} ·" in header and f"#{copy.id}" not in header


def _clock(task_id: int, column: str = "acked_at") -> str:
    from cafleet.store.models import Task

    return getattr(Task.get_by_id(task_id), column)[11:19]


def test_output_file_is_written_whole_and_never_clobbered(cli, fleet, tmp_path):
    _story(fleet)
    target = tmp_path / "out.jsonl"
    first = cli("fleet", "export", fleet.fleet_id, "--output", target)
    assert first.code == 0 and first.out == "" and first.err == f"Exported fleet {fleet.fleet_id} to {target}.\n"
    assert target.read_text() == cli("fleet", "export", fleet.fleet_id).out
    assert oct(target.stat().st_mode & 0o777) == "0o600"  # private messages stay private

    target.write_text("keep me")
    refused = cli("fleet", "export", fleet.fleet_id, "--output", target)
    assert refused.code == 1 and "already exists" in refused.err and "--force" in refused.err
    assert target.read_text() == "keep me"
    forced = cli("fleet", "export", fleet.fleet_id, "--output", target, "--force", "--format", "markdown")
    assert forced.code == 0 and target.read_text().startswith("# Fleet")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_bad_exports_write_nothing(cli, fleet, tmp_path):
    cases = [
        (["fleet", "export", 99], 1, "fleet 99 not found"),
        (["fleet", "export", fleet.fleet_id, "--output", tmp_path], 2, "is a directory"),
        (["fleet", "export", fleet.fleet_id, "--output", tmp_path / "no" / "x.jsonl"], 2, "does not exist"),
        (["fleet", "export", fleet.fleet_id, "--force"], 2, "--force only applies to --output"),
        (["fleet", "export", fleet.fleet_id, "--format", "csv"], 2, "'csv' is not one of"),
    ]
    before = sorted(tmp_path.rglob("*"))
    for args, code, message in cases:
        result = cli(*args)
        assert result.code == code, (args, result)
        assert message in result.err and result.out == "", (args, result.err)
    assert sorted(tmp_path.rglob("*")) == before


def test_a_deleted_fleet_can_still_be_exported(cli, fleet):
    from cafleet.broker.fleets import delete_fleet

    _story(fleet)
    delete_fleet(fleet.fleet_id)
    result = cli("fleet", "export", fleet.fleet_id)
    assert result.code == 0 and len(result.out.splitlines()) == 4


def test_an_agent_pane_cannot_export_the_fleet(cli, fleet, tmp_path):
    """Exporting reads every inbox: an agent inside the fleet must not use it to snoop."""
    from cafleet.broker.members import attach_pane, register_member
    from tests.support import FAKE_PANE

    member = register_member(fleet.fleet_id, fleet.director_id, "coder", "codes", "claude")
    attach_pane(member.id, "%9")
    env = {"TMUX": f"{FAKE_PANE.tmux_socket},{FAKE_PANE.tmux_server_pid},0", "TMUX_PANE": "%9"}
    result = cli("fleet", "export", fleet.fleet_id, env=env)
    assert result.code == 1 and "is for the Director" in result.err and result.out == ""


def test_an_output_path_with_control_characters_is_echoed_escaped(cli, fleet, tmp_path):
    target = tmp_path / "out\x08\x1b[2Jfile.jsonl"
    done = cli("--fleet-id", fleet.fleet_id, "fleet", "export", fleet.fleet_id, "--output", str(target))
    assert done.code == 0, done.err
    assert done.err == f"Exported fleet {fleet.fleet_id} to {tmp_path}/out\\x08\\x1b[2Jfile.jsonl.\n"
    assert target.exists()
