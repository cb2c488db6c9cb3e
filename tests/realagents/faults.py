"""Errors the scripted model can answer instead of a turn, each API rendering them in its own
shape (`anthropic_api.error_reply`, `responses_api.error_reply`, `chat_api.error_reply`).

`ModelServer.fail(Fault(FaultKind.USAGE_LIMIT))` makes every model request fail so until
`heal()` (or, for a usage limit given `resets_at`, until then); the real agents' screens for
each are what the screen readers learn from.
"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import NamedTuple


class FaultKind(StrEnum):
    RATE_LIMIT = "rate-limit"  # HTTP 429 with Retry-After: the agent waits and tries again
    OVERLOADED = "overloaded"  # the provider is out of capacity (Anthropic's 529, OpenAI's 503)
    USAGE_LIMIT = "usage-limit"  # the plan's allowance is spent until its reset time
    QUOTA = "quota"  # the account's credit is spent: no reset time (OpenAI's insufficient_quota)
    AUTH_EXPIRED = "auth-expired"  # HTTP 401: the key or token is no longer accepted
    CONTEXT_FULL = "context-full"  # the conversation no longer fits the model's context window


class Fault(NamedTuple):
    kind: FaultKind
    retry_after: int = 30  # seconds a 429 or 529 asks the agent to wait (Retry-After)
    resets_at: int | None = None  # when a usage limit resets (epoch seconds); None = in an hour

    def reset_epoch(self) -> int:
        return self.resets_at if self.resets_at is not None else int(time.time()) + 3600

    def reset_in(self) -> int:
        return max(0, self.reset_epoch() - int(time.time()))
