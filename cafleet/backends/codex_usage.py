"""Codex's usage: the `token_count` events of its rollout file (codex 0.169.0).

Each answer is followed by an event whose `total_token_usage` is the session's running total
(`input_tokens` includes `cached_input_tokens`), `last_token_usage` the latest answer's, and
`model_context_window` the window codex works with. An event may repeat the same total (no new
answer): answers are the steps of the running total. The model is the latest `turn_context`'s.
"""

from __future__ import annotations

from collections.abc import Mapping

from cafleet.backends import codex_sessions
from cafleet.backends.session_files import stamp_seconds
from cafleet.backends.usage_files import located, read_usage
from cafleet.core.usage import Answer, MemberUsage, Tokens, whole


def _tokens(counts: object) -> Tokens:
    counts = counts if isinstance(counts, dict) else {}
    return Tokens.of_prompt(counts.get("input_tokens"), counts.get("cached_input_tokens"), counts.get("output_tokens"))


class CodexFold:
    marks = (b'"token_count"', b'"turn_context"')

    def __init__(self) -> None:
        self._answers: list[Answer] = []
        self._total = Tokens()
        self._model: str | None = None
        self._window: int | None = None
        self._last_prompt: int | None = None

    def feed(self, record: dict) -> None:
        payload = record.get("payload")
        if not isinstance(payload, dict):
            return
        if record.get("type") == "turn_context":
            self._model = payload.get("model") if isinstance(payload.get("model"), str) else self._model
            return
        info = payload.get("info")
        if record.get("type") != "event_msg" or payload.get("type") != "token_count" or not isinstance(info, dict):
            return
        total = _tokens(info.get("total_token_usage"))
        step = Tokens(total.fresh - self._total.fresh, total.cached - self._total.cached, total.output - self._total.output)
        if total.total < self._total.total or min(step) < 0:  # a total that went back: count from it anew
            step = total
        self._total = total
        self._window = whole(info.get("model_context_window")) or self._window
        if step.total > 0:
            self._answers.append(Answer(stamp_seconds(record.get("timestamp")), self._model, step))
            self._last_prompt = _tokens(info.get("last_token_usage")).prompt or step.prompt

    def usage(self) -> MemberUsage:
        return MemberUsage(tuple(self._answers), self._window, self._last_prompt)


def read(session_id: str, environment: Mapping[str, str]) -> MemberUsage | None:
    path = located("codex", session_id, lambda: codex_sessions.rollout(environment, session_id))
    return read_usage(path, CodexFold) if path else None
