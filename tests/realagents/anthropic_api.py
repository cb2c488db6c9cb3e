"""The Anthropic Messages API side of the scripted model, as Claude Code calls it.

`ROUTES` plugs into `ModelServer`; each request becomes a `Conversation`, `decide` picks the
turn, and the turn goes back as a streamed (SSE) or plain JSON message.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Iterable

from tests.realagents.faults import Fault, FaultKind
from tests.realagents.model_server import ModelServer, Record, Reply, sse
from tests.realagents.script import Conversation, Turn, Usage, decide

SHELL_TOOL = "Bash"
_ids = itertools.count(1)


def _blocks(message: dict) -> list[dict]:
    content = message.get("content", "")
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


# Text claude adds to user messages on its own: context reminders, and the marker it leaves
# when a permission prompt was cancelled with Escape.
_OWN_TEXT = ("<system-reminder>", "[Request interrupted by user")
# Text typed while a turn runs reaches the model inside the running turn, wrapped like this
# and sent beside the next tool result instead of as a turn of its own.
_MID_TURN = re.compile(r"^The user sent a new message while you were working:\n(?P<text>.*?)\n\nThis is how Claude", re.S)


def _texts(message: dict) -> list[str]:
    texts = (b.get("text", "") for b in _blocks(message) if b.get("type") == "text")
    return [(m["text"] if (m := _MID_TURN.match(t)) else t) for t in texts if not t.startswith(_OWN_TEXT)]


def _result_text(block: dict) -> str:
    content = block.get("content", "")
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content if isinstance(part, dict))


def _is_result_only(message: dict) -> bool:
    return not _texts(message) and any(b.get("type") == "tool_result" for b in _blocks(message))


def conversation_key(body: dict, headers: dict) -> str:
    """Claude's session id: sent as a header on every request, kept by `--resume`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return lowered.get("x-claude-code-session-id", "")


def conversation(body: dict) -> Conversation:
    users = [m for m in body.get("messages", []) if m.get("role") == "user"]
    steps = 0  # the tool results since the latest typed text
    while steps < len(users) and _is_result_only(users[-1 - steps]):
        steps += 1
    last_texts = _texts(users[-1]) if users else []
    results = [_result_text(b) for b in _blocks(users[-1]) if b.get("type") == "tool_result"] if users else []
    has_result = bool(results)
    return Conversation(
        texts=tuple(t for m in users for t in _texts(m)),
        last_text="\n".join(last_texts),
        # A tool result that carries newly typed text is answered as that text.
        after_tool_result=has_result and not last_texts,
        tool_names=frozenset(t.get("name", "") for t in body.get("tools") or ()),
        tool_output="\n".join(results),
        results_since_text=steps,
        new_texts=tuple(last_texts),  # claude sends what was typed since its last answer as one message
    )


def _content(turn: Turn) -> list[dict]:
    if turn.write is not None:
        tool_input = {"file_path": turn.write.path, "content": turn.write.text}
        return [{"type": "tool_use", "id": f"toolu_{next(_ids):08d}", "name": turn.write.tool, "input": tool_input}]
    if turn.command is None:
        return [{"type": "text", "text": turn.text or ""}]
    tool_input = {"command": turn.command, "description": "cafleet"}
    return [{"type": "tool_use", "id": f"toolu_{next(_ids):08d}", "name": SHELL_TOOL, "input": tool_input}]


def _usage(usage: Usage, output: int) -> dict:
    return {
        "input_tokens": usage.fresh,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.cached,
        "output_tokens": output,
    }


def _message(body: dict, content: list[dict], stop_reason: str | None, usage: Usage) -> dict:
    return {
        "id": f"msg_{next(_ids):08d}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "scripted"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        # Streamed, the start counts one output token and the final delta the whole answer, as the API does.
        "usage": _usage(usage, usage.output if stop_reason else 1),
    }


def _events(body: dict, content: list[dict], stop_reason: str, usage: Usage) -> Iterable[tuple[str, dict]]:
    yield "message_start", {"type": "message_start", "message": _message(body, [], None, usage)}
    for index, block in enumerate(content):
        if block["type"] == "text":
            start = {"type": "text", "text": ""}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            start = {**block, "input": {}}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    message_delta = {"stop_reason": stop_reason, "stop_sequence": None}
    yield "message_delta", {"type": "message_delta", "delta": message_delta, "usage": _usage(usage, usage.output)}
    yield "message_stop", {"type": "message_stop"}


def _error(status: int, kind: str, message: str, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": f"req_{next(_ids):08d}"}
    return Reply(status, "application/json", json.dumps(body).encode(), headers)


def error_reply(fault: Fault) -> Reply:
    """The Anthropic API's answer for `fault`, as its servers send it."""
    retry = (("retry-after", str(fault.retry_after)), ("x-should-retry", "true"))
    if fault.kind == FaultKind.RATE_LIMIT:
        return _error(429, "rate_limit_error", "This request would exceed the rate limit for your organization.", retry)
    if fault.kind == FaultKind.OVERLOADED:
        return _error(529, "overloaded_error", "Overloaded", retry)
    if fault.kind == FaultKind.USAGE_LIMIT:
        # A subscription's limit: the unified rate-limit headers say it was refused and when it resets.
        unified = (
            ("anthropic-ratelimit-unified-status", "rejected"),
            ("anthropic-ratelimit-unified-reset", str(fault.reset_epoch())),
            ("anthropic-ratelimit-unified-representative-claim", "five_hour"),
            ("anthropic-ratelimit-unified-5h-status", "rejected"),
            ("anthropic-ratelimit-unified-5h-reset", str(fault.reset_epoch())),
            ("anthropic-ratelimit-unified-5h-utilization", "1.0"),
            ("x-should-retry", "false"),
        )
        return _error(
            429, "rate_limit_error", "This request would exceed your account's rate limit. Please try again later.", unified
        )
    if fault.kind == FaultKind.QUOTA:
        return _error(
            400,
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
        )
    if fault.kind == FaultKind.AUTH_EXPIRED:
        return _error(
            401, "authentication_error", "OAuth token has expired. Please obtain a new token or refresh your existing token."
        )
    return _error(400, "invalid_request_error", "prompt is too long: 212345 tokens > 200000 maximum")


def handle_messages(body: dict, headers: dict, server: ModelServer) -> Reply:
    conv = conversation(body)
    fault = server.take_fault()
    turn = Turn() if fault else decide(conv, SHELL_TOOL)
    usage = None if fault else server.next_usage()
    server.record(
        Record.of(
            "/v1/messages",
            "anthropic",
            conv,
            turn,
            conversation_key(body, headers) or (conv.texts[0] if conv.texts else ""),
            fault,
            usage,
        )
    )
    if fault is not None:
        return error_reply(fault)
    if turn.delay:
        time.sleep(turn.delay)
    content = _content(turn)
    stop_reason = "end_turn" if turn.command is None and turn.write is None else "tool_use"
    if body.get("stream"):
        return Reply(200, "text/event-stream", sse(_events(body, content, stop_reason, usage)))
    return Reply(200, "application/json", json.dumps(_message(body, content, stop_reason, usage)).encode())


def handle_count_tokens(body: dict, headers: dict, server: ModelServer) -> Reply:
    return Reply(200, "application/json", b'{"input_tokens": 1}')


ROUTES = {
    "/v1/messages": handle_messages,
    "/v1/messages/count_tokens": handle_count_tokens,
}
