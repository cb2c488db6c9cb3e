"""The real agents refused by their provider, read by their screen readers (marker `realagents`).

The loopback model answers with each error in its API's own shape (`tests.realagents.faults`);
each backend's reader must see the state a person sees: retrying, limited (with the reset time
the agent shows), auth-expired, context-full; and ready again once the provider answers. A
member refused so keeps its notices (deferred, never typed, never dropped) until its next turn.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime
from typing import NamedTuple

import pytest

from cafleet.core.reset_time import reset_at
from tests.realagents.agent_pane import AgentPane, context, start, type_turn, unhung, wait_for_state, wait_on_screen
from tests.realagents.faults import Fault, FaultKind
from tests.realagents.harness import (
    FIRST_TURN_S,
    ROUTES,
    SHELL_TOOLS,
    director_inputs,
    start_field,
    stop_field,
    wait_until,
)
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import (  # noqa: F401 (a fixture)
    create_fleet,
    create_worker,
    fleet_json,
    member_pane_of,
    real_agents,
    send,
)

pytestmark = pytest.mark.realagents
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")  # a JSON Lines file to append timings to
RETRY = 4  # seconds a 429 or 529 asks the agent to wait

# Per backend: each fault, the state its screen must read as, and whether the agent gets out
# of it by itself once the provider answers again (it retries), or only with its next turn.
WALKS = {
    "claude": [
        (FaultKind.RATE_LIMIT, "retrying", True),
        (FaultKind.OVERLOADED, "retrying", True),
        (FaultKind.AUTH_EXPIRED, "auth-expired", True),  # with an API key claude retries a 401
        (FaultKind.USAGE_LIMIT, "limited", False),  # an API key's account limit: "Request rejected (429)"
        (FaultKind.QUOTA, "limited", False),
        (FaultKind.CONTEXT_FULL, "context-full", False),
    ],
    "codex": [
        (FaultKind.RATE_LIMIT, "retrying", True),
        (FaultKind.OVERLOADED, "retrying", True),
        (FaultKind.USAGE_LIMIT, "limited", False),
        (FaultKind.QUOTA, "limited", False),
        (FaultKind.AUTH_EXPIRED, "auth-expired", False),
        (FaultKind.CONTEXT_FULL, "context-full", False),
    ],
    "opencode": [
        (FaultKind.RATE_LIMIT, "retrying", True),
        (FaultKind.OVERLOADED, "retrying", True),
        (FaultKind.USAGE_LIMIT, "limited", True),  # opencode retries every 429, a usage limit too
        (FaultKind.QUOTA, "limited", True),
        (FaultKind.AUTH_EXPIRED, "auth-expired", False),
        (FaultKind.CONTEXT_FULL, "context-full", False),
    ],
}


def started(field, backend, server, unset=(), **extra) -> AgentPane:
    spawn = context(field, backend, "You are worker. Wait for instructions.")
    pane = unhung(field, lambda: start(field, backend, spawn, unset, **extra))
    wait_until(lambda: [r for r in server.requests if r.is_agent_turn(SHELL_TOOLS[backend])], 180, f"{backend}'s first turn")
    wait_for_state(field, pane, "ready")
    return pane


@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_each_refusal_reads_as_its_state_and_passes(real_agents, tmp_path, backend):
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet_command()[0])
        try:
            pane = started(field, backend, server)
            for step, (kind, state, by_itself) in enumerate(WALKS[backend]):
                fault = Fault(kind, retry_after=RETRY, resets_at=int(time.time()) + 3600)
                server.fail(fault)
                type_turn(field, pane, f"step {step}: {kind}")
                seen = wait_for_state(field, pane, state, timeout=120)
                assert seen.detail, seen
                if kind == FaultKind.USAGE_LIMIT and backend == "codex":
                    assert _about(reset_at(seen.resets, datetime.now().astimezone()), fault.reset_epoch()), seen
                server.heal()
                if not by_itself:
                    type_turn(field, pane, f"step {step}: after {kind}")
                    wait_until(
                        lambda s=step: [r for r in server.requests if f"step {s}: after" in r.last_text], 60, "the next turn"
                    )
                wait_for_state(field, pane, "ready", timeout=180)
        finally:
            stop_field(field)


def test_claude_at_its_usage_limit_shows_the_reset_and_continues_then_by_itself(real_agents, tmp_path):
    """A subscription (an OAuth token) gets claude's own usage-limit screen."""
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, "claude", server, cafleet_command()[0])
        try:
            token = "sk-ant-oat01-cafleet-loopback-oauth-token-000000000000"
            pane = started(field, "claude", server, ("ANTHROPIC_API_KEY",), CLAUDE_CODE_OAUTH_TOKEN=token)
            resets_at = int(time.time()) + 45
            server.fail(Fault(FaultKind.USAGE_LIMIT, resets_at=resets_at))
            type_turn(field, pane, "one more thing")
            seen = wait_for_state(field, pane, "limited")
            assert _about(reset_at(seen.resets, datetime.now().astimezone()), resets_at), seen
            server.heal()
            asked = len(server.requests)
            wait_on_screen(field, pane, lambda: len(server.requests) > asked, 180, "claude to continue at the reset")
            wait_for_state(field, pane, "ready")
        finally:
            stop_field(field)


class Limit(NamedTuple):
    backend: str
    reset_ahead: int  # seconds from the refusal to the reset
    woken: str  # how it gets out: "itself", or the monitor's wake at the "reset" or on its "back-off"
    subscription: bool = False  # claude with an OAuth token, not an API key


# How each agent gets out of its usage limit once the reset passes (the model lifts the limit
# then). codex keeps its refusal until its next turn, and claude with an API key shows no reset
# time: the monitor wakes them, at the reset or on its back-off. A subscription's claude
# continues by itself (about a minute after the reset). opencode retries a limit by itself,
# with a growing wait, and gives up after about 70 s: a reset before that it rides out alone,
# after that the monitor wakes it on its back-off.
LIMITS = {
    "claude-subscription": Limit("claude", 60, "itself", subscription=True),
    "claude-api-key": Limit("claude", 75, "back-off"),
    "codex": Limit("codex", 75, "reset"),
    "opencode-retrying": Limit("opencode", 25, "itself"),
    "opencode-gave-up": Limit("opencode", 120, "back-off"),
}
BACKOFF = 30  # the monitor's first back-off wait (`--wake-backoff`)
OAUTH_TOKEN = "sk-ant-oat01-cafleet-loopback-oauth-token-000000000000"


@pytest.mark.parametrize("case", list(LIMITS))
def test_a_member_at_its_usage_limit_is_held_told_and_woken_after_the_reset(real_agents, tmp_path, case):
    """Its notice waits (never typed into the refused agent), its Director is told once, and
    once the limit resets the member acts again, woken by the monitor or by itself; then the
    held notice lands, once."""
    backend, reset_ahead, woken, subscription = LIMITS[case]
    cafleet = cafleet_command()[0]
    tool = SHELL_TOOLS[backend]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        if subscription:  # the member's pane gets a subscription's token, no key
            tmux = ["tmux", "-L", field.socket_name]
            subprocess.run([*tmux, "set-environment", "-g", "-u", "ANTHROPIC_API_KEY"], check=True, timeout=10)
            subprocess.run([*tmux, "set-environment", "-g", "CLAUDE_CODE_OAUTH_TOKEN", OAUTH_TOKEN], check=True, timeout=10)
        monitor = None
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend)
            monitor = subprocess.Popen(
                [cafleet, "--fleet-id", str(fleet), "monitor", "start", "--tick", "1", "--wake-backoff", str(BACKOFF)],
                env=field.env,
                cwd=field.workdir,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            wait_until(lambda: [r for r in server.requests if r.is_agent_turn(tool)], FIRST_TURN_S, f"{backend}'s first turn")
            pane = AgentPane(backend, member_pane_of(field, cafleet, fleet, director, member), time.time())
            wait_for_state(field, pane, "ready")

            def status(task_id):
                return fleet_json(
                    cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task_id)
                )["notify_status"]

            def told():
                inbox = fleet_json(cafleet, field, fleet, "message", "poll", "--agent-id", str(director), "--full")
                return [t for t in inbox if t["from_agent_id"] == member and t["text"].startswith("[limited]")]

            resets_at = int(time.time()) + reset_ahead
            server.fail(Fault(FaultKind.USAGE_LIMIT, resets_at=resets_at))  # lifts at resets_at
            first = send(cafleet, field, fleet, director, "the first notice")  # its turn is refused
            seen = wait_for_state(field, pane, "limited", timeout=120)
            assert status(first) == "delivered"  # typed before the limit showed
            if case in ("claude-subscription", "codex"):  # opencode shows only its next attempt
                assert _about(reset_at(seen.resets, datetime.now().astimezone()), resets_at), seen
            held = send(cafleet, field, fleet, director, "the held notice")
            wait_until(lambda: status(held) == "deferred:limited", 30, "the notice to be held")

            (message,) = wait_until(told, 60, "the Director to be told", interval=0.5)
            assert message["text"].startswith(f"[limited] worker#{member} hit its provider's limit: ")
            assert "Its notices wait until it takes input again" in message["text"]
            if case in ("claude-subscription", "codex"):
                assert "It resets at " in message["text"], message["text"]
            landed = wait_until(
                lambda: [t for t in director_inputs(field) if "[limited] worker#" in t], 60, "the message in its pane"
            )
            assert len(landed) == 1

            # Nothing reaches the model from it until the reset; then it acts again.
            def acting():
                return [r for r in server.requests if r.is_agent_turn(tool) and r.fault is None and not r.after_tool_result]

            before = len(acting())
            acted_at = wait_until(
                lambda: len(acting()) > before and time.time(), reset_ahead + 4 * BACKOFF + 180, "the member to act again", 0.2
            )
            assert acted_at >= resets_at
            wakes = [r for r in server.requests if "[cafleet wake]" in r.last_text]
            if woken == "itself":
                assert wakes == [], [r.last_text for r in wakes]
            else:
                assert wakes, "the monitor never woke it"
                assert f"message poll --agent-id {member}" in wakes[0].last_text
            wait_until(lambda: status(held) == "delivered", 120, "the held notice to land", interval=0.5)
            at_model = wait_until(
                lambda: [r for r in server.requests if "the held notice" in r.last_text and r.fault is None],
                90,
                "it at the model",
            )
            assert len(at_model) == 1
            # Typed only once it took input again: after its first turn since the reset.
            assert server.requests.index(at_model[0]) > server.requests.index(acting()[before])
            assert len(told()) == 1  # told once, however often the courier looked
            said = _stop(monitor)
            woke = said.count(f"wake worker#{member} ")
            assert (woke == 0) is (woken == "itself"), said
            _record(case, resets_at, acted_at, woke)
        finally:
            if monitor is not None and monitor.poll() is None:
                print(_stop(monitor))  # its decisions, for a failure's report
            stop_field(field)


def _stop(monitor: subprocess.Popen) -> str:
    monitor.terminate()
    return monitor.communicate(timeout=10)[0]


def _record(case: str, resets_at: int, acted_at: float, wakes: int) -> None:
    """How long from the reset to the member acting, for the notes (CAFLEET_REAL_AGENT_TIMINGS)."""
    line = {"case": case, "reset_to_acting_s": round(acted_at - resets_at, 1), "monitor_wakes": wakes}
    print(json.dumps(line))
    if TIMINGS:
        with open(TIMINGS, "a") as out:
            out.write(json.dumps(line) + "\n")


def _about(moment, epoch: int) -> bool:
    """The shown time names `epoch`'s minute (agents show minutes)."""
    return moment is not None and -60 <= moment.timestamp() - epoch <= 60
