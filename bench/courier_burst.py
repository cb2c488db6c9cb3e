"""A burst of sends to live panes: how many processes and how much memory deliver them.

Before the courier, every `message send` to a pane started its own detached deliverer (about
24 MB each; a burst of 30 sends ran 13 at once, 318 MB). Now one courier per database types
every notice. On a private tmux server with 4 stand-in members, this fires N concurrent
`message send`s (round-robin over the members), then samples every second process that is
neither a sender nor tmux: the count of cafleet processes and their summed RSS, until every
notice is `delivered`.

    python bench/courier_burst.py [--sends 30]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pane_fleet import StandIns, notify_statuses, private_tmux, settled  # noqa: E402

MEMBERS = ("ann", "bob", "cid", "dee")


def cafleet_processes(db_path: Path) -> list[tuple[int, int, str]]:
    """(pid, RSS KiB, command line) of every process whose environment names this benchmark's database,
    apart from `message send` itself."""
    marker = f"CAFLEET_DATABASE_URL={db_path}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"-m\0cafleet" not in cmdline and not cmdline.split(b"\0")[0].endswith(b"/cafleet"):
                continue  # tmux clients name the benchmark's socket, which says cafleet too
            if b"standin" in cmdline or b"message\0send" in cmdline:
                continue
            parent = (proc / "stat").read_bytes().rsplit(b")", 1)[1].split()[1].decode()
            if b"cafleet.panes.courier" in Path(f"/proc/{parent}/cmdline").read_bytes():
                continue  # the courier forking a tmux client, caught before its exec
            if marker not in (proc / "environ").read_bytes().split(b"\0"):
                continue
            rss = next(int(line.split()[1]) for line in (proc / "status").read_text().splitlines() if line.startswith("VmRSS:"))
            found.append((int(proc.name), rss, cmdline.replace(b"\0", b" ").decode(errors="replace")[:120]))
        except (OSError, StopIteration):
            continue
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sends", type=int, default=30)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cafleet-burst-"))
    db_path = root / "cafleet.store.db"
    env = {
        **os.environ,
        "HOME": str(root),
        "XDG_DATA_HOME": str(root / "data"),
        "CAFLEET_DATABASE_URL": str(db_path),
        "TMUX_TMPDIR": str(root),
    }
    standins = StandIns(root)
    env["PATH"] = f"{standins.bin}{os.pathsep}{env['PATH']}"
    cafleet = str(Path(sys.executable).parent / "cafleet")
    with private_tmux(env) as tmux:
        env.update(tmux.pane_env())

        def cli(*argv: str) -> str:
            return subprocess.run([cafleet, *argv], env=env, capture_output=True, text=True, check=True).stdout

        fleet, director = map(int, cli("fleet", "create", "--label", "burst").splitlines()[:2])
        for name in MEMBERS:
            cli(
                "--fleet-id",
                str(fleet),
                "member",
                "create",
                "--agent-id",
                str(director),
                "--name",
                name,
                "--description",
                "stand-in",
                "--quiet",
            )
        standins.wait_until_ready(list(MEMBERS), timeout=30)
        time.sleep(1.5)  # the courier has seen every member ready
        started = time.monotonic()
        senders = [
            subprocess.Popen(
                [
                    cafleet,
                    "--fleet-id",
                    str(fleet),
                    "message",
                    "send",
                    "--agent-id",
                    str(director),
                    "--to",
                    MEMBERS[n % len(MEMBERS)],
                    "--quiet",
                    "--text",
                    f"burst {n}",
                ],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(args.sends)
        ]
        peak_count = peak_rss = 0
        seen_commands: set[str] = set()
        task_ids: list[int] = []
        while True:
            procs = cafleet_processes(db_path)
            peak_count = max(peak_count, len(procs))
            peak_rss = max(peak_rss, sum(rss for _, rss, _ in procs))
            seen_commands.update(f"{pid} {command}" for pid, _, command in procs)
            if not task_ids and all(p.poll() is not None for p in senders):
                task_ids = [int(p.stdout.read()) for p in senders]
                returned = time.monotonic() - started
            if task_ids and all(settled(s) for s in notify_statuses(db_path, task_ids).values()):
                break
            if time.monotonic() - started > 120:
                print("timed out", file=sys.stderr)
                return 1
            time.sleep(0.05)
        landed = time.monotonic() - started
        statuses = notify_statuses(db_path, task_ids).values()
    print(f"{args.sends} concurrent sends to {len(MEMBERS)} live panes")
    print(f"  all sends returned after      {returned:6.2f} s")
    print(f"  all notices delivered after   {landed:6.2f} s ({sum(s == 'delivered' for s in statuses)}/{args.sends} delivered)")
    print(f"  delivering processes, at most {peak_count}")
    print(f"  their summed RSS, at most     {peak_rss / 1024:6.1f} MiB")
    for log in sorted((db_path.parent / "locks").glob("courier-*.log")):  # one per host
        if log.read_text().strip():
            print(f"  {log.name}:\n    " + log.read_text().strip().replace("\n", "\n    "))
    for command in sorted(seen_commands):
        print(f"    seen: {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
