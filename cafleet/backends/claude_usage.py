"""Claude Code's usage: each model answer's `message.usage` in its conversation file (2.1.330).

An answer of several content blocks is written as several `assistant` records sharing the
message id and its final usage: one answer per id. `input_tokens` excludes the cache, whose
reads (`cache_read_input_tokens`) and writes (`cache_creation_input_tokens`, billed as input)
are counted beside it. Sub-agents' answers (a `Task`) are kept in `<session>/subagents/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cafleet.backends import claude_sessions
from cafleet.backends.session_files import stamp_seconds
from cafleet.backends.usage_files import Answers, located, read_usage
from cafleet.core.usage import Answer, MemberUsage, Tokens, whole


class ClaudeFold:
    marks = (b'"usage"',)

    def __init__(self, main: bool = True) -> None:
        self._answers = Answers()
        self._main = main

    def feed(self, record: dict) -> None:
        message = record.get("message")
        if record.get("type") != "assistant" or not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            return
        usage = message["usage"]
        tokens = Tokens(
            fresh=whole(usage.get("input_tokens")) + whole(usage.get("cache_creation_input_tokens")),
            cached=whole(usage.get("cache_read_input_tokens")),
            output=whole(usage.get("output_tokens")),
        )
        key = str(message.get("id") or record.get("uuid") or len(self._answers.usage().answers))
        model = message.get("model") if isinstance(message.get("model"), str) else None
        main = self._main and not record.get("isSidechain")
        self._answers.put(key, Answer(stamp_seconds(record.get("timestamp")), model, tokens, main))

    def usage(self) -> MemberUsage:
        return self._answers.usage()


def _sub_agent_fold() -> ClaudeFold:
    return ClaudeFold(main=False)


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = located("claude", session_id, lambda: claude_sessions.transcript(environment, session_id))
    if path is None:
        return None
    usage = read_usage(path, ClaudeFold)
    if usage is None:
        return None
    helpers = [read_usage(sub, _sub_agent_fold) for sub in sorted(Path(path.with_suffix("")).glob("subagents/*.jsonl"))]
    answers = usage.answers + tuple(a for helper in helpers if helper for a in helper.answers)
    return MemberUsage(tuple(sorted(answers, key=lambda a: a.at or 0.0)), usage.context_window)
