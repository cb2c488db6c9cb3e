"""OpenAI Chat Completions for the scripted loopback model (what opencode speaks).

opencode (1.18.33) posts only here, always streamed with `stream_options.include_usage`; its
shell tool is `bash {command, timeout?, workdir?}`. A tool call goes back as a streamed
`tool_calls` delta and its result comes in as a message with role "tool".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

from .faults import Fault, FaultKind
from .model_server import ModelServer, Record, Reply, sse
from .openai_errors import openai_error, shared_error_reply
from .script import Conversation, Turn, Usage, decide

# Each agent's shell tool, as it declares it: opencode's and pi's `bash {command}`, Qwen
# Code's `run_shell_command {command}`.
SHELL_TOOLS = ("bash", "run_shell_command")
SHELL_TOOL = SHELL_TOOLS[0]
# Text an agent adds to a user message itself (Qwen Code: its skills list and the date).
_OWN_TEXT = ("<system-reminder>",)


def _text(content: object) -> str:
    """A message's text: content is a string or a list of parts (only text parts count, less
    the agent's own reminders)."""
    if isinstance(content, str):
        return _without_reminders(content)
    if isinstance(content, list):
        texts = (part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text")
        return "".join(_without_reminders(text) for text in texts)
    return ""


def _texts(content: object) -> list[str]:
    """Each text part of a message (less the agent's reminders), the empty ones left out."""
    if isinstance(content, list):
        parts = (_text([part]) for part in content if isinstance(part, dict))
        return [part for part in parts if part] or [""]
    return [_text(content)]


def _without_reminders(text: str) -> str:
    """`text` less the `<system-reminder>…</system-reminder>` blocks an agent put in it."""
    while text.lstrip().startswith(_OWN_TEXT) and "</system-reminder>" in text:
        text = text.split("</system-reminder>", 1)[1].lstrip("\n")
    return text


def shell_tool(tools: frozenset[str]) -> str:
    """The shell tool this request declares (the first known one), else opencode's."""
    return next((tool for tool in SHELL_TOOLS if tool in tools), SHELL_TOOL)


def conversation(body: dict) -> Conversation:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    last = messages[-1] if messages else {}
    tools = frozenset(
        tool["function"]["name"]
        for tool in body.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict) and "name" in tool["function"]
    )
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    answered = max((i for i, m in enumerate(messages) if m.get("role") in ("assistant", "tool")), default=-1)
    return Conversation(
        # Each typed text on its own: a resumed qwen sends two turns as parts of one message.
        texts=tuple(text for m in messages if m.get("role") == "user" for text in _texts(m.get("content"))),
        last_text=_text(last.get("content")) if last.get("role") == "user" else "",
        after_tool_result=last.get("role") == "tool",
        tool_names=tools,
        tool_output=_text(last.get("content")) if last.get("role") == "tool" else "",
        results_since_text=sum(1 for m in messages[last_user + 1 :] if m.get("role") == "tool"),
        new_texts=tuple(_text(m.get("content")) for m in messages[answered + 1 :] if m.get("role") == "user"),
    )


def _tool_call(turn: Turn, shell: str = SHELL_TOOL) -> dict:
    if turn.write is not None:
        name, arguments = turn.write.tool, {"filePath": turn.write.path, "content": turn.write.text}
    else:
        name, arguments = shell, {"command": turn.command}
    return {
        "index": 0,
        "id": f"call_{uuid.uuid4().hex[:24]}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _calls_tool(turn: Turn) -> bool:
    return turn.command is not None or turn.write is not None


def _usage(usage: Usage) -> dict:
    return {
        "prompt_tokens": usage.prompt,  # the cached part included
        "prompt_tokens_details": {"cached_tokens": usage.cached},
        "completion_tokens": usage.output,
        "total_tokens": usage.prompt + usage.output,
    }


def _chunks(turn: Turn, model: str, usage: Usage | None, shell: str = SHELL_TOOL) -> Iterator[tuple[None, dict | str]]:
    head = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict, finish: str | None = None) -> tuple[None, dict]:
        return None, {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield chunk({"role": "assistant", "content": ""})
    if _calls_tool(turn):
        yield chunk({"tool_calls": [_tool_call(turn, shell)]})
        yield chunk({}, "tool_calls")
    else:
        # Several deltas, as a real model streams text.
        for index, word in enumerate((turn.text or "").split(" ")):
            yield chunk({"content": word if index == 0 else " " + word})
        yield chunk({}, "stop")
    if usage is not None:
        yield None, {**head, "choices": [], "usage": _usage(usage)}
    yield None, "[DONE]"


def _completion(turn: Turn, model: str, usage: Usage, shell: str = SHELL_TOOL) -> dict:
    message: dict = {"role": "assistant", "content": turn.text}
    if _calls_tool(turn):
        call = _tool_call(turn, shell)
        del call["index"]
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
    finish = "tool_calls" if _calls_tool(turn) else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _usage(usage),
    }


def conversation_key(body: dict, headers: dict) -> str:
    """opencode's session id where it sends one, else the conversation's first user text."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if lowered.get("x-session-affinity"):
        return lowered["x-session-affinity"]
    first = next((m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"), {})
    return _text(first.get("content"))


def error_reply(fault: Fault) -> Reply:
    """OpenAI Chat Completions' answer for `fault`."""
    shared = shared_error_reply(fault)
    if shared is not None:
        return shared
    if fault.kind == FaultKind.USAGE_LIMIT:
        message = f"The usage limit has been reached. It resets in {fault.reset_in()} seconds."
        return openai_error(429, "usage_limit_reached", "usage_limit_reached", message)
    if fault.kind == FaultKind.AUTH_EXPIRED:
        return openai_error(401, "invalid_api_key", "invalid_request_error", "Incorrect API key provided: scripted.")
    message = "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens."
    return openai_error(400, "context_length_exceeded", "invalid_request_error", message)


def handle_chat(body: dict, headers: dict, server: ModelServer) -> Reply:
    conv = conversation(body)
    fault = server.take_fault()
    tool = shell_tool(conv.tool_names)
    turn = Turn() if fault else decide(conv, tool)
    usage = None if fault else server.next_usage()
    server.record(Record.of("/v1/chat/completions", "chat", conv, turn, conversation_key(body, headers), fault, usage))
    if fault is not None:
        return error_reply(fault)
    if turn.delay:
        time.sleep(turn.delay)
    model = str(body.get("model") or "scripted")
    if not body.get("stream"):
        return Reply(200, "application/json", json.dumps(_completion(turn, model, usage, tool)).encode())
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return Reply(200, "text/event-stream", sse(_chunks(turn, model, usage if with_usage else None, tool)))


ROUTES = {"/v1/chat/completions": handle_chat}
