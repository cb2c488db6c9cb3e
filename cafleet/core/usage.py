"""What a member's agent spent, as its own files say: tokens per model answer, and the context
its latest answer was given.

Every agent counts the same three things its own way; readers (`cafleet.backends.*_usage`)
turn them into `Tokens`: `fresh` input (read from no cache; a cache write counts here),
`cached` input (read from the provider's prompt cache, billed lower) and `output` (reasoning
included). A member's tokens used, for its budget, are all three added.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Tokens(NamedTuple):
    fresh: int = 0
    cached: int = 0
    output: int = 0

    @property
    def total(self) -> int:
        return self.fresh + self.cached + self.output

    @property
    def prompt(self) -> int:
        """The whole input, cached part included: how much context it filled."""
        return self.fresh + self.cached

    @classmethod
    def of_prompt(cls, prompt: object, cached: object, output: object, thoughts: object = 0) -> Tokens:
        """Counts as Gemini, Qwen and codex report them: the prompt including its cached part,
        and thinking billed as output (each raw value read with `whole`)."""
        held = whole(cached)
        return cls(fresh=max(whole(prompt) - held, 0), cached=held, output=whole(output) + whole(thoughts))

    def __add__(self, other: object) -> Tokens:
        if not isinstance(other, Tokens):
            return NotImplemented
        return Tokens(self.fresh + other.fresh, self.cached + other.cached, self.output + other.output)


class Answer(NamedTuple):
    """One model answer the agent recorded."""

    at: float | None  # when (epoch seconds), when the file says
    model: str | None
    tokens: Tokens
    # False for an answer to a helper of the agent (qwen's memory extractor): it costs, but the
    # conversation's context is what the main answers were given.
    main: bool = True


class MemberUsage(NamedTuple):
    """Every answer recorded in a member's saved conversation, oldest first."""

    answers: tuple[Answer, ...] = ()
    context_window: int | None = None  # when the agent's own file says it (codex)
    last_prompt: int | None = None  # the latest answer's prompt, when the file says it apart (codex)

    def tokens(self, since: float | None = None) -> Tokens:
        return sum_tokens(a.tokens for a in self.answers if since is None or (a.at is not None and a.at >= since))

    @property
    def model(self) -> str | None:
        """The model of the latest main answer."""
        return next((a.model for a in reversed(self.answers) if a.main and a.model), None)

    @property
    def context_used(self) -> int | None:
        """The prompt the latest main answer was given (cached part included), or None before any."""
        if self.last_prompt is not None:
            return self.last_prompt
        return next((a.tokens.prompt for a in reversed(self.answers) if a.main), None)

    def models(self) -> tuple[str | None, ...]:
        return tuple(dict.fromkeys(a.model for a in self.answers))


def sum_tokens(items: Iterable[Tokens]) -> Tokens:
    total = Tokens()
    for item in items:
        total = total + item
    return total


def whole(value: object) -> int:
    """A token count from an agent's file: a non-negative integer, anything else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
