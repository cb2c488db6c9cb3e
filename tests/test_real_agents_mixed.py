"""A mixed fleet: one member of each of the six coding agents, real npm builds, in one fleet
(marker `realagents`; the scripted loopback model of tests/realagents).

The Director asks each member to pass a message on to the next one round a ring (claude →
codex → opencode → gemini → qwen → pi → claude). Each member acks the Director's message,
sends its own to the next member and replies to the Director; the next member acks that one
and replies to its sender, which acks the reply. Every notice is typed into its agent as
exactly one turn and acked, every reply to the Director reaches its pane as one notice, and
`member delete` closes each member's pane with no process left. Six members beside the
Director in the 200×50 window would squeeze claude below its 8 rows: whoever does not fit
goes to a members window, and every pane keeps the rows its agent needs.
"""

from __future__ import annotations

import subprocess

import pytest

from cafleet.backends import BACKENDS as SPECS
from tests.realagents.harness import ROUTES, SHELL_TOOLS, director_inputs, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.realagents.script import NOTICE
from tests.support import cafleet_command
from tests.test_real_agents import (  # noqa: F401 (a fixture)
    agent_processes,
    create_fleet,
    fleet_json,
    live_panes,
    member_pane_of,
    real_agents,
)

pytestmark = pytest.mark.realagents
KINDS = ("claude", "codex", "opencode", "gemini", "qwen", "pi")
STARTUP_SECONDS = 240  # six agents starting at once on two loaded cores
EXCHANGE_SECONDS = 240


def pane_rows(field, pane_id: str) -> int:
    shown = subprocess.run(
        ["tmux", "-L", field.socket_name, "display-message", "-p", "-t", pane_id, "#{pane_height}"],
        capture_output=True,
        text=True,
        timeout=10,
    )
    return int(shown.stdout.strip())


def test_a_mixed_fleet_passes_messages_round_a_ring(real_agents, tmp_path):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, KINDS, server, cafleet)
        try:
            check_ring(field, server, cafleet)
        finally:
            stop_field(field)


def check_ring(field, server, cafleet):
    fleet, director = create_fleet(field, cafleet, "mixed")

    def cli(*args):
        return fleet_json(cafleet, field, fleet, *args)

    ids, panes = {}, {}
    for kind in KINDS:
        made = cli("member", "create", "--agent-id", str(director), "--name", kind, "--description", f"the {kind} member",
                   "--coding-agent", kind)  # fmt: skip
        ids[kind], panes[kind] = made["agent_id"], made["placement"]["tmux_pane_id"]
    for kind in KINDS:
        assert pane_rows(field, panes[kind]) >= SPECS[kind].min_rows, kind

    def turns(kind):
        """The requests of `kind`'s own conversation that offered its shell tool."""
        own = f"You are {kind}, a member"
        return [r for r in server.requests if r.is_agent_turn(SHELL_TOOLS[kind]) and r.carries(own)]

    for kind in KINDS:
        wait_until(lambda kind=kind: turns(kind), STARTUP_SECONDS, f"{kind}'s first turn")
        panes[kind] = member_pane_of(field, cafleet, fleet, director, ids[kind])  # moved, had its start hung

    ring = {kind: KINDS[(index + 1) % len(KINDS)] for index, kind in enumerate(KINDS)}
    asked = {}
    for kind in KINDS:
        text = f"please pass on to {ids[ring[kind]]}: a ring of six"
        asked[kind] = cli("message", "send", "--agent-id", str(director), "--to", str(ids[kind]), "--text", text)["task_id"]

    def director_task(task_id):
        return cli("message", "show", "--agent-id", str(director), "--task-id", str(task_id))

    def replies():
        inbox = cli("message", "poll", "--agent-id", str(director), "--all", "--full")
        return {t["reply_to_id"]: t for t in inbox if t["reply_to_id"] in asked.values()}

    wait_until(lambda: len(replies()) == len(KINDS), EXCHANGE_SECONDS, "a reply from every member")
    for kind in KINDS:
        assert director_task(asked[kind])["state"] == "completed", kind  # acked
        assert replies()[asked[kind]]["from_agent_id"] == ids[kind]

    def inputs_holding(kind, marker):
        """The user texts of `kind`'s whole conversation (its latest request) holding `marker`."""
        latest = max(turns(kind), key=lambda r: len(r.texts))
        return [t for t in latest.texts if marker in t]

    def acked(kind, task_id):
        """A command of `kind`'s that acked task `task_id`."""
        ack = f"message ack --agent-id {ids[kind]} --task-id {task_id}"
        return [r for r in turns(kind) if r.command and ack in r.command]

    # The passed-on message reached the next member, which acked it and answered its sender;
    # the answer reached the sender, which acked it.
    for kind in KINDS:
        after = ring[kind]
        hello = f"hello from agent {ids[kind]}, passed on"
        (text,) = wait_until(
            lambda after=after, hello=hello: inputs_holding(after, hello), EXCHANGE_SECONDS, f"{kind}'s message in {after}"
        )
        task_id = NOTICE.search(text)["task"]
        wait_until(lambda after=after, task_id=task_id: acked(after, task_id), EXCHANGE_SECONDS, f"{after} to ack {task_id}")
        answer = f"reply to task {task_id}:"
        (text,) = wait_until(
            lambda kind=kind, answer=answer: inputs_holding(kind, answer), EXCHANGE_SECONDS, f"{after}'s answer in {kind}"
        )
        answer_id = NOTICE.search(text)["task"]
        wait_until(lambda kind=kind, answer_id=answer_id: acked(kind, answer_id), EXCHANGE_SECONDS, f"{kind} to ack {answer_id}")

    # Every notice was typed into its member once, as one input of its own: in the member's
    # latest request (its whole conversation) exactly one user text holds it. (opencode sends
    # the inputs typed before its turn reached the model in one request, each its own text.)
    for kind in KINDS:
        assert len(inputs_holding(kind, f"[cafleet msg {asked[kind]} ")) == 1, kind
        assert len(inputs_holding(ring[kind], f"hello from agent {ids[kind]}, passed on")) == 1, ring[kind]

    # Every reply's notice reached the Director's pane, once.
    for kind in KINDS:
        reply_id = replies()[asked[kind]]["task_id"]
        head = f"[cafleet msg {reply_id} from {kind}#{ids[kind]}"
        landed = wait_until(
            lambda head=head: [t for t in director_inputs(field) if t.startswith(head)], 60, f"{kind}'s reply notice"
        )
        assert len(landed) == 1

    for kind in KINDS:
        cli("member", "delete", "--agent-id", str(director), "--member-id", str(ids[kind]))
        assert panes[kind] not in live_panes(field)
        assert not agent_processes(field, panes[kind]), f"{kind} outlived its pane"
    assert cli("member", "list", "--agent-id", str(director)) == []
