"""The error answers both OpenAI APIs (Chat Completions for opencode, Responses for codex) share:
the `{"error": {...}}` body, and the faults both word the same way. Each API words a usage
limit, an expired key and a full context its own way."""

from __future__ import annotations

import json

from .faults import Fault, FaultKind
from .model_server import Reply


def openai_error(status: int, code: str, kind: str, message: str, headers: tuple[tuple[str, str], ...] = (), **extra) -> Reply:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code, **extra}}
    return Reply(status, "application/json", json.dumps(body).encode(), headers)


def shared_error_reply(fault: Fault) -> Reply | None:
    """The answer to a rate limit, an overload or a spent quota; None for the API's own faults."""
    retry = (("retry-after", str(fault.retry_after)),)
    if fault.kind == FaultKind.RATE_LIMIT:
        message = f"Rate limit reached for requests. Please try again in {fault.retry_after}s."
        return openai_error(429, "rate_limit_exceeded", "requests", message, retry)
    if fault.kind == FaultKind.OVERLOADED:
        return openai_error(
            503, "server_is_overloaded", "server_error", "The server is overloaded. Please try again later.", retry
        )
    if fault.kind == FaultKind.QUOTA:
        message = "You exceeded your current quota, please check your plan and billing details."
        return openai_error(429, "insufficient_quota", "insufficient_quota", message)
    return None
