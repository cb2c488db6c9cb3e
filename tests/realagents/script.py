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
# Test hooks inside a typed prompt: "please run: CMD" calls the shell tool with CMD; in a
# notice, "please write PATH: TEXT, then run and answer: CMD" writes the line TEXT to the file
# PATH with the agent's own file tool, then runs CMD with the notice's ack and reply in one
# shell command (an agent with no file tool does it all in that one command); "take your time"
# keeps the turn running for SLOW_SECONDS (the agent shows busy).
RUN_REQUEST = re.compile(r"please run: (?P<command>.+?)\s*$", re.S)
WRITE_REQUEST = re.compile(r"please write (?P<path>\S+): (?P<text>[^\n]*?), then run and answer: (?P<command>.+?)\s*$", re.S)
# The agents' own file-writing tools (codex 0.169 offers the model none against a custom provider).
WRITE_TOOLS = ("Write", "write")  # claude, opencode
# In a notice: "please pass on to ID" has the member send a message of its own to agent ID
# (besides its ack and reply); a notice of a reply ("reply to task N: …") is only acked.
PASS_ON = re.compile(r"please pass on to (?P<to>\d+)")
REPLY_BODY = re.compile(r"^[^\]]*\]\s*reply to task \d+:")
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
    tool_output: str = ""  # what the latest tool call printed, when the latest input is its result
    results_since_text: int = 0  # tool results since the latest user text (steps of this turn)
    # The user texts since the model's last answer: an agent may send several inputs at once
    # (opencode sends those typed before its turn reached the model in one request).
    new_texts: tuple[str, ...] = ()


class Usage(NamedTuple):
    """The token counts one model answer reports (each protocol spells them its own way)."""

    fresh: int  # input tokens not read from the prompt cache
    cached: int  # input tokens read from the prompt cache
    output: int

    @property
    def prompt(self) -> int:
        """The whole prompt, cached part included (what OpenAI's and Gemini's input counts hold)."""
        return self.fresh + self.cached


def usage_of(serial: int) -> Usage:
    """The counts of the model's `serial`-th answer (1-based): each field in its own range and
    every answer different, so a reader that swaps fields, drops or doubles a turn is caught."""
    return Usage(fresh=1000 + serial, cached=20000 + 10 * serial, output=300 + serial)


class Write(NamedTuple):
    """A call of the agent's own file tool `tool`: write `text` to the file at `path`."""

    tool: str
    path: str
    text: str


class Turn(NamedTuple):
    """One model turn: final text, one shell tool call running `command`, or one `write`."""

    text: str | None = None
    command: str | None = None
    delay: float = 0.0  # seconds to wait before answering (keeps the agent busy)
    write: Write | None = None


def reply_command(conversation: Conversation, asked: str | None = None) -> str | None:
    """`ack && send` for each notice in `asked` (default: every input since the model's last
    answer), or None when there is none."""
    if asked is None:
        asked = "\n".join(conversation.new_texts) or conversation.last_text
    notices = list(NOTICE.finditer(asked))
    if not notices:
        return None
    template = None
    for text in conversation.texts:
        template = ACK_TEMPLATE.search(text) or template
    if template is None:
        return None
    base = f"{template['cafleet']} --fleet-id {template['fleet']} message"
    agent = template["agent"]
    commands = []
    for index, notice in enumerate(notices):
        task = notice["task"]
        ends = notices[index + 1].start() if index + 1 < len(notices) else len(asked)
        body = asked[notice.end() : ends]
        ack = f"{base} ack --agent-id {agent} --task-id {task}"
        if REPLY_BODY.search(body):
            commands.append(ack)  # a reply to this member's own message: acked, not answered (no ping-pong)
            continue
        reply = shlex.quote(f"reply to task {task}: done")
        passed = PASS_ON.search(body)
        if passed:
            hello = shlex.quote(f"hello from agent {agent}, passed on")
            ack += f" && {base} send --agent-id {agent} --to {passed['to']} --text {hello}"
        commands.append(f"{ack} && {base} send --agent-id {agent} --to {notice['sender']} --reply-to {task} --text {reply}")
    return " && ".join(commands)


def decide(conversation: Conversation, shell_tool: str) -> Turn:
    """The scripted answer. `shell_tool` is the name of this agent's shell tool."""
    if shell_tool not in conversation.tool_names:
        return Turn(text="ok")  # a side request (title, summary, …): never call tools here
    write_tool = next((tool for tool in WRITE_TOOLS if tool in conversation.tool_names), None)
    if conversation.after_tool_result:
        asked = conversation.texts[-1] if conversation.texts else ""
        written = WRITE_REQUEST.search(asked)
        reply = reply_command(conversation, asked)
        if written and write_tool and conversation.results_since_text == 1 and reply is not None:
            return Turn(command=f"{written['command']} && {reply}")  # the file is written: commit, answer
        return Turn(text=FINAL_TEXT)
    delay = SLOW_SECONDS if SLOW_MARK in conversation.last_text else 0.0
    requested = RUN_REQUEST.search(conversation.last_text)
    written = WRITE_REQUEST.search(conversation.last_text)
    reply = reply_command(conversation)
    if written and write_tool:
        return Turn(write=Write(write_tool, written["path"], written["text"] + "\n"), delay=delay)
    if requested:
        command = requested["command"]
    elif written and reply is not None:
        command = (
            f"printf '%s\\n' {shlex.quote(written['text'])} > {shlex.quote(written['path'])} && {written['command']} && {reply}"
        )
    else:
        command = reply
    if command is not None:
        return Turn(command=command, delay=delay)
    return Turn(text=IDLE_TEXT, delay=delay)
