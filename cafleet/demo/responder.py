"""What a stand-in agent does in `cafleet demo`: read the notice (or, when the monitor types
the poll command, poll), ack, and answer.

A fresh message gets a reply (and the Director, planner and coder hand work on); a reply is
only acked, so conversations end instead of echoing forever. A stand-in started without a
prompt naming its fleet and agent (the demo's Director, started before its fleet exists)
asks `cafleet whoami`, as a real agent would.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from cafleet.core.domain import TaskState

_NOTICE = re.compile(r"^\[cafleet msg (\d+) from (\S+)#(\d+) ")
_IDENTITY = re.compile(r"fleet (\d+), agent (\d+), director (\d+)")
_POLL = re.compile(r" message poll --agent-id (\d+)\b")

DEMO_PROMPT = (
    "You are {name} in the cafleet demo: fleet {fleet_id}, agent {agent_id}, director {director_id}. "
    "Answer every message and pass work on."
)

# (role, who asked) -> (reply, (whom to hand work to, what to ask) or None); "*" is anyone else.
SCRIPT = {
    ("director", "*"): (
        "Thanks. I have asked the planner to fold that into the plan.",
        ("planner", "The Administrator wrote to me; please fold their note into the plan."),
    ),
    ("planner", "*"): (
        "Plan: 1) split the tokenizer 2) typed AST 3) error recovery. Step 1 goes to coder.",
        ("coder", "Please implement step 1: split the tokenizer into lexer and scanner."),
    ),
    ("coder", "planner"): (
        "Done: tokenizer split into lexer.py and scanner.py, tests green.",
        ("reviewer", "Please review the tokenizer split (lexer.py, scanner.py)."),
    ),
    ("coder", "*"): ("On it; waiting for the planner's first step.", None),
    ("reviewer", "coder"): ("Reviewed: looks good, two small nits left as comments.", None),
    ("reviewer", "*"): ("Standing by to review whatever lands.", None),
}


class Responder:
    """Called with every submitted input of a stand-in; acts on cafleet notices."""

    def __init__(self, name: str, prompt: str, say: Callable[[str], None]):
        match = _IDENTITY.search(prompt)
        self.name = name
        self.say = say
        self.fleet_id, self.agent_id = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        notice = _NOTICE.match(text)
        if notice:
            self._in_turn(self._answer, int(notice.group(1)))
        elif poll := _POLL.search(text):
            self._in_turn(self._poll, int(poll.group(1)))

    def _in_turn(self, step: Callable[[int], None], number: int) -> None:
        def turn() -> None:
            with self._lock:  # one conversation step at a time, like a real agent's turn
                if self._know_who_i_am():
                    step(number)

        threading.Thread(target=turn, daemon=True).start()

    def _know_who_i_am(self) -> bool:
        if not self.fleet_id:
            found = self._run("--json", "whoami")
            if found:
                me = json.loads(found)
                self.fleet_id, self.agent_id = me["fleet_id"], me["agent_id"]
                self.say(f"I am {me['name']}#{self.agent_id} of fleet {self.fleet_id}\n")
        return bool(self.fleet_id)

    def _run(self, *args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "cafleet", *args], capture_output=True, text=True, timeout=30)
        return result.stdout if result.returncode == 0 else ""

    def _cafleet(self, *args: str) -> str:
        return self._run("--fleet-id", str(self.fleet_id), *args)

    def _poll(self, agent_id: int) -> None:
        """The monitor typed the poll command: run it, and answer what it lists."""
        if agent_id != self.agent_id:
            return
        listed = self._cafleet("--json", "message", "poll", "--agent-id", str(self.agent_id))
        unread = json.loads(listed) if listed else []
        self.say(f"polled: {len(unread)} unread\n")
        for task in unread:
            self._answer(task["task_id"])

    def _answer(self, task_id: int) -> None:
        time.sleep(1.0)  # "reading"
        shown = self._cafleet("--json", "message", "show", "--agent-id", str(self.agent_id), "--task-id", str(task_id))
        if not shown:
            return
        task = json.loads(shown)
        if task["state"] != TaskState.UNREAD:
            return  # answered already (a notice and a poll can name the same message)
        self.say(f"read #{task_id} from {task['from_name']}: {task['text'][:60]}\n")
        self._cafleet("message", "ack", "--agent-id", str(self.agent_id), "--task-id", str(task_id))
        if task["reply_to_id"] is not None:
            return  # a reply closes the thread
        reply, handoff = SCRIPT.get(
            (self.name, task["from_name"]), SCRIPT.get((self.name, "*"), (f"{self.name} here: on it.", None))
        )
        time.sleep(1.0)  # "working"
        self._cafleet(
            "message",
            "send",
            "--agent-id",
            str(self.agent_id),
            "--to",
            str(task["from_agent_id"]),
            "--reply-to",
            str(task_id),
            "--text",
            reply,
        )
        self.say(f"replied to {task['from_name']}\n")
        if handoff:
            self._cafleet("message", "send", "--agent-id", str(self.agent_id), "--to", handoff[0], "--text", handoff[1])
            self.say(f"asked {handoff[0]}: {handoff[1][:50]}\n")
