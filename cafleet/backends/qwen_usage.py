"""Qwen Code's usage (0.24.4): the `api_response` telemetry events in its conversation file.

Qwen writes an event for every model answer, its own helpers' too (the memory extractor runs
as a sub-agent and is billed like the rest), with `input_token_count` including
`cached_content_token_count`; the `assistant` records carry only the main answers' counts, so
they are read only when a file has no events.
"""

from __future__ import annotations

from collections.abc import Mapping

from cafleet.backends import qwen_sessions
from cafleet.backends.session_files import stamp_seconds
from cafleet.backends.usage_files import Answers, located, read_usage
from cafleet.core.usage import Answer, MemberUsage, Tokens

API_RESPONSE = "qwen-code.api_response"


class QwenFold:
    marks = (b'"qwen-code.api_response"', b'"usageMetadata"')

    def __init__(self) -> None:
        self._events = Answers()
        self._records = Answers()

    def feed(self, record: dict) -> None:
        payload = record.get("systemPayload")
        event = payload.get("uiEvent") if isinstance(payload, dict) else None
        if isinstance(event, dict) and event.get("event.name") == API_RESPONSE:
            tokens = Tokens.of_prompt(
                event.get("input_token_count"),
                event.get("cached_content_token_count"),
                event.get("output_token_count"),
                event.get("thoughts_token_count"),
            )
            model = event.get("model") if isinstance(event.get("model"), str) else None
            at = stamp_seconds(event.get("event.timestamp") or record.get("timestamp"))
            key = str(event.get("response_id") or record.get("uuid"))
            self._events.put(key, Answer(at, model, tokens, main="subagent_id" not in event))
            return
        counts = record.get("usageMetadata")
        if record.get("type") == "assistant" and isinstance(counts, dict):
            tokens = Tokens.of_prompt(
                counts.get("promptTokenCount"),
                counts.get("cachedContentTokenCount"),
                counts.get("candidatesTokenCount"),
                counts.get("thoughtsTokenCount"),
            )
            model = record.get("model") if isinstance(record.get("model"), str) else None
            self._records.put(str(record.get("uuid")), Answer(stamp_seconds(record.get("timestamp")), model, tokens))

    def usage(self) -> MemberUsage:
        events = self._events.usage()
        return events if events.answers else self._records.usage()


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = located("qwen", session_id, lambda: qwen_sessions.transcript(environment, session_id))
    return read_usage(path, QwenFold) if path else None
