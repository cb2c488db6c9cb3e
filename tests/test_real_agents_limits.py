"""The real agents refused by their provider, read by their screen readers (marker `realagents`).

The loopback model answers with each error in its API's own shape (`tests.realagents.faults`);
each backend's reader must see the state a person sees: retrying, limited (with the reset time
the agent shows), auth-expired, context-full; and ready again once the provider answers. A
member refused so keeps its notices (deferred, never typed, never dropped) until its next turn.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from cafleet.core.reset_time import reset_at
from tests.realagents.agent_pane import AgentPane, context, start, type_turn, wait_for_state, wait_on_screen
from tests.realagents.faults import Fault, FaultKind
from tests.realagents.harness import ROUTES, SHELL_TOOLS, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, create_worker, fleet_json, real_agents, send  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
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
    pane = start(field, backend, context(field, backend, "You are worker. Wait for instructions."), unset, **extra)
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


@pytest.mark.parametrize("backend", ["claude", "codex", "opencode"])
def test_a_limited_members_notice_waits_and_lands_after_its_next_turn(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    tool = SHELL_TOOLS[backend]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            fleet, director = create_fleet(field, cafleet, backend)
            member, pane_id = create_worker(field, cafleet, fleet, director, backend)
            pane = AgentPane(backend, pane_id, time.time())
            wait_until(lambda: [r for r in server.requests if r.is_agent_turn(tool)], 180, f"{backend}'s first turn")
            wait_for_state(field, pane, "ready")
            server.fail(Fault(FaultKind.QUOTA))  # no retry in any of the three: the turn fails
            first = send(cafleet, field, fleet, director, "the first notice")
            wait_for_state(field, pane, "limited", timeout=120)

            def status(task_id):
                shown = fleet_json(
                    cafleet, field, fleet, "message", "show", "--agent-id", str(director), "--task-id", str(task_id)
                )
                return shown["notify_status"]

            assert status(first) == "delivered"  # typed before the limit showed
            held = send(cafleet, field, fleet, director, "the held notice")
            wait_until(lambda: status(held) == "deferred:limited", 30, "the notice to be held")
            time.sleep(6)  # the courier looks again every 5 s
            assert status(held) == "deferred:limited"
            assert not [r for r in server.requests if "the held notice" in r.last_text]
            server.heal()
            type_turn(field, pane, "the limit reset: go on")  # what the monitor's wake-up will type
            wait_until(lambda: status(held) == "delivered", 120, "the held notice to land", interval=0.5)
            assert (
                len(wait_until(lambda: [r for r in server.requests if "the held notice" in r.last_text], 60, "it at the model"))
                == 1
            )
        finally:
            stop_field(field)


def _about(moment, epoch: int) -> bool:
    """The shown time names `epoch`'s minute (agents show minutes)."""
    return moment is not None and -60 <= moment.timestamp() - epoch <= 60
