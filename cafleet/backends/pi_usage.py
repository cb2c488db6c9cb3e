"""Pi's usage (pi-coding-agent 0.73.1): the `usage` of each assistant message in its session
file. `input` excludes the cache, whose reads (`cacheRead`) and writes (`cacheWrite`, billed
as input) are counted beside it."""

from __future__ import annotations

from collections.abc import Mapping

from cafleet.backends import pi_sessions
from cafleet.backends.session_files import stamp_seconds
from cafleet.backends.usage_files import Answers, located, read_usage
from cafleet.core.usage import Answer, MemberUsage, Tokens, whole


class PiFold:
    marks = (b'"usage"',)

    def __init__(self) -> None:
        self._answers = Answers()

    def feed(self, record: dict) -> None:
        message = record.get("message")
        if record.get("type") != "message" or not isinstance(message, dict) or message.get("role") != "assistant":
            return
        counts = message.get("usage")
        if not isinstance(counts, dict):
            return
        tokens = Tokens(
            fresh=whole(counts.get("input")) + whole(counts.get("cacheWrite")),
            cached=whole(counts.get("cacheRead")),
            output=whole(counts.get("output")),
        )
        model = message.get("model") if isinstance(message.get("model"), str) else None
        self._answers.put(str(record.get("id")), Answer(stamp_seconds(record.get("timestamp")), model, tokens))

    def usage(self) -> MemberUsage:
        return self._answers.usage()


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = located("pi", session_id, lambda: pi_sessions.session_file(environment, session_id))
    return read_usage(path, PiFold) if path else None
