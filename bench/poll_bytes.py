"""Bytes an agent reads per call: a poll of 5 short messages as text and as JSON, and the roster.

Agents pay for every byte of output in tokens, so the JSON a coding agent asks for must not
cost much more than the text. This runs the installed console script against a private
temporary database (no tmux needed: the fleet is bootstrapped in-process with a fake pane)
and prints the size of each output and its ratio to the default text poll.

    python bench/poll_bytes.py            # a table
    python bench/poll_bytes.py --json     # the numbers as JSON (tests/test_output_bytes.py)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

# Five short messages, about 40 characters each, from the Director to one member.
MESSAGES = (
    "Please review PR 42 before the standup.",
    "The tokenizer tests fail on main again.",
    "Use the typed AST; the old one is gone.",
    "Rebase on main, then run the full suite.",
    "Done? Send me the diff stat when ready.",
)

CALLS = {
    "poll text": ["message", "poll"],
    "poll --full text": ["message", "poll", "--full"],
    "poll --json": ["--json", "message", "poll"],
    "poll --json --full": ["--json", "message", "poll", "--full"],
    "agent list text": ["agent", "list"],
    "agent list --json": ["--json", "agent", "list"],
}


def cafleet() -> str:
    script = Path(sysconfig.get_path("scripts")) / "cafleet"
    return str(script) if script.exists() else (shutil.which("cafleet") or "cafleet")


def measure() -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "CAFLEET_MAX_TEXT_LEN")}
        env.update(HOME=tmp, XDG_DATA_HOME=tmp, CAFLEET_DATABASE_URL=f"sqlite:///{tmp}/bench.db")
        os.environ.update(CAFLEET_DATABASE_URL=env["CAFLEET_DATABASE_URL"])
        from cafleet.broker.agents import register_agent
        from cafleet.broker.fleets import create_fleet
        from cafleet.broker.messages import send_message
        from cafleet.core.records import PaneLocation
        from cafleet.store.db import open_database

        open_database()
        pane = PaneLocation("/tmp/tmux-bench/default", 1, "main", "@1", "%1")
        fleet = create_fleet(pane, label="bench")
        member = register_agent(fleet.fleet.id, "coder", "Implements the parser")
        for text in MESSAGES:
            send_message(fleet.fleet.id, fleet.director.id, str(member.id), text)
        sizes = {}
        for label, args in CALLS.items():
            argv = [cafleet(), "--fleet-id", str(fleet.fleet.id), *args, "--agent-id", str(member.id)]
            done = subprocess.run(argv, capture_output=True, env=env, timeout=30, check=True)
            sizes[label] = len(done.stdout)
        return sizes


def main() -> int:
    sizes = measure()
    if "--json" in sys.argv[1:]:
        print(json.dumps(sizes))
        return 0
    base = sizes["poll text"]
    for label, size in sizes.items():
        print(f"{label:<22} {size:>6} bytes  {size / base:5.2f}x poll text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
