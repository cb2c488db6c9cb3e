"""The Gemini API (`generativelanguage`'s `v1beta`) as the scripted model speaks it to Gemini CLI.

Gemini CLI (0.61) posts each turn to `/v1beta/models/<model>:streamGenerateContent?alt=sse`;
side requests (a loop check, the next-speaker check, compression) go to `:generateContent`
and most ask for JSON by a schema. A turn's user content holds one text part per input (the
first also carries gemini's own `<session_context>`); a tool call goes back as a
`functionCall` part and its result comes in as a user content whose part is a
`functionResponse`. Gemini CLI's shell tool is `run_shell_command {command, description?}`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

from tests.realagents.faults import Fault, FaultKind
from tests.realagents.model_server import PATH_HEADER, ModelServer, Record, Reply, sse
from tests.realagents.script import Conversation, Turn, Usage, decide

SHELL_TOOL = "run_shell_command"
WRITE_TOOL = "write_file"
# Text gemini adds to the conversation itself: the context it opens every session with.
_OWN_TEXT = ("<session_context>",)


def _parts(content: dict) -> list[dict]:
    return [part for part in content.get("parts") or [] if isinstance(part, dict)]


def _text(content: dict) -> str:
    texts = [part["text"] for part in _parts(content) if isinstance(part.get("text"), str) and not part.get("thought")]
    return "\n".join(text for text in texts if not text.startswith(_OWN_TEXT))


def _result(content: dict) -> dict | None:
    return next((part["functionResponse"] for part in _parts(content) if isinstance(part.get("functionResponse"), dict)), None)


def _is_typed(content: dict) -> bool:
    """A user content with text someone typed (not a tool result, not only gemini's context)."""
    return content.get("role") == "user" and _result(content) is None and bool(_text(content))


def conversation(body: dict) -> Conversation:
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    last = contents[-1] if contents else {}
    typed = [i for i, c in enumerate(contents) if _is_typed(c)]
    result = _result(last) if last.get("role") == "user" else None
    tools = frozenset(
        declaration["name"]
        for tool in body.get("tools") or []
        if isinstance(tool, dict)
        for declaration in tool.get("functionDeclarations") or []
        if isinstance(declaration, dict) and "name" in declaration
    )
    output = (result or {}).get("response") or {}
    return Conversation(
        texts=tuple(_text(contents[i]) for i in typed),
        last_text=_text(last) if _is_typed(last) else "",
        after_tool_result=result is not None,
        tool_names=tools,
        tool_output=str(output.get("output", output.get("error", ""))) if isinstance(output, dict) else str(output),
        results_since_text=sum(1 for c in contents[(typed[-1] if typed else -1) + 1 :] if _result(c) is not None),
    )


def conversation_key(body: dict, headers: dict) -> str:
    """Gemini sends no session header: the conversation's first typed text, which a resumed
    session sends again from its saved history."""
    first = next((c for c in body.get("contents") or [] if isinstance(c, dict) and _is_typed(c)), {})
    return _text(first)


def _part(turn: Turn) -> dict:
    if turn.command is not None:
        return {"functionCall": {"name": SHELL_TOOL, "args": {"command": turn.command}}}
    if turn.write is not None:
        return {"functionCall": {"name": WRITE_TOOL, "args": {"file_path": turn.write.path, "content": turn.write.text}}}
    return {"text": turn.text or ""}


def _usage(usage: Usage) -> dict:
    return {
        "promptTokenCount": usage.prompt,  # the cached part included
        "cachedContentTokenCount": usage.cached,
        "candidatesTokenCount": usage.output,
        "totalTokenCount": usage.prompt + usage.output,
    }


def _response(parts: list[dict], model: str, usage: Usage) -> dict:
    return {
        "candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": _usage(usage),
        "modelVersion": model,
    }


def _stream(turn: Turn, model: str, usage: Usage) -> Iterator[tuple[None, dict]]:
    part = _part(turn)
    if "text" in part:
        # Several chunks, as a real model streams text; only the last carries the finish.
        words = part["text"].split(" ")
        for index, word in enumerate(words[:-1]):
            yield None, {"candidates": [{"content": {"role": "model", "parts": [{"text": (" " if index else "") + word}]}}]}
        yield None, _response([{"text": (" " if len(words) > 1 else "") + words[-1]}], model, usage)
    else:
        yield None, _response([part], model, usage)


def _json_value(schema: object) -> object:
    """A value of the JSON schema gemini asks its side requests for: "user" where it may be
    (the next speaker), else the first choice, zero, false or a word."""
    if not isinstance(schema, dict):
        return "scripted"
    choices = schema.get("enum")
    if isinstance(choices, list) and choices:
        return "user" if "user" in choices else choices[0]
    kind = str(schema.get("type", "string")).lower()
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _json_value(value) for name, value in properties.items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        return 0
    if kind == "boolean":
        return False
    return "scripted"


def error_reply(fault: Fault) -> Reply:
    """The Gemini API's answer for `fault`: `{"error": {code, message, status}}`."""
    retry = (("retry-after", str(fault.retry_after)),)
    if fault.kind == FaultKind.RATE_LIMIT:
        return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", retry)
    if fault.kind == FaultKind.OVERLOADED:
        return _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", retry)
    if fault.kind in (FaultKind.USAGE_LIMIT, FaultKind.QUOTA):
        message = "You exceeded your current quota, please check your plan and billing details."
        return _error(429, "RESOURCE_EXHAUSTED", message, details=[_quota_failure()])
    if fault.kind == FaultKind.AUTH_EXPIRED:
        return _error(400, "INVALID_ARGUMENT", "API key expired. Please renew the API key.", details=[_key_invalid()])
    message = "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."
    return _error(400, "INVALID_ARGUMENT", message)


def _error(status: int, code: str, message: str, headers: tuple[tuple[str, str], ...] = (), details: list | None = None) -> Reply:
    body = {"error": {"code": status, "message": message, "status": code, **({"details": details} if details else {})}}
    return Reply(status, "application/json", json.dumps(body).encode(), headers)


def _quota_failure() -> dict:
    return {
        "@type": "type.googleapis.com/google.rpc.QuotaFailure",
        "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_requests", "quotaId": "PerDay"}],
    }


def _key_invalid() -> dict:
    return {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}


def handle(body: dict, headers: dict, server: ModelServer) -> Reply:
    """Answer one `generateContent` or `streamGenerateContent` request."""
    path = headers.get(PATH_HEADER, "/v1beta/models/scripted:generateContent")
    conv = conversation(body)
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    side = config.get("responseMimeType") == "application/json" or schema is not None
    fault = server.take_fault() if not side else None
    if side:  # the router's choice, the next-speaker check: an answer of the schema asked for
        turn = Turn(text=json.dumps(_json_value(schema or {"type": "object"})))
    else:
        turn = Turn() if fault else decide(conv, SHELL_TOOL)
    usage = None if fault else server.next_usage()
    server.record(Record.of(path, "gemini", conv, turn, conversation_key(body, headers), fault, usage))
    if fault is not None:
        return error_reply(fault)
    model = path.rsplit("/", 1)[-1].split(":", 1)[0]
    if turn.delay:
        time.sleep(turn.delay)
    if path.endswith(":streamGenerateContent"):
        return Reply(200, "text/event-stream", sse(_stream(turn, model, usage)))
    return Reply(200, "application/json", json.dumps(_response([_part(turn)], model, usage)).encode())


def handle_count(body: dict, headers: dict, server: ModelServer) -> Reply:
    return Reply(200, "application/json", json.dumps({"totalTokens": 100}).encode())


# The model's name sits in the path: `ModelServer` routes `/v1beta/models/<any>:<method>` here.
ROUTES = {
    "/v1beta/models/*:streamGenerateContent": handle,
    "/v1beta/models/*:generateContent": handle,
    "/v1beta/models/*:countTokens": handle_count,
}
