"""How soon a Director hears that two members' branches change the same file.

On a private tmux server with two stand-in members, each in a worktree of a small repository
(bench/worktree_bench.py's setup), each round commits a new file on the first member's branch,
then the same file on the second's, and waits until the Director's inbox holds the `[overlap]`
message naming it. Nobody runs a cafleet command meanwhile: the courier notices. Reports the
delay from the second commit to the message (median, max); issue 24 asks for under 30 s.

Usage: python bench/overlap_latency.py [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pane_fleet import private_tmux  # noqa: E402
from worktree_bench import Bench, git, make_repo  # noqa: E402


def overlap_messages(bench: Bench, repo: Path) -> list[str]:
    _, done = bench.cafleet("--json", "message", "poll", "--agent-id", str(bench.director_id), "--full", cwd=repo)
    return [task["text"] for task in json.loads(done.stdout) if task["text"].startswith("[overlap]")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cafleet-overlap-bench-") as scratch:
        root = Path(scratch)
        bench = Bench(root)
        repo = make_repo(root / "repo", 5)
        with private_tmux(bench.env) as tmux:
            bench.env.update(tmux.pane_env())
            created = subprocess.run(
                [sys.executable, "-m", "cafleet", "fleet", "create", "--label", "overlap-bench"],
                env=bench.env, cwd=repo, capture_output=True, text=True, check=True,
            )  # fmt: skip
            bench.fleet_id, bench.director_id = map(int, created.stdout.split()[:2])
            worktrees = []
            for _ in range(2):
                _, member = bench.create(repo, "--worktree", "--no-setup")
                _, listed = bench.cafleet("--json", "member", "list", "--agent-id", str(bench.director_id), cwd=repo)
                worktrees.append(Path(next(m["worktree"]["path"] for m in json.loads(listed.stdout) if m["agent_id"] == member)))
            delays = []
            for round_ in range(opts.rounds):
                name = f"shared{round_}.py"
                for n, worktree in enumerate(worktrees):
                    (worktree / name).write_text(f"member {n}\n")
                    git(worktree, "add", name)
                    git(worktree, "commit", "-q", "-m", f"member {n}: {name}")
                committed = time.monotonic()
                while not any(name in text for text in overlap_messages(bench, repo)):
                    time.sleep(0.2)
                delays.append(time.monotonic() - committed)
    result = {
        "rounds": opts.rounds,
        "median_s": round(statistics.median(delays), 2),
        "max_s": round(max(delays), 2),
    }
    print(json.dumps(result) if opts.json else "\n".join(f"{k}: {v}" for k, v in result.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
