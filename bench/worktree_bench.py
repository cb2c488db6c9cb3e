"""What members' worktrees cost the Director: `member create --worktree` and `member diff`.

Measured as whole processes (the Director's agent runs each command as one), on a private tmux
server with stand-in agents (bench/pane_fleet.py), against real git repositories made in a
temporary directory:

  * `member create` without --worktree, the baseline every spawn pays;
  * `member create --worktree --no-setup` on a small repository (a few files) and on one of
    10,000 files (git checks out every file into the new worktree);
  * the same with `--setup true` (the setup machinery: the log, the process) and with a
    setup that does a little work (`ls -R > /dev/null`), and with a `.worktreeinclude`
    copying 20 ignored files;
  * `member list` with one member that has no worktree, the baseline of the review commands;
  * on the 10,000-file repository, with a member branch that changed 200 files in 10
    commits and 50 more files left uncommitted: `member diff --stat`, `member diff` (the
    whole patch), `member diff --json`, `member diff --uncommitted --stat`, and `member list`
    (which runs git for each worktree member).

Each create is followed by `member delete --force --discard` (not timed) and a sync, so that
writing back the files it deleted does not slow the next one. Everything runs with
a private HOME, XDG_DATA_HOME, TMUX_TMPDIR and database; the user's tmux server and files are
never touched.

Usage: python bench/worktree_bench.py [--runs N] [--files N] [--json]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pane_fleet import StandIns, private_tmux  # noqa: E402

CHECKOUT = Path(__file__).resolve().parent.parent


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=600).stdout


def make_repo(path: Path, files: int) -> Path:
    """A repository of `files` small text files spread over 100 directories, one commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Bench")
    git(path, "config", "user.email", "bench@example.com")
    for n in range(files):
        target = path / f"pkg{n % 100:02d}" / f"module{n:05d}.py"
        target.parent.mkdir(exist_ok=True)
        target.write_text("".join(f"value_{n}_{line} = {line}\n" for line in range(20)))
    (path / ".gitignore").write_text("local/\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "start")
    return path


class Bench:
    def __init__(self, root: Path):
        self.root = root
        self.standins = StandIns(root)
        home = root / "home"
        home.mkdir()
        (root / "tmux").mkdir()
        self.env = {
            **os.environ,
            "HOME": str(home),
            "XDG_DATA_HOME": str(root / "xdg"),
            "TMUX_TMPDIR": str(root / "tmux"),
            "CAFLEET_DATABASE_URL": str(root / "cafleet.db"),
            "PATH": f"{self.standins.bin}{os.pathsep}{os.environ['PATH']}",
            "PYTHONPATH": str(CHECKOUT),
        }
        for name in ("TMUX", "TMUX_PANE", "CAFLEET_WORKTREES_DIR", "CAFLEET_HOST_ID"):
            self.env.pop(name, None)
        self.fleet_id = self.director_id = 0
        self.names = 0

    def cafleet(self, *args: str, cwd: Path | None = None) -> tuple[float, subprocess.CompletedProcess]:
        argv = [sys.executable, "-m", "cafleet", "--fleet-id", str(self.fleet_id), *args]
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"cafleet {' '.join(args)} failed: {done.stderr.strip()}")
        return elapsed, done

    def create(self, repo: Path, *extra: str) -> tuple[float, int]:
        self.names += 1
        name = f"m{self.names}"
        args = ["member", "create", "--agent-id", str(self.director_id), "--name", name, "--description", "bench", "--quiet"]
        elapsed, done = self.cafleet(*args, *extra, cwd=repo)
        return elapsed, int(done.stdout)

    def delete(self, member_id: int) -> None:
        self.cafleet(
            "member", "delete", "--agent-id", str(self.director_id), "--member-id", str(member_id), "--force", "--discard"
        )


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 1),
        "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 1),
        "min_ms": round(ordered[0] * 1000, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    opts = parser.parse_args()

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="cafleet-worktree-bench-") as scratch:
        root = Path(scratch)
        bench = Bench(root)
        small = make_repo(root / "small", 5)
        big = make_repo(root / "big", opts.files)
        with_include = make_repo(root / "include", 5)
        (with_include / "local").mkdir()
        for n in range(20):
            (with_include / "local" / f"secret{n}.env").write_text(f"TOKEN_{n}=x\n")
        (with_include / ".worktreeinclude").write_text("local/\n")
        git(with_include, "add", ".worktreeinclude")
        git(with_include, "commit", "-q", "-m", "include")

        with private_tmux(bench.env) as tmux:
            bench.env.update(tmux.pane_env())
            created = subprocess.run(
                [sys.executable, "-m", "cafleet", "fleet", "create", "--label", "bench"],
                env=bench.env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            bench.fleet_id, bench.director_id = map(int, created.stdout.splitlines()[:2])

            cases = {
                "create (no worktree)": (small, ()),
                "create --worktree --no-setup, 5 files": (small, ("--worktree", "--no-setup")),
                f"create --worktree --no-setup, {opts.files:,} files": (big, ("--worktree", "--no-setup")),
                "create --worktree --setup true, 5 files": (small, ("--worktree", "--setup", "true")),
                f"create --worktree --setup true, {opts.files:,} files": (big, ("--worktree", "--setup", "true")),
                f"create --worktree --setup 'ls -R', {opts.files:,} files": (big, ("--worktree", "--setup", "ls -R > /dev/null")),
                "create --worktree, .worktreeinclude copies 20 files": (with_include, ("--worktree", "--no-setup")),
            }
            for label, (repo, extra) in cases.items():
                samples = []
                for _ in range(opts.runs):
                    os.sync()  # the previous run's deleted worktree is not still being written back
                    elapsed, member_id = bench.create(repo, *extra)
                    samples.append(elapsed)
                    bench.delete(member_id)
                results[label] = summary(samples)

            _, plain = bench.create(big)
            listing = ("member", "list", "--agent-id", str(bench.director_id))
            bench.cafleet(*listing, cwd=big)
            results["member list (one member, no worktree): the baseline"] = summary(
                [bench.cafleet(*listing, cwd=big)[0] for _ in range(opts.runs)]
            )
            bench.delete(plain)

            _, member_id = bench.create(big, "--worktree", "--no-setup", "--branch", "review")
            worktree = big.parent / ".cafleet-worktrees" / big.name / "review"
            for commit in range(10):
                for n in range(commit * 20, commit * 20 + 20):
                    target = worktree / f"pkg{n % 100:02d}" / f"module{n:05d}.py"
                    target.write_text(target.read_text() + f"changed_{commit} = True\n")
                git(worktree, "commit", "-q", "-am", f"change {commit}")
            for n in range(opts.files // 2, opts.files // 2 + 50):
                target = worktree / f"pkg{n % 100:02d}" / f"module{n:05d}.py"
                target.write_text(target.read_text().replace("= 1\n", "= 100\n"))
            director = str(bench.director_id)
            review = {
                "member diff --stat (200 files, 10 commits)": (
                    "member",
                    "diff",
                    "--agent-id",
                    director,
                    "--member-id",
                    str(member_id),
                    "--stat",
                ),
                "member diff (whole patch)": ("member", "diff", "--agent-id", director, "--member-id", str(member_id)),
                "member diff --json": ("--json", "member", "diff", "--agent-id", director, "--member-id", str(member_id)),
                "member diff --uncommitted --stat (50 files)": (
                    "member",
                    "diff",
                    "--agent-id",
                    director,
                    "--member-id",
                    str(member_id),
                    "--uncommitted",
                    "--stat",
                ),
                "member list (one worktree member)": ("member", "list", "--agent-id", director),
            }
            for label, args in review.items():
                bench.cafleet(*args, cwd=big)  # warm the file-system cache
                results[f"{label}, {opts.files:,}-file repository"] = summary(
                    [bench.cafleet(*args, cwd=big)[0] for _ in range(opts.runs)]
                )
            bench.delete(member_id)

    if opts.json:
        print(json.dumps(results, indent=2))
    else:
        width = max(map(len, results))
        print(f"{'':{width}}  median     p90     min   ({opts.runs} runs each, git {git(Path('.'), 'version').split()[-1]})")
        for label, row in results.items():
            print(f"{label:{width}}  {row['median_ms']:6.0f}  {row['p90_ms']:6.0f}  {row['min_ms']:6.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
