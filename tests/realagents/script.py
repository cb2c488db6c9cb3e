"""What the scripted loopback model answers: the same decisions whatever the wire protocol.

Each protocol module turns its request into a `Conversation` and `decide`'s `Turn` back into
its own response format. The script plays a diligent member: on a cafleet notice it calls the
agent's own shell tool to ack the message and reply to its sender, with the commands the
spawn prompt taught it; after the tool result it ends the turn.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

NOTICE = re.compile(r"\[cafleet msg (?P<task>\d+) from (?P<name>[^#\s\]]+)#(?P<sender>\d+)")
# The ack command as the spawn prompt spells it; the reply uses the same executable and ids.
ACK_TEMPLATE = re.compile(
    r"(?P<cafleet>(?:'[^']*'|\S)*cafleet'?) --fleet-id (?P<fleet>\d+) message ack --agent-id (?P<agent>\d+)"
)
# Test hooks inside a typed prompt: "please run: CMD" calls the shell tool with CMD, and
# "take your time" keeps the turn running for SLOW_SECONDS (the agent shows busy).
RUN_REQUEST = re.compile(r"please run: (?P<command>.+?)\s*$", re.S)
SLOW_MARK = "take your time"
SLOW_SECONDS = 8.0
FINAL_TEXT = "Done: acked and replied."
IDLE_TEXT = "Ready and waiting for cafleet notices."


class Conversation(NamedTuple):
    """What the script needs from one request, in any protocol."""

    texts: tuple[str, ...]  # every user-side text in order (system prompt excluded)
    last_text: str  # the text of the latest user input ("" when it is a tool result)
    after_tool_result: bool  # the latest input is the result of our tool call
    tool_names: frozenset[str]  # the tools the agent declared in this request


class Turn(NamedTuple):
    """One model turn: either final text, or one shell tool call running `command`."""

    text: str | None = None
    command: str | None = None
    delay: float = 0.0  # seconds to wait before answering (keeps the agent busy)


def reply_command(conversation: Conversation) -> str | None:
    """`ack && send` for the notice in the latest input, or None when there is none."""
    notice = NOTICE.search(conversation.last_text)
    if notice is None:
        return None
    template = None
    for text in conversation.texts:
        template = ACK_TEMPLATE.search(text) or template
    if template is None:
        return None
    base = f"{template['cafleet']} --fleet-id {template['fleet']} message"
    agent = template["agent"]
    task = notice["task"]
    reply = shlex.quote(f"reply to task {task}: done")
    return (
        f"{base} ack --agent-id {agent} --task-id {task} && "
        f"{base} send --agent-id {agent} --to {notice['sender']} --reply-to {task} --text {reply}"
    )


def decide(conversation: Conversation, shell_tool: str) -> Turn:
    """The scripted answer. `shell_tool` is the name of this agent's shell tool."""
    if shell_tool not in conversation.tool_names:
        return Turn(text="ok")  # a side request (title, summary, …): never call tools here
    if conversation.after_tool_result:
        return Turn(text=FINAL_TEXT)
    delay = SLOW_SECONDS if SLOW_MARK in conversation.last_text else 0.0
    requested = RUN_REQUEST.search(conversation.last_text)
    command = requested["command"] if requested else reply_command(conversation)
    if command is not None:
        return Turn(command=command, delay=delay)
    return Turn(text=IDLE_TEXT, delay=delay)
