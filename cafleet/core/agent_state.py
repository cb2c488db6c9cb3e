"""What an agent in a pane is doing, as read from its process and its screen."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class AgentState(StrEnum):
    STARTING = "starting"  # launched, input box not drawn yet (typed keys would be lost)
    READY = "ready"  # input box drawn and empty
    BUSY = "busy"  # a turn is running; input typed now is queued by the agent
    ASKING = "asking"  # a question, permission prompt or menu waits for an answer
    DRAFT = "draft"  # someone's text sits in the input box
    RETRYING = "retrying"  # the provider refused for now (429, overloaded); the agent tries again itself
    LIMITED = "limited"  # the provider refuses until a reset: usage limit, spent credit, retries given up
    AUTH_EXPIRED = "auth-expired"  # the provider refuses the agent's login or key: someone must log in
    CONTEXT_FULL = "context-full"  # the conversation no longer fits the model: compact it or start anew
    EXITED = "exited"  # the pane lives, but something else than its agent runs in it
    GONE = "gone"  # no pane (or not the pane we recorded)


# Typing a notice into these is safe: it lands in an empty box, or the agent queues it.
TYPEABLE = frozenset({AgentState.READY, AgentState.BUSY})
# The provider will not answer this agent now: a notice typed in would not be acted on (or
# would be lost with the failed turn), so notices wait, deferred, until the state passes.
HELD = frozenset({AgentState.RETRYING, AgentState.LIMITED, AgentState.AUTH_EXPIRED, AgentState.CONTEXT_FULL})


class ScreenReading(NamedTuple):
    """What a backend's screen parser saw (process checks come first, elsewhere)."""

    state: AgentState
    question: str | None = None  # the prompt's text while ASKING
    draft: str = ""  # the box's text while DRAFT
    # While HELD (or asking about a limit): what the agent says, in one line ...
    detail: str = ""
    # ... and when the limit resets or the next attempt comes, as the agent shows it
    # ("10:47pm", "Dec 9th, 2026 10:49 PM", "in 28s"); `reset_time.reset_at` makes it a time.
    resets: str = ""
    # While HELD: the refused turn has ended and the input box is drawn and empty, so an input
    # typed now starts a new turn (the monitor's wake after a reset). False while the agent
    # retries, or waits to continue, by itself.
    box_open: bool = False


class Observation(NamedTuple):
    """One look at an agent's pane."""

    state: AgentState
    reason: str = ""  # why, in a few words (e.g. "python3 runs in the pane"; what a HELD agent says)
    question: str | None = None
    draft: str = ""
    command: str = ""  # the pane's foreground command as tmux names it (the typing guard)
    resets: str = ""  # see ScreenReading.resets
    box_open: bool = False  # see ScreenReading.box_open
