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
    EXITED = "exited"  # the pane lives, but something else than its agent runs in it
    GONE = "gone"  # no pane (or not the pane we recorded)


# Typing a notice into these is safe: it lands in an empty box, or the agent queues it.
TYPEABLE = frozenset({AgentState.READY, AgentState.BUSY})


class ScreenReading(NamedTuple):
    """What a backend's screen parser saw (process checks come first, elsewhere)."""

    state: AgentState
    question: str | None = None  # the prompt's text while ASKING
    draft: str = ""  # the box's text while DRAFT


class Observation(NamedTuple):
    """One look at an agent's pane."""

    state: AgentState
    reason: str = ""  # why, in a few words (e.g. "python3 runs in the pane")
    question: str | None = None
    draft: str = ""
    command: str = ""  # the pane's foreground command as tmux names it (the typing guard)
