"""A Director and one real member, as a user would run them: a private tmux server whose
panes see an offline agent HOME, the scripted loopback model, the stand-in as the Director's
agent (it logs every notice it is typed), and the real cafleet CLI."""

from __future__ import annotations

import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import NamedTuple

from tests.realagents import (
    anthropic_api,
    chat_api,
    claude_home,
    codex_home,
    gemini_api,
    gemini_home,
    opencode_home,
    pi_home,
    qwen_home,
    responses_api,
)
from tests.realagents.model_server import ModelServer

AGENTS_DIR_VARIABLE = "CAFLEET_REAL_AGENTS_DIR"
# Where .ci/run installs the npm packages: the real user's cache (tests run with a temp HOME).
DEFAULT_AGENTS_DIR = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "cafleet-agents"
HOMES = {
    "claude": claude_home,
    "codex": codex_home,
    "opencode": opencode_home,
    "gemini": gemini_home,
    "qwen": qwen_home,
    "pi": pi_home,
}
SHELL_TOOLS = {
    "claude": "Bash",
    "codex": "exec_command",
    "opencode": "bash",
    "gemini": "run_shell_command",
    "qwen": "run_shell_command",
    "pi": "bash",
}
ROUTES = {**anthropic_api.ROUTES, **responses_api.ROUTES, **chat_api.ROUTES, **gemini_api.ROUTES}


def agents_bin() -> Path | None:
    """Where the real agents' executables are, or None when they were never installed."""
    root = Path(os.environ.get(AGENTS_DIR_VARIABLE) or DEFAULT_AGENTS_DIR)
    bin_dir = root / "node_modules" / ".bin"
    return bin_dir if all((bin_dir / name).exists() for name in HOMES) else None


class Field(NamedTuple):
    """A running Director pane on a private tmux server, ready for `member create`."""

    socket_name: str
    socket_path: str
    server_pid: int
    director_pane: str
    env: dict[str, str]  # the Director's process environment (as if typed in its pane)
    director_log: Path
    home: Path
    workdir: Path  # the project: the Director's commands run here, so members start here


# How long a member's first turn may take to reach the model. A start that hangs (opencode's,
# now and then, before its first frame) is ended by the courier a minute on, by starting the
# agent again; at CI's load an agent takes up to 40 s to start.
FIRST_TURN_S = 240


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


def start_field(
    tmp_path: Path, backend: str | tuple[str, ...], server: ModelServer, cafleet: str, user_config: dict | None = None
) -> Field:
    """A Field whose HOME is seeded for `backend` (or for each of several: a mixed fleet)."""
    home = Path(os.environ["HOME"])  # the test's own HOME (conftest isolates it)
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = dict(os.environ)
    for each in (backend,) if isinstance(backend, str) else backend:
        if user_config is not None:
            env.update(HOMES[each].prepare(home, workdir, server.url, user_config))
        else:
            env.update(HOMES[each].prepare(home, workdir, server.url))
    env["PATH"] = os.pathsep.join([str(agents_bin()), str(Path(cafleet).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    # As on CI's machine, wherever the tests run: under CI=true gemini would run headless and
    # leave its pane at once, had cafleet not kept it from the member.
    env["CI"] = "true"
    name = f"cafleet-real-{uuid.uuid4().hex[:8]}"
    director_log = tmp_path / "director.jsonl"
    director = f"exec {sys.executable} -m cafleet.demo.standin_agent --name director --log {director_log}"
    subprocess.run(
        [
            "tmux",
            "-L",
            name,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "main",
            "-x",
            "200",
            "-y",
            "50",
            "-c",
            str(workdir),
            director,
        ],
        env=env,
        check=True,
        timeout=10,
    )
    info = (
        subprocess.run(
            ["tmux", "-L", name, "display-message", "-p", "-t", "main", "#{socket_path}\t#{pid}\t#{pane_id}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        .stdout.strip()
        .split("\t")
    )
    env.update(TMUX=f"{info[0]},{info[1]},0", TMUX_PANE=info[2])
    return Field(name, info[0], int(info[1]), info[2], env, director_log, home, workdir)


def stop_field(field: Field) -> None:
    print_field_report(field)
    subprocess.run(["tmux", "-L", field.socket_name, "kill-server"], capture_output=True, timeout=10)
    Path(field.socket_path).unlink(missing_ok=True)
    _end_processes_of(field.home)


def print_field_report(field: Field) -> None:
    """What each pane shows and what the courier logged, on stdout: pytest prints it only for a
    test that failed, so a failure on CI's machine says what the agents were doing."""
    listed = subprocess.run(
        [
            "tmux",
            "-L",
            field.socket_name,
            "list-panes",
            "-a",
            "-F",
            "#{pane_id} #{pane_current_command} #{pane_dead} pid=#{pane_pid} alternate=#{alternate_on} "
            "size=#{pane_width}x#{pane_height} cursor=#{cursor_x},#{cursor_y}",
        ],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout.split("\n")
    for line in filter(None, listed):
        pane_id = line.split()[0]
        print(f"----- pane {line} -----")
        print("\n".join(pane_text(field, pane_id).rstrip().splitlines()[-40:]))
        pid = line.split("pid=")[1].split()[0]
        print(
            subprocess.run(
                ["ps", "-ww", "-o", "pid,ppid,stat,wchan:20,etime,time,rss,args", "--forest", "-g", pid],
                capture_output=True,
                text=True,
            ).stdout
        )
    _print_notices(field)
    for log in sorted(field.workdir.parent.rglob("courier-*.log")):
        print(f"----- {log} (last 60 lines) -----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-60:]))
    for log in sorted(field.home.glob(".local/share/opencode/log/*.log")):
        print(f"----- {log} (last 40 lines) -----")
        print("\n".join(log.read_text(errors="replace").splitlines()[-40:]))


def _print_notices(field: Field) -> None:
    """Every message with how far its notice got, and each agent's last seen state."""
    url = field.env.get("CAFLEET_DATABASE_URL", "")
    path = Path(url.removeprefix("sqlite:///"))
    if not url.startswith("sqlite:///") or not path.exists():
        return  # a test of screens alone makes no database
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        if not db.execute("select 1 from sqlite_master where name = 'tasks'").fetchone():
            return
        print("----- messages: id from to state notify_status notice_step created notified -----")
        for row in db.execute(
            "select id, from_id, to_id, state, notify_status, notice_step, created_at, notified_at from tasks order by id"
        ):
            print(*row)
        print("----- agent states: agent state reason changed -----")
        for row in db.execute("select agent_id, state, reason, changed_at from agent_states order by agent_id"):
            print(*row)


def _end_processes_of(home: Path) -> None:
    """Agents may leave helpers behind (codex's app server): end every process of this HOME."""
    marker = f"HOME={home}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue


def cafleet_json(cafleet: str, field: Field, *args: str) -> object:
    done = subprocess.run(
        [cafleet, "--json", *args],
        env=field.env,
        cwd=field.workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"cafleet {' '.join(args)} failed: {done.stderr}"
    return json.loads(done.stdout)


def director_inputs(field: Field) -> list[str]:
    if not field.director_log.exists():
        return []
    events = [json.loads(line) for line in field.director_log.read_text().splitlines() if line.strip()]
    return [e["text"] for e in events if e["event"] == "input"]


def pane_text(field: Field, pane_id: str) -> str:
    return subprocess.run(
        ["tmux", "-L", field.socket_name, "capture-pane", "-p", "-J", "-S", "-200", "-t", pane_id],
        capture_output=True,
        text=True,
        timeout=10,
    ).stdout
