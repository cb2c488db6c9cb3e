"""`cafleet doctor` inside an agent's pane: can the agent here run cafleet at all?

Run from a member's shell tool, this reads only the environment and /proc (a sandbox may keep
it from tmux): which fleet agent this pane is, whether the database is writable from here,
whether a login shell finds cafleet, whether the coding agent allows cafleet without asking,
and whether notices sent from here can reach a pane.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from typing import NamedTuple

from cafleet.broker.identity import PaneAgent
from cafleet.core.config import PostgresServer, database_target
from cafleet.core.domain import CODING_AGENTS, CodingAgent
from cafleet.core.errors import CafleetError
from cafleet.core.invocation import cafleet_command, fleet_command
from cafleet.panes.processes import argv_of, program_name, stat_fields
from cafleet.services.courier_launcher import courier_running
from cafleet.services.tmux_probe import ServerSeen, probe_tmux


class Check(NamedTuple):
    name: str
    ok: bool
    detail: str
    fix: str = ""


def pane_agent(fleet_id: int | None = None) -> PaneAgent | None:
    """The active agent (of `fleet_id`, if given) placed in this process's tmux pane."""
    from cafleet.broker.identity import agents_in_pane
    from cafleet.panes.calling_pane import pane_from_env

    pane = pane_from_env()
    here = [a for a in agents_in_pane(pane) if fleet_id in (None, a.fleet_id)] if pane else []
    return here[0] if here else None


def check_agent(agent: PaneAgent) -> list[Check]:
    return [_database_writable(), _login_shell_finds_cafleet(), _permission(agent), _notices_reach_panes()]


def _database_writable() -> Check:
    target = database_target()
    if isinstance(target, PostgresServer):
        return _server_writable(target)
    path = target
    try:
        conn = sqlite3.connect(path, timeout=5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check(
            "database",
            False,
            f"{path} is not writable from here ({exc})",
            f"a sandboxed agent needs {path.parent} writable: for codex, spawn it with "
            f"`--add-dir {path.parent}` (`cafleet member create` does)",
        )
    return Check("database", True, f"{path} is writable from here")


def _server_writable(server: PostgresServer) -> Check:
    """Can this process connect and take the writers' lock? A sandbox may forbid sockets."""
    from cafleet.backends.codex import NETWORK_ACCESS
    from cafleet.store.postgres import check_writable

    try:
        check_writable(server)
    except CafleetError as exc:
        return Check(
            "database",
            False,
            f"PostgreSQL {server.shown()} is not writable from here ({exc.message})",
            "a sandboxed agent needs network access to reach the server: for codex, spawn it with "
            f"`-c {NETWORK_ACCESS}` (`cafleet member create` does)",
        )
    return Check("database", True, f"PostgreSQL {server.shown()} is writable from here")


def _login_shell_finds_cafleet() -> Check:
    """Codex runs its tools in a login shell, whose /etc/profile resets PATH."""
    try:
        found = subprocess.run(
            ["bash", "-lc", "command -v cafleet"],
            capture_output=True,
            text=True,
            timeout=10,
            stdin=subprocess.DEVNULL,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        found = ""
    if found:
        return Check("login-shell PATH", True, f"a login shell finds cafleet at {found}")
    by_path = cafleet_command()
    if os.access(by_path.split()[0].strip("'"), os.X_OK):
        return Check(
            "login-shell PATH", True, f"a login shell does not find `cafleet` by name; members run it as {by_path}, which works"
        )
    return Check(
        "login-shell PATH",
        False,
        "a login shell finds no cafleet",
        "install cafleet with pipx or `uv tool install` so ~/.local/bin has it",
    )


# Agents that node runs (their name is in the script's path, not the program's).
_RUN_BY_NODE = (CodingAgent.CODEX, CodingAgent.OPENCODE, CodingAgent.GEMINI, CodingAgent.QWEN)  # pi retitles itself `pi`


def _agent_process() -> list[str]:
    """argv of the nearest ancestor that is a coding agent (empty when none is found)."""
    pid = os.getppid()
    for _ in range(12):
        argv, fields = argv_of(pid), stat_fields(pid)
        if argv is None or fields is None:
            return []
        joined = " ".join(argv[:2])
        if program_name(argv) in CODING_AGENTS or any(agent in joined for agent in _RUN_BY_NODE):
            return argv
        pid = int(fields[1])  # the parent
        if pid <= 1:
            return []
    return []


def _permission(agent: PaneAgent) -> Check:
    prefix = fleet_command(agent.fleet_id)
    if agent.coding_agent == CodingAgent.OPENCODE:
        granted = prefix in os.environ.get("OPENCODE_PERMISSION", "")
        return Check(
            "permission",
            granted,
            "OPENCODE_PERMISSION allows this fleet's cafleet commands"
            if granted
            else "OPENCODE_PERMISSION does not allow cafleet; a config that asks for bash will stop every call",
            "" if granted else f"set OPENCODE_PERMISSION='{json.dumps({'bash*': {prefix + ' *': 'allow'}})}' in the pane",
        )
    if agent.coding_agent == CodingAgent.CLAUDE:
        argv = _agent_process()
        text = " ".join(argv)
        if "bypassPermissions" in text or f"Bash({prefix} *)" in text:
            return Check("permission", True, "claude was started with a rule that allows this fleet's cafleet commands")
        rule = f"Bash({prefix} *)"
        return Check(
            "permission",
            False,
            "claude was not started with an allow rule for cafleet"
            + ("" if argv else " (no claude process found above this shell)"),
            f"spawn members with `cafleet member create` (it passes the rule), or add {json.dumps(rule)} "
            "to permissions.allow in .claude/settings.json",
        )
    if agent.coding_agent == CodingAgent.GEMINI:
        return _gemini_permission(prefix)
    if agent.coding_agent == CodingAgent.QWEN:
        return _qwen_permission(prefix)
    if agent.coding_agent == CodingAgent.PI:
        return _pi_permission(prefix)
    return Check("permission", True, "codex asks nothing under --ask-for-approval never (cafleet's default)")


def _gemini_permission(prefix: str) -> Check:
    """Gemini allows cafleet by a `--policy` file naming this fleet's prefix, or in yolo mode."""
    argv = _agent_process()
    values = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == "--policy"]
    yolo = (
        "--yolo" in argv
        or "-y" in argv
        or any(a == "yolo" and b == "--approval-mode" for b, a in zip(argv, argv[1:], strict=False))
    )
    needle = json.dumps(prefix)
    granted = yolo or any(needle in _read_text(value) for value in values)
    if granted:
        how = "yolo mode" if yolo else "a --policy file that allows this fleet's cafleet commands"
        return Check("permission", True, f"gemini was started with {how}")
    rule = f'[[rule]]\ntoolName = "run_shell_command"\ncommandPrefix = {needle}\ndecision = "allow"\npriority = 1'
    return Check(
        "permission",
        False,
        "gemini was not started with a policy that allows cafleet"
        + ("" if argv else " (no gemini process found above this shell)"),
        f"spawn members with `cafleet member create` (it passes the policy), or add to ~/.gemini/policies/cafleet.toml: {rule}",
    )


def _qwen_permission(prefix: str) -> Check:
    """Qwen allows cafleet by an `--allowed-tools` rule for this fleet's prefix, or in yolo mode."""
    argv = _agent_process()
    rule = f"Bash({prefix} *)"
    yolo = (
        "--yolo" in argv
        or "-y" in argv
        or any(a == "yolo" and b == "--approval-mode" for b, a in zip(argv, argv[1:], strict=False))
    )
    if yolo or rule in argv:
        return Check(
            "permission",
            True,
            "qwen was started with " + ("yolo mode" if yolo else "a rule that allows this fleet's cafleet commands"),
        )
    return Check(
        "permission",
        False,
        "qwen was not started with an allow rule for cafleet" + ("" if argv else " (no qwen process found above this shell)"),
        f"spawn members with `cafleet member create` (it passes the rule), or add {json.dumps(rule)} "
        "to permissions.allow in ~/.qwen/settings.json",
    )


def _pi_permission(prefix: str) -> Check:
    """pi asks nothing by itself; cafleet's gate extension (named in the pane) lets this fleet's
    cafleet commands through and asks for the rest."""
    from cafleet.backends.pi import GATE_VARIABLE

    gate = os.environ.get(GATE_VARIABLE)
    if not gate or gate == "none":
        return Check("permission", True, "pi runs every command without asking (no cafleet gate)")
    if json.dumps(prefix) in _read_text(gate):
        return Check("permission", True, f"pi's cafleet gate ({gate}) allows this fleet's cafleet commands")
    return Check(
        "permission",
        False,
        f"pi's cafleet gate ({gate}) does not allow this fleet's cafleet commands: each one asks first",
        "spawn members with `cafleet member create` (it writes the gate for the fleet)",
    )


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as policy:
            return policy.read(256 * 1024)
    except (OSError, ValueError):
        return ""


def _notices_reach_panes() -> Check:
    socket = os.environ.get("TMUX", "").split(",")[0]
    if not socket or probe_tmux(socket) != ServerSeen.FORBIDDEN:
        return Check("notices", True, "this process can reach tmux")
    if courier_running():
        return Check("notices", True, "tmux is out of reach from here (sandbox); the running courier types notices for it")
    return Check(
        "notices",
        False,
        "tmux is out of reach from here (sandbox) and no courier runs: notices stay pending",
        "the Director's next cafleet command, `cafleet monitor start` or the TUI starts the courier",
    )
