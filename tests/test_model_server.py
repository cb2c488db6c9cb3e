"""The scripted loopback model the real-agent tests run against: it keeps each conversation's
requests and answers errors in each API's own shape when told to (tests/realagents)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.realagents.faults import Fault, FaultKind
from tests.realagents.harness import ROUTES
from tests.realagents.model_server import ModelServer

pytestmark = pytest.mark.engine_neutral  # the loopback model alone: no database

TOOLS = {
    "anthropic": [{"name": "Bash", "input_schema": {}}],
    "responses": [{"type": "function", "name": "exec_command"}],
    "chat": [{"type": "function", "function": {"name": "bash"}}],
}


def post(server, path, body, headers=None):
    request = urllib.request.Request(
        server.url + path, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def anthropic(texts, session="claude-session"):
    messages = []
    for text in texts:
        messages += [{"role": "user", "content": [{"type": "text", "text": text}]}, {"role": "assistant", "content": "ok"}]
    body = {"model": "m", "messages": messages[:-1], "tools": TOOLS["anthropic"]}
    return "/v1/messages", body, {"X-Claude-Code-Session-Id": session}


def responses(texts, session="codex-thread"):
    items = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]} for t in texts]
    return (
        "/v1/responses",
        {"model": "m", "input": items, "tools": TOOLS["responses"], "prompt_cache_key": session},
        {"session-id": session},
    )


def chat(texts, session="ses_opencode"):
    messages = [{"role": "user", "content": t} for t in texts]
    return "/v1/chat/completions", {"model": "m", "messages": messages, "tools": TOOLS["chat"]}, {"x-session-id": session}


REQUESTS = {"anthropic": anthropic, "responses": responses, "chat": chat}


@pytest.mark.parametrize("api", sorted(REQUESTS))
def test_each_request_is_kept_under_its_conversation_with_every_user_text(api):
    with ModelServer(ROUTES) as server:
        assert post(server, *REQUESTS[api](["You are ana (m-1)"]))[0] == 200
        assert post(server, *REQUESTS[api](["You are bo (m-2)"], session="other"))[0] == 200
        assert post(server, *REQUESTS[api](["You are ana (m-1)", "remember amber"]))[0] == 200
        assert post(server, *REQUESTS[api](["You are ana (m-1)", "remember amber", "which word?"]))[0] == 200
        ana = server.conversation(server.requests[0].conversation)
        assert [r.last_text for r in ana] == ["You are ana (m-1)", "remember amber", "which word?"]
        assert server.remembers("amber", "which word?") == [ana[-1]]
        assert server.remembers("amber", "You are bo") == []
        assert ana[-1].carries("m-1") and not ana[-1].carries("m-2")


def test_a_request_that_forgot_its_earlier_turns_is_no_proof():
    with ModelServer(ROUTES) as server:
        post(server, *anthropic(["remember amber"]))
        post(server, *anthropic(["which word?"]))  # a fresh start: turn 1 is gone
        assert server.remembers("amber", "which word?") == []


def test_a_fault_answers_the_next_requests_until_healed_or_spent():
    with ModelServer(ROUTES) as server:
        server.fail(Fault(FaultKind.RATE_LIMIT), times=2)
        statuses = [post(server, *anthropic(["hi"]))[0] for _ in range(3)]
        assert statuses == [429, 429, 200]
        server.fail(Fault(FaultKind.OVERLOADED))
        assert [post(server, *anthropic(["hi"]))[0] for _ in range(3)] == [529] * 3
        server.heal()
        assert post(server, *anthropic(["hi"]))[0] == 200
        assert [r.fault for r in server.requests] == ["rate-limit", "rate-limit", None, *["overloaded"] * 3, None]


@pytest.mark.parametrize(
    "api, kind, status, error_type",
    [
        ("anthropic", FaultKind.RATE_LIMIT, 429, "rate_limit_error"),
        ("anthropic", FaultKind.OVERLOADED, 529, "overloaded_error"),
        ("anthropic", FaultKind.USAGE_LIMIT, 429, "rate_limit_error"),
        ("anthropic", FaultKind.QUOTA, 400, "invalid_request_error"),
        ("anthropic", FaultKind.AUTH_EXPIRED, 401, "authentication_error"),
        ("anthropic", FaultKind.CONTEXT_FULL, 400, "invalid_request_error"),
        ("responses", FaultKind.RATE_LIMIT, 429, "rate_limit_exceeded"),
        ("responses", FaultKind.OVERLOADED, 503, "server_is_overloaded"),
        ("responses", FaultKind.USAGE_LIMIT, 429, "usage_limit_reached"),
        ("responses", FaultKind.QUOTA, 429, "insufficient_quota"),
        ("responses", FaultKind.AUTH_EXPIRED, 401, "invalid_api_key"),
        ("responses", FaultKind.CONTEXT_FULL, 400, "context_length_exceeded"),
        ("chat", FaultKind.RATE_LIMIT, 429, "rate_limit_exceeded"),
        ("chat", FaultKind.QUOTA, 429, "insufficient_quota"),
        ("chat", FaultKind.CONTEXT_FULL, 400, "context_length_exceeded"),
    ],
)
def test_each_fault_comes_in_its_apis_own_shape(api, kind, status, error_type):
    with ModelServer(ROUTES) as server:
        server.fail(Fault(kind, retry_after=7, resets_at=2_000_000_000))
        got, headers, raw = post(server, *REQUESTS[api](["hi"]))
        body = json.loads(raw)
        assert got == status
        if api == "anthropic":
            assert body["type"] == "error" and body["error"]["type"] == error_type
        else:
            assert body["error"]["code"] == error_type
        if kind in (FaultKind.RATE_LIMIT, FaultKind.OVERLOADED):
            assert headers["retry-after"] == "7"


def test_usage_limits_carry_their_reset_time():
    with ModelServer(ROUTES) as server:
        server.fail(Fault(FaultKind.USAGE_LIMIT, resets_at=2_000_000_000))
        _, headers, _ = post(server, *anthropic(["hi"]))
        assert headers["anthropic-ratelimit-unified-status"] == "rejected"
        assert headers["anthropic-ratelimit-unified-reset"] == "2000000000"
        _, _, raw = post(server, *responses(["hi"]))
        assert json.loads(raw)["error"]["resets_at"] == 2_000_000_000


PROMPT = "You are worker. Acknowledge: /bin/cafleet --fleet-id 1 message ack --agent-id 3 --task-id TASK"


def notice(task: int) -> str:
    return f"[cafleet msg {task} from director#1 2026-12-07T02:03:30Z] while you were gone"


def answered_then(api: str, earlier: list[str], new: list[str]):
    """A request in which the model answered `earlier` and the agent sends all of `new` at once."""
    if api == "anthropic":
        messages = [{"role": "user", "content": [{"type": "text", "text": t} for t in earlier]}]
        messages += [
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": [{"type": "text", "text": t} for t in new]},
        ]
        return "/v1/messages", {"model": "m", "messages": messages, "tools": TOOLS["anthropic"]}, {}
    if api == "responses":

        def user(t):
            return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": t}]}

        answer = {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}
        items = [*map(user, earlier), answer, *map(user, new)]
        return "/v1/responses", {"model": "m", "input": items, "tools": TOOLS["responses"]}, {}
    messages = [*({"role": "user", "content": t} for t in earlier), {"role": "assistant", "content": "ok"}]
    messages += [{"role": "user", "content": t} for t in new]
    return "/v1/chat/completions", {"model": "m", "messages": messages, "tools": TOOLS["chat"]}, {}


@pytest.mark.parametrize("api", sorted(REQUESTS))
def test_notices_sent_at_once_are_each_acked_and_answered_ones_are_not_again(api):
    with ModelServer(ROUTES) as server:
        assert post(server, *answered_then(api, [PROMPT, notice(4)], [notice(5), notice(6)]))[0] == 200
        command = server.requests[-1].command
        assert command.count(" message ack ") == 2 and command.count(" message send ") == 2
        assert "--task-id 5 " in command and "--task-id 6 " in command and "--task-id 4 " not in command
