"""The OpenAI Responses API (`POST /v1/responses`) as the scripted model speaks it to codex.

Codex streams every request (`"stream": true`); a non-streamed request gets the same
response object as one JSON body.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

from tests.realagents.faults import Fault, FaultKind
from tests.realagents.model_server import ModelServer, Record, Reply, sse
from tests.realagents.openai_errors import openai_error, shared_error_reply
from tests.realagents.script import Conversation, Turn, Usage, decide

SHELL_TOOL = "exec_command"  # codex 0.169's shell tool: exec_command {"cmd": "..."}
_ids = itertools.count(1)


def conversation(body: dict) -> Conversation:
    """The script's view of a Responses request: user texts, the latest input, the tools."""
    items = [item for item in body.get("input") or [] if isinstance(item, dict)]
    texts = tuple(_user_text(item) for item in items if _is_user_message(item))
    last = items[-1] if items else {}
    last_user = max((i for i, item in enumerate(items) if _is_user_message(item)), default=-1)
    answered = max((i for i, item in enumerate(items) if _is_model_output(item)), default=-1)
    # Function and namespace tools have a name; built-in ones (web_search) only a type.
    tool_names = frozenset(tool.get("name") or tool.get("type", "") for tool in body.get("tools") or [])
    return Conversation(
        texts=texts,
        last_text=_user_text(last) if _is_user_message(last) else "",
        after_tool_result=last.get("type") == "function_call_output",
        tool_names=tool_names,
        tool_output=_output_text(last) if last.get("type") == "function_call_output" else "",
        results_since_text=sum(1 for item in items[last_user + 1 :] if item.get("type") == "function_call_output"),
        new_texts=tuple(_user_text(item) for item in items[answered + 1 :] if _is_user_message(item)),
    )


def _output_text(item: dict) -> str:
    output = item.get("output")
    if isinstance(output, str):
        return output
    return "".join(part.get("text", "") for part in output or [] if isinstance(part, dict))


def conversation_key(body: dict, headers: dict) -> str:
    """Codex's thread id: the `session-id` header and the prompt cache key, kept by `codex resume`."""
    lowered = {name.lower(): value for name, value in headers.items()}
    return lowered.get("session-id") or str(body.get("prompt_cache_key") or "")


def error_reply(fault: Fault) -> Reply:
    """The OpenAI Responses API's answer for `fault`; a usage limit as ChatGPT's Codex backend sends it."""
    shared = shared_error_reply(fault)
    if shared is not None:
        return shared
    if fault.kind == FaultKind.USAGE_LIMIT:
        return openai_error(
            429,
            "usage_limit_reached",
            "usage_limit_reached",
            "The usage limit has been reached",
            plan_type="plus",
            resets_at=fault.reset_epoch(),
            resets_in_seconds=fault.reset_in(),
        )
    if fault.kind == FaultKind.AUTH_EXPIRED:
        return openai_error(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided: sk-test-****back.")
    message = "Your input exceeds the context window of this model. Please adjust your input and try again."
    return openai_error(400, "context_length_exceeded", "invalid_request_error", message)


def handle_responses(body: dict, headers: dict, server: ModelServer) -> Reply:
    """Answer one `POST /v1/responses` with the script's turn, streamed as codex asks."""
    conv = conversation(body)
    fault = server.take_fault()
    turn = Turn() if fault else decide(conv, SHELL_TOOL)
    usage = None if fault else server.next_usage()
    server.record(Record.of("/v1/responses", "responses", conv, turn, conversation_key(body, headers), fault, usage))
    if fault is not None:
        return error_reply(fault)
    response_id = f"resp_{next(_ids)}"
    item = _output_item(turn, _json_schema(body))
    if not body.get("stream"):
        time.sleep(turn.delay)
        response = _response(response_id, "completed", [item], body, usage)
        return Reply(200, "application/json", json.dumps(response).encode())
    return Reply(200, "text/event-stream", sse(_events(response_id, turn.delay, item, body, usage)))


ROUTES = {"/v1/responses": handle_responses}


def _events(response_id: str, delay: float, item: dict, body: dict, usage: Usage) -> Iterator[tuple[str, dict]]:
    # Announce the response before waiting, so the agent shows a running turn meanwhile.
    created = _response(response_id, "in_progress", [], body, usage)
    yield "response.created", {"type": "response.created", "response": created}
    time.sleep(delay)
    added = {**item, "content": []} if item["type"] == "message" else {**item, "arguments": ""}
    yield "response.output_item.added", {"type": "response.output_item.added", "output_index": 0, "item": added}
    if item["type"] == "message":
        yield (
            "response.output_text.delta",
            {
                "type": "response.output_text.delta",
                "item_id": item["id"],
                "output_index": 0,
                "content_index": 0,
                "delta": item["content"][0]["text"],
            },
        )
    yield "response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item}
    completed = _response(response_id, "completed", [item], body, usage)
    yield "response.completed", {"type": "response.completed", "response": completed}


def _output_item(turn: Turn, schema: dict | None) -> dict:
    n = next(_ids)
    if turn.command is not None:
        return {
            "type": "function_call",
            "id": f"fc_{n}",
            "call_id": f"call_{n}",
            "name": SHELL_TOOL,
            "arguments": json.dumps({"cmd": turn.command}),
            "status": "completed",
        }
    text = turn.text or ""
    if schema is not None:
        # Side requests (codex's session title) demand JSON: fill each required field with the text.
        text = json.dumps({name: text for name in schema.get("required", [])})
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {"type": "message", "id": f"msg_{n}", "role": "assistant", "status": "completed", "content": content}


def _response(response_id: str, status: str, output: list[dict], body: dict, counts: Usage) -> dict:
    usage = {
        "input_tokens": counts.prompt,  # the cached part included
        "input_tokens_details": {"cached_tokens": counts.cached},
        "output_tokens": counts.output,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": counts.prompt + counts.output,
    }
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": status,
        "model": body.get("model", "scripted"),
        "output": output,
        "usage": usage if status == "completed" else None,
    }


def _json_schema(body: dict) -> dict | None:
    text_format = (body.get("text") or {}).get("format") or {}
    return text_format.get("schema") if text_format.get("type") == "json_schema" else None


def _is_model_output(item: dict) -> bool:
    """What the model answered (or its tool call's result): the user texts after it are new."""
    return item.get("role") == "assistant" or item.get("type") in ("function_call", "function_call_output", "reasoning")


def _is_user_message(item: dict) -> bool:
    return item.get("role") == "user" and item.get("type", "message") == "message"


def _user_text(item: dict) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if part.get("type") in ("input_text", "text"))
