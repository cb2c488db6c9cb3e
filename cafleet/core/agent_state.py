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
    # Its agent runs, but its screen has shown no state cafleet knows for a while after it
    # started: most likely a version whose screen changed (`Backend.verified_versions`).
    UNREADABLE = "unreadable"
    EXITED = "exited"  # the pane lives, but something else than its agent runs in it
    # Its pane is gone: its tmux server died (or was replaced: pane ids restart) or the pane was
    # closed. Its conversation is not: `fleet restore` starts its agent again with it.
    LOST = "lost"
    # This process cannot look at its pane: another host's, a tmux server it cannot see (a
    # sandbox, a private /tmp), a pane process it cannot read. Not lost, as far as we know.
    UNSEEN = "unseen"

    @classmethod
    def _missing_(cls, value: object) -> AgentState | None:
        # Rows recorded before `lost` and `unseen` were told apart said "gone".
        return cls.LOST if value == "gone" else None


# Typing a notice into these is safe: it lands in an empty box, or the agent queues it.
TYPEABLE = frozenset({AgentState.READY, AgentState.BUSY})
# The provider will not answer this agent now: a notice typed in would not be acted on (or
# would be lost with the failed turn), so notices wait, deferred, until the state passes.
HELD = frozenset({AgentState.RETRYING, AgentState.LIMITED, AgentState.AUTH_EXPIRED, AgentState.CONTEXT_FULL})
# A screen read as `starting` this long after its pane was made is `unreadable` instead (the
# slowest agent, opencode, shows its box within ~15 s of starting, even when resuming).
UNREADABLE_AFTER_SECONDS = 60.0


# What a reader says (as the question of `asking`) of an empty input box in shell mode, for an
# agent whose shell mode outlasts a command: typed text would run in the shell, so nothing is
# typed until the keys of `Backend.shell_mode_off_keys` turn it off.
SHELL_MODE_QUESTION = "shell mode is on: typed text would run as a shell command (`!` on the empty box turns it off)"


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
    # What the screen shows, less what moves while nothing happens (clocks, counters,
    # spinners), hashed: unchanged while a busy agent is stalled.
    fingerprint: str = ""
