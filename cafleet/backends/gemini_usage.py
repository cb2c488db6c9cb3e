"""Gemini CLI's usage: the `tokens` of each `gemini` record of its session file (0.61.0).

`input` includes `cached`; `thoughts` are billed as output. A message written again (its tool
calls added) keeps its id; `$set` records may carry whole messages too. The side requests
gemini makes itself (its router, the next-speaker check) are not written, so not counted.
"""

from __future__ import annotations

from collections.abc import Mapping

from cafleet.backends import gemini_sessions
from cafleet.backends.session_files import stamp_seconds
from cafleet.backends.usage_files import Answers, located, read_usage
from cafleet.core.usage import Answer, MemberUsage, Tokens


class GeminiFold:
    marks = (b'"tokens"',)

    def __init__(self) -> None:
        self._answers = Answers()

    def feed(self, record: dict) -> None:
        replaced = record.get("$set")
        messages = replaced.get("messages") if isinstance(replaced, dict) else None
        for message in messages if isinstance(messages, list) else [record]:
            if isinstance(message, dict):
                self._message(message)

    def _message(self, message: dict) -> None:
        counts = message.get("tokens")
        if message.get("type") != "gemini" or not isinstance(counts, dict):
            return
        tokens = Tokens.of_prompt(counts.get("input"), counts.get("cached"), counts.get("output"), counts.get("thoughts"))
        model = message.get("model") if isinstance(message.get("model"), str) else None
        self._answers.put(str(message.get("id")), Answer(stamp_seconds(message.get("timestamp")), model, tokens))

    def usage(self) -> MemberUsage:
        return self._answers.usage()


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = located("gemini", session_id, lambda: gemini_sessions.session_file(environment, session_id))
    return read_usage(path, GeminiFold) if path else None
