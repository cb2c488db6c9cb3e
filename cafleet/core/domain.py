"""The closed sets of values the database stores, and the constants more than one layer uses.

StrEnum members are the strings themselves: they compare equal to what a row holds, bind as
query parameters and serialise into JSON unchanged, so output and the schema stay as they are.
"""

from __future__ import annotations

from enum import StrEnum


class CodingAgent(StrEnum):
    """The coding agents a placement can run (each has a module in cafleet/backends/)."""

    CLAUDE = "claude"
    CODEX = "codex"
    OPENCODE = "opencode"
    GEMINI = "gemini"  # Gemini CLI
    QWEN = "qwen"  # Qwen Code
    PI = "pi"  # pi (pi-coding-agent)
    # cafleet's scripted stand-in (`python -m cafleet.demo.standin_agent`): what `cafleet demo`
    # runs, recorded as itself; never offered as a choice.
    STANDIN = "standin"


# The coding agents a user can choose (--coding-agent, skills, doctor).
CODING_AGENTS: tuple[str, ...] = tuple(agent.value for agent in CodingAgent if agent is not CodingAgent.STANDIN)


class AgentKind(StrEnum):
    DIRECTOR = "director"  # the fleet's root Director, placed in the pane that created it
    MEMBER = "member"  # spawned by the Director into a pane of its own
    AGENT = "agent"  # registered with `agent register`: in the pane it ran from, or without one
    ADMINISTRATOR = "administrator"  # the human, sending from the TUI


class AgentStatus(StrEnum):
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


class TaskKind(StrEnum):
    UNICAST = "unicast"  # one sender, one recipient
    BROADCAST = "broadcast"  # one delivery of a broadcast, owned by its recipient
    BROADCAST_SUMMARY = "broadcast_summary"  # the broadcast as its sender sees it


class TaskState(StrEnum):
    UNREAD = "input_required"  # the A2A name the column has always stored
    ACKED = "completed"
    CANCELED = "canceled"


# Notice outcomes are open-ended (`skipped:not-its-agent:bash`): a final status, a prefix and
# a reason. These are the parts code branches on.
NOTICE_PENDING = "pending"
NOTICE_CLAIMED = "claimed"  # one courier is typing it (notice_claim, notice_step say who and how far)
NOTICE_DELIVERED = "delivered"
NOTICE_DEFERRED = "deferred:"  # not yet: the courier tries again
# Its agent is busy while a hold lasts (its own retry, or the turn the monitor's wake started):
# typed now, a queued notice would be lost if that turn is refused again.
NOTICE_HELD = "deferred:held"
# Pasted into an agent that shows a paste late (gemini), which had not shown it when Enter was
# due: the next try submits it once it shows, or pastes it again if it never did.
NOTICE_PASTE_NOT_SHOWN = "deferred:paste-not-shown"
NOTICE_SKIPPED = "skipped:"  # final: the notice is not typed, and why
NOTICE_FAILED = "failed:"  # final: typing was tried and did not land
# Skipped because the agent's pane was lost or its agent had left it: nothing was typed, and
# once the agent runs in a pane again (`fleet restore`) these are due again.
LOST_PANE_SKIPS = ("skipped:tmux-server-gone", "skipped:pane-gone", "skipped:other-tmux-server")
NOT_ITS_AGENT = "not-its-agent:"  # an Observation reason: another program runs in the pane
NOT_ITS_AGENT_SKIP = NOTICE_SKIPPED + NOT_ITS_AGENT


class NoticeStep(StrEnum):
    """How far the courier holding a notice's claim got; a successor reads it after a crash."""

    CLAIMED = "claimed"  # nothing typed yet
    PASTING = "pasting"  # the paste may have reached the pane's input box
    ENTERING = "entering"  # the paste landed; Enter may have been pressed


# How often the monitor wakes an agent that has unread messages, by kind (seconds).
DEFAULT_MONITOR_INTERVALS: dict[str, int] = {AgentKind.DIRECTOR: 120, AgentKind.MEMBER: 300}
# Opens the message a member's Director and the human get when the member starts asking.
NEEDS_YOU_TAG = "[needs you]"

DEFAULT_MONITOR_INTERVAL = 300

# The tmux pane option the TUI sets on its own pane: nothing is ever typed into it.
TUI_PANE_OPTION = "@cafleet_tui"
