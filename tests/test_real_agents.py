"""The core loop with the real npm builds of all six coding agents (marker `realagents`).

For each backend, with default `member create` arguments: the spawn prompt is the member's
own first turn; a Director's message arrives as exactly one turn; the member's shell tool
runs cafleet (ack, then a reply) without any permission or sandbox edit; the reply lands in
the Director's inbox and its notice in the Director's pane; `member delete` closes the pane
and leaves none of the agent's processes behind. The model is the scripted
loopback server in tests/realagents (127.0.0.1 only); nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest

from tests.realagents.harness import (
    FIRST_TURN_S,
    ROUTES,
    SHELL_TOOLS,
    agents_bin,
    cafleet_json,
    director_inputs,
    pane_text,
    start_field,
    stop_field,
    wait_until,
)
from tests.realagents.model_server import ModelServer
from tests.realagents.script import NOTICE
from tests.support import cafleet_command

pytestmark = pytest.mark.realagents
RUNS = int(os.environ.get("CAFLEET_REAL_AGENT_RUNS", "1"))
# The backends to run (CAFLEET_REAL_AGENTS=claude,codex: only those), all six by default.
ONLY = [name for name in os.environ.get("CAFLEET_REAL_AGENTS", "").split(",") if name]


def under_test(cases: list) -> list:
    """The parameter cases (a backend, or a tuple led by one) of the backends to run."""
    return [case for case in cases if not ONLY or (case[0] if isinstance(case, tuple) else case) in ONLY]


# What an agent whose own rules ask shows when it asks to run a command.
ASKS = {"opencode": "Permission required", "gemini": "Allow execution of", "qwen": "Allow execution of", "pi": "Allow this?"}
# How Qwen Code's memory extractor opens its request (qwen 0.24.4).
QWEN_MEMORY = "Managed memory has TWO directories"
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")  # a JSON Lines file to append timings to


@pytest.fixture
def real_agents():
    if agents_bin() is None:
        pytest.fail(
            "the real agents are not installed; run `npm install --prefix ~/.cache/cafleet-agents "
            "@anthropic-ai/claude-code@2.1.332 @openai/codex@0.171.0 opencode-ai@1.18.33 @google/gemini-cli@0.61.0 @qwen-code/qwen-code@0.24.4 @mariozechner/pi-coding-agent@0.73.1` "
            "(or set CAFLEET_REAL_AGENTS_DIR), as .ci/run does"
        )


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_a_real_member_acks_and_answers(real_agents, tmp_path, backend, run):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            check_core_loop(tmp_path, field, server, cafleet, backend)
        finally:
            stop_field(field)


def check_core_loop(tmp_path, field, server, cafleet, backend):
    tool = SHELL_TOOLS[backend]
    fleet, director = create_fleet(field, cafleet, backend)
    spawned_at = time.monotonic()
    member_id, _ = create_worker(field, cafleet, fleet, director, backend)

    def agent_turns():
        return [r for r in server.requests if r.is_agent_turn(tool)]

    first = wait_until(lambda: agent_turns(), FIRST_TURN_S, f"{backend}'s first turn")[0]
    first_turn_s = time.monotonic() - spawned_at
    member_pane = member_pane_of(field, cafleet, fleet, director, member_id)
    assert "You are worker" in first.last_text and not NOTICE.search(first.last_text), first.last_text

    task_id = send(cafleet, field, fleet, director, "please look at the parser")
    sent_at = time.monotonic()

    def task(task_id, as_agent):
        return fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(as_agent), "--task-id", str(task_id))

    wait_until(lambda: task(task_id, director)["state"] == "completed", 90, f"{backend} to ack task {task_id}", interval=0.2)
    acked_at = time.monotonic()
    wait_until(lambda: task(task_id, director)["notify_status"] == "delivered", 10, "the notice's notify_status")

    def reply():
        inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--full")
        return [t for t in inbox if t["reply_to_id"] == task_id and t["from_agent_id"] == member_id]

    (answer,) = wait_until(reply, 60, "the reply in the Director's inbox", interval=0.2)
    landed = wait_until(
        lambda: [t for t in director_inputs(field) if t.startswith(f"[cafleet msg {answer['task_id']} from worker#{member_id}")],
        30,
        "the reply's notice in the Director's pane",
    )
    landed_s = time.monotonic() - acked_at
    assert len(landed) == 1
    assert wait_until(lambda: task(answer["task_id"], director)["notify_status"] == "delivered", 10, "the reply's notify_status")

    notice_turns = [r for r in agent_turns() if f"[cafleet msg {task_id} " in r.last_text]
    assert len(notice_turns) == 1, [r.last_text for r in agent_turns()]
    assert notice_turns[0].command and "message ack" in notice_turns[0].command
    results = [r for r in agent_turns() if r.after_tool_result]
    assert results, "the model never saw the tool's result"
    screen = pane_text(field, member_pane)
    assert "denied" not in screen.lower() and "command not found" not in screen, screen[-2000:]

    deleted_at = time.monotonic()
    fleet_json(cafleet, field, fleet, "member", "delete", "--agent-id", str(director), "--member-id", str(member_id))
    delete_s = time.monotonic() - deleted_at
    assert member_pane not in live_panes(field)
    assert not agent_processes(field, member_pane), "the agent outlived its pane"

    if TIMINGS:
        with open(TIMINGS, "a") as out:
            out.write(
                json.dumps(
                    {
                        "backend": backend,
                        "spawn_to_first_turn_s": round(first_turn_s, 2),
                        "notice_to_ack_s": round(acked_at - sent_at, 2),
                        "ack_to_reply_notice_s": round(landed_s, 2),
                        "delete_s": round(delete_s, 2),
                    }
                )
                + "\n"
            )


def live_panes(field) -> list[str]:
    listed = subprocess.run(
        ["tmux", "-L", field.socket_name, "list-panes", "-a", "-F", "#{pane_id}"], capture_output=True, text=True, timeout=10
    )
    return listed.stdout.split()


def agent_processes(field, pane_id: str) -> list[int]:
    """The processes still running from a pane of the field's tmux server (closed or not)."""
    from cafleet.core.records import PlacementRecord
    from cafleet.panes.pane_leftovers import pane_processes

    placement = PlacementRecord(0, None, field.socket_path, field.server_pid, "main", "@0", pane_id, "", "")
    return [pid for pid, _ in pane_processes(placement)]


def fleet_json(cafleet, field, fleet, *args):
    """`cafleet --json --fleet-id FLEET ARGS…` as the Director runs it."""
    return cafleet_json(cafleet, field, "--fleet-id", str(fleet), *args)


def create_fleet(field, cafleet, backend):
    created = cafleet_json(cafleet, field, "fleet", "create", "--label", f"real {backend}", "--coding-agent", "claude")
    return created["fleet_id"], created["director"]["agent_id"]


def create_worker(field, cafleet, fleet, director, backend, *options):
    member = fleet_json(
        cafleet,
        field,
        fleet,
        "member",
        "create",
        "--agent-id",
        str(director),
        "--name",
        "worker",
        "--description",
        "does the work",
        "--coding-agent",
        backend,
        *options,
    )
    return member["agent_id"], member["placement"]["tmux_pane_id"]


def member_pane_of(field, cafleet, fleet, director, member_id) -> str:
    """The member's pane now: an agent whose start hung was started again in a new one."""
    members = fleet_json(cafleet, field, fleet, "member", "list", "--agent-id", str(director))
    (member,) = [m for m in members if m["agent_id"] == member_id]
    return member["placement"]["tmux_pane_id"]


def spawn_member(field, cafleet, backend):
    fleet, director = create_fleet(field, cafleet, backend)
    return (fleet, director, *create_worker(field, cafleet, fleet, director, backend))


def send(cafleet, field, fleet, director, text):
    return fleet_json(cafleet, field, fleet, "message", "send", "--agent-id", str(director), "--to", "worker", "--text", text)[
        "task_id"
    ]


def replies_to(cafleet, field, fleet, director):
    inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--full")
    return [t for t in inbox if t["to_agent_id"] == director]


@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_a_message_sent_right_after_spawn_waits_for_the_agent(real_agents, tmp_path, backend):
    """The notice is typed only once the new agent shows its input box: the spawn prompt stays
    its own first turn, and the notice is the next one (opencode drops input for seconds)."""
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director, member, _ = spawn_member(field, cafleet, backend)
            task_id = send(cafleet, field, fleet, director, "right away")
            wait_until(
                lambda: [t for t in replies_to(cafleet, field, fleet, director) if t["reply_to_id"] == task_id],
                FIRST_TURN_S,
                "the reply",
                interval=0.3,
            )
            # qwen's memory extractor, a sub-agent with the same tools and the same conversation,
            # may ask the model between two of the member's turns: it is not one of them.
            turns = [
                r
                for r in server.requests
                if r.is_agent_turn(SHELL_TOOLS[backend]) and not r.after_tool_result and not r.last_text.startswith(QWEN_MEMORY)
            ]
            assert "You are worker" in turns[0].last_text and not NOTICE.search(turns[0].last_text)
            assert [r for r in turns if f"[cafleet msg {task_id} " in r.last_text] == [turns[1]]
        finally:
            stop_field(field)


@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_doctor_in_a_real_member_says_it_can_run_cafleet(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet)
        field.env["CAFLEET_MAX_TEXT_LEN"] = "2000"  # the notice carries the whole command
        try:
            fleet, director, member, _ = spawn_member(field, cafleet, backend)
            prefix = f"{cafleet} --fleet-id {fleet}"
            send(
                cafleet,
                field,
                fleet,
                director,
                f"please run: {prefix} --json doctor | {prefix} message send --agent-id {member} --to {director} --text-file -",
            )
            (report,) = wait_until(  # not a `[restarted]` from cafleet, had the agent's start hung
                lambda: [t for t in replies_to(cafleet, field, fleet, director) if t["text"].startswith("{")],
                FIRST_TURN_S,
                "the doctor's report",
                interval=0.3,
            )
            doctor = json.loads(report["text"])
            assert doctor["agent"]["agent_id"] == member and doctor["agent"]["coding_agent"] == backend
            assert {c["name"]: c["ok"] for c in doctor["agent"]["checks"]} == {
                "database": True,
                "login-shell PATH": True,
                "permission": True,
                "notices": True,
            }, doctor["agent"]["checks"]
        finally:
            stop_field(field)


@pytest.mark.parametrize(
    "backend, user_config",
    under_test(
        [
            ("claude", None),  # dontAsk: whatever the user's settings do not allow is refused
            ("opencode", {"permission": {"bash": "ask"}}),  # the user's "ask" keeps governing other commands
            ("gemini", None),  # its default approval mode asks about every other command
            ("qwen", None),  # so does the approval mode cafleet starts it in
            ("pi", None),  # and cafleet's gate for pi, which has no approval prompts of its own
        ]
    ),
)
def test_members_may_run_cafleet_and_nothing_more(real_agents, tmp_path, backend, user_config):
    cafleet = cafleet_command()[0]
    marker = tmp_path / "work" / "not-allowed"
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet, user_config=user_config)
        try:
            fleet, director, member, _ = spawn_member(field, cafleet, backend)
            task_id = send(cafleet, field, fleet, director, "please ack")
            wait_until(
                lambda: [t for t in replies_to(cafleet, field, fleet, director) if t["reply_to_id"] == task_id],
                FIRST_TURN_S,
                "cafleet to run without a prompt",
                interval=0.3,
            )
            pane = member_pane_of(field, cafleet, fleet, director, member)
            send(cafleet, field, fleet, director, f"please run: touch {marker}")
            if backend in ASKS:
                wait_until(lambda: ASKS[backend] in pane_text(field, pane), 60, f"{backend} to ask")
            else:
                wait_until(
                    lambda: [r for r in server.requests if r.after_tool_result and r.is_agent_turn("Bash")][1:],
                    60,
                    "the refused tool call's result",
                )
            time.sleep(1)
            assert not marker.exists()
        finally:
            stop_field(field)


@pytest.mark.parametrize(
    "backend, options, user_config",
    under_test(
        [
            ("claude", ["--permission-mode", "default"], None),
            ("opencode", [], {"permission": {"bash": "ask"}}),
            ("gemini", [], None),
            ("qwen", [], None),
            ("pi", [], None),
        ]
    ),
)
def test_a_real_member_asking_is_reported_once_answered_and_never_typed_into(
    real_agents, tmp_path, backend, options, user_config
):
    """A permission prompt: the Director is told once, with the command that answers it; a
    notice meanwhile waits (typed into the prompt it would answer it); `send-input --choice 1`
    answers it."""
    cafleet = cafleet_command()[0]
    marker = tmp_path / "work" / "approved"
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet, user_config=user_config)
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member_id, _ = create_worker(field, cafleet, fleet, director, backend, *options)
            send(cafleet, field, fleet, director, f"please run: touch {marker}")

            def needs_you():
                inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--all", "--full")
                return [t for t in inbox if t["from_agent_id"] == member_id and t["text"].startswith("[needs you]")]

            (told,) = wait_until(needs_you, FIRST_TURN_S, "the Director to be told", interval=0.3)
            assert f"member send-input --agent-id {director} --member-id {member_id} --choice N" in told["text"]
            waiting = send(cafleet, field, fleet, director, "1")  # typed into the prompt, this would answer it
            wait_until(
                lambda: (
                    fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(waiting))[
                        "notify_status"
                    ]
                    == "deferred:asking"
                ),
                20,
                "the notice to wait",
                interval=0.3,
            )
            time.sleep(2)
            assert not marker.exists() and len(needs_you()) == 1
            answered = fleet_json(
                cafleet,
                field,
                fleet,
                "member",
                "send-input",
                "--agent-id",
                str(director),
                "--member-id",
                str(member_id),
                "--choice",
                "1",
            )
            assert answered["sent"] == "choice"
            wait_until(marker.exists, 30, "the approved command to run")
            wait_until(
                lambda: (
                    fleet_json(cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(waiting))[
                        "notify_status"
                    ]
                    == "delivered"
                ),
                60,
                "the waiting notice to land after the answer",
                interval=0.3,
            )
        finally:
            stop_field(field)


@pytest.mark.parametrize("backend", under_test(["gemini"]))
def test_a_forced_delete_ends_an_agent_that_outlives_its_pane(real_agents, tmp_path, backend):
    """An idle gemini ignores the hang-up of its killed pane: `member delete --force` ends it."""
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES) as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director, member, _ = spawn_member(field, cafleet, backend)
            wait_until(
                lambda: [r for r in server.requests if r.is_agent_turn(SHELL_TOOLS[backend])], FIRST_TURN_S, "the first turn"
            )
            pane = member_pane_of(field, cafleet, fleet, director, member)
            wait_until(lambda: "Ready and waiting" in pane_text(field, pane), 30, "the first turn to end")
            fleet_json(
                cafleet, field, fleet, "member", "delete", "--agent-id", str(director), "--member-id", str(member), "--force"
            )
            assert pane not in live_panes(field)
            assert not agent_processes(field, pane), "the agent outlived its killed pane"
        finally:
            stop_field(field)
