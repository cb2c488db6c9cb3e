"""What a stand-in agent does in `cafleet demo`: read the notice, poll, ack, and answer.

A fresh message gets a reply (and the planner and coder hand work on); a reply is only
acked, so conversations end instead of echoing forever.
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

DEMO_PROMPT = (
    "You are {name} in the cafleet demo: fleet {fleet_id}, agent {agent_id}, director {director_id}. "
    "Answer every message and pass work on."
)

# (role, who asked) -> (reply, (whom to hand work to, what to ask) or None); "*" is anyone else.
SCRIPT = {
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
        self.fleet_id, self.agent_id, self.director_id = map(int, match.groups()) if match else (0, 0, 0)
        self._lock = threading.Lock()

    def __call__(self, text: str) -> None:
        notice = _NOTICE.match(text)
        if notice and self.fleet_id:
            threading.Thread(target=self._answer, args=(int(notice.group(1)),), daemon=True).start()

    def _cafleet(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "cafleet", "--fleet-id", str(self.fleet_id), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout if result.returncode == 0 else ""

    def _answer(self, task_id: int) -> None:
        with self._lock:  # one conversation step at a time, like a real agent's turn
            time.sleep(1.0)  # "reading"
            shown = self._cafleet("--json", "message", "show", "--agent-id", str(self.agent_id), "--task-id", str(task_id))
            if not shown:
                return
            task = json.loads(shown)
            self.say(f"read #{task_id} from {task['from_name']}: {task['text'][:60]}\n")
            self._cafleet("message", "ack", "--agent-id", str(self.agent_id), "--task-id", str(task_id))
            if task["reply_to_id"] is not None or task["state"] != TaskState.UNREAD:
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
