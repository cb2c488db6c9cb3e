"""How soon the human's notifier hears that a member needs them.

On a private tmux server a stand-in member starts asking (it shows a choice menu for an
`ask:` input, logging the moment it took the input); the courier sees the menu, records the
`[needs you]` message and its event, and its notifier thread POSTs it to a webhook served by
this process. Each round measures from the member starting to ask to the request's arrival,
then answers the menu and waits for the member to be ready again. Reports median and max.

Nothing touches the user's tmux server or home: `tmux -L <unique> -f /dev/null`, HOME,
XDG_DATA_HOME and the database in a temporary directory.

Usage: python bench/notify_delay.py [--rounds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from pane_fleet import StandIns, private_tmux  # noqa: E402

from tests.notify_support import Receiver  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cafleet-notify-bench-") as scratch:
        delays = run(Path(scratch), opts.rounds)
    report = {
        "rounds": len(delays),
        "median_seconds": round(statistics.median(delays), 3),
        "max_seconds": round(max(delays), 3),
        "min_seconds": round(min(delays), 3),
    }
    if opts.json:
        print(json.dumps(report))
    else:
        print(
            f"event (member starts asking) -> notifier's HTTP request over {report['rounds']} rounds: "
            f"median {report['median_seconds']:.3f} s, max {report['max_seconds']:.3f} s (min {report['min_seconds']:.3f} s)"
        )
    return 0


def run(root: Path, rounds: int) -> list[float]:
    (root / "home").mkdir()
    agents = StandIns(root)
    env = dict(os.environ)
    for key in ("TMUX", "TMUX_PANE", "CAFLEET_HOST_ID", "XDG_CONFIG_HOME"):
        env.pop(key, None)
    env.update(
        HOME=str(root / "home"),
        XDG_DATA_HOME=str(root / "data"),
        CAFLEET_DATABASE_URL=str(root / "data" / "cafleet.store.db"),
        TMUX_TMPDIR=str(root),
        PATH=f"{agents.bin}{os.pathsep}{env['PATH']}",
        PYTHONPATH=f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}",
    )
    receiver = Receiver()
    with private_tmux(env) as tmux:
        pane_env = {**env, **tmux.pane_env()}
        human = {**env, "TMUX": "", "TMUX_PANE": ""}

        def cafleet(*args: str, as_human: bool = False) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "cafleet", *args], env=human if as_human else pane_env, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise RuntimeError(f"cafleet {' '.join(args)}: {done.stderr.strip()}")
            return done.stdout

        fleet_id, director = cafleet("fleet", "create", "--label", "notify-bench").splitlines()[:2]
        fleet = ["--fleet-id", fleet_id]
        url = receiver.url("/hook")
        cafleet(
            "notify",
            "add",
            "hook",
            "--kind",
            "webhook",
            "--url",
            url,
            "--events",
            "needs-you",
            "--min-interval",
            "0",
            as_human=True,
        )
        member = cafleet(
            *fleet, "member", "create", "--agent-id", director, "--name", "asker", "--description", "asks", "--quiet"
        ).strip()
        agents.wait_until_ready(["asker"], 60)

        def member_state() -> str | None:
            shown = json.loads(cafleet(*fleet, "--json", "agent", "show", "--agent-id", director, "--id", member))
            return (shown["state"] or {}).get("state")

        def wait(predicate, what: str, timeout: float = 60) -> None:
            deadline = time.monotonic() + timeout
            while not predicate():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out waiting for {what}")
                time.sleep(0.02)

        wait(lambda: member_state() == "ready", "the member to be ready")
        delays = []
        for n in range(rounds):
            question = f"ask: Question {n}? | yes | no"
            cafleet(*fleet, "member", "send-input", "--agent-id", director, "--member-id", member, "--freetext", question)
            wait(lambda n=n: len(receiver.requests) > n, f"request {n}")
            asked = next(e["time"] for e in agents.events("asker") if e["event"] == "input" and e["text"] == question)
            delays.append(receiver.requests[n].at - asked)
            cafleet(*fleet, "member", "send-input", "--agent-id", director, "--member-id", member, "--choice", "1")
            wait(lambda: member_state() == "ready", "the member to be ready again")
        receiver.close()
        return delays


if __name__ == "__main__":
    sys.exit(main())
