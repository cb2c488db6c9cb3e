"""Codex: approval and sandbox chosen by the Director; the database made writable to it."""

from __future__ import annotations

import re
from collections.abc import Mapping

from cafleet.backends.base import Autonomy, Backend, SessionProbe, SpawnContext, SpawnPlan, choose, model_args
from cafleet.backends.codex_screen import read_codex_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.errors import InvalidInput
from cafleet.panes.agent_process import NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

SANDBOXES = ("workspace-write", "danger-full-access")
APPROVALS = ("on-request", "never")  # codex 0.169 dropped `untrusted`
DEFAULT_SANDBOX = "workspace-write"
DEFAULT_APPROVAL = "never"
NETWORK_ACCESS = "sandbox_workspace_write.network_access=true"


# From npm, `codex` is node running bin/codex.js (tmux calls the pane `node`), which runs the
# native binary as its child, or becomes it where node has process.execve (22.15 and later).
# Release archives and Homebrew name the binary after its target (codex-aarch64-apple-darwin).
CODEX_PROCESS = NpmAgent(
    command="codex",
    package="@openai/codex",
    binary=re.compile(r"(?:^|/)codex(?:-(?:x86_64|aarch64)-[a-z0-9_-]+)?(?:\.exe)?$"),
)


class Codex(Backend):
    name = CodingAgent.CODEX
    binary = "codex"
    package = "@openai/codex"
    verified_versions = ("0.169.0", "0.171.0")
    min_rows = 7  # docs/members.md, "Pane height"
    autonomy_options = frozenset({"sandbox", "approval"})
    # Enter while busy steers the running turn (the notice would join it); Tab queues it.
    queue_key = "Tab"

    def check_autonomy(self, autonomy: Autonomy) -> Autonomy:
        autonomy = super().check_autonomy(autonomy)
        if autonomy.sandbox == "read-only":
            raise InvalidInput(
                "--sandbox read-only would keep the member from acking or sending (cafleet writes the "
                "database); use workspace-write (the default) or danger-full-access"
            )
        return autonomy._replace(
            sandbox=choose(autonomy.sandbox, SANDBOXES, DEFAULT_SANDBOX, "--sandbox"),
            approval=choose(autonomy.approval, APPROVALS, DEFAULT_APPROVAL, "--approval"),
        )

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        sandbox = choose(autonomy.sandbox, SANDBOXES, DEFAULT_SANDBOX, "--sandbox")
        approval = choose(autonomy.approval, APPROVALS, DEFAULT_APPROVAL, "--approval")
        grants = [f"sandbox {sandbox}", f"approval {approval}"]
        writable: list[str] = []
        if sandbox == "workspace-write":
            # The database lives outside the workspace; without this its writes fail.
            writable = ["--add-dir", str(context.database_dir)]
            grants.append(f"writable: {context.database_dir}")
            if context.database_over_network:  # the sandbox blocks sockets by default
                writable += ["-c", NETWORK_ACCESS]
                grants.append("network access (to reach the PostgreSQL database)")
            if context.worktree is not None:
                # A commit in a linked worktree writes the repository's git directory, outside
                # the workspace; codex keeps even an added `.git` read-only for the worktree's own
                # part, so each directory a commit writes is added by itself (measured, 0.169).
                for directory in context.worktree.commit_directories:
                    writable += ["--add-dir", str(directory)]
                grants.append("writable for commits: " + ", ".join(map(str, context.worktree.commit_directories)))
        # --no-daemon: a shared background server would run the member's tools with the
        # environment of whichever codex started it (another pane's database, PATH).
        # `codex resume <id>` takes the same options as a new session.
        resume = ["resume"] if context.resume else []
        argv = [
            context.executable,
            *resume,
            "--no-daemon",
            "--ask-for-approval",
            approval,
            "--sandbox",
            sandbox,
            *writable,
            *model_args(context.model),
            *autonomy.extra_args,
            *_session_and_prompt(context),
        ]
        return SpawnPlan(argv=argv, env={}, grants=tuple(grants))

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import codex_sessions  # only when a session is looked for: agents call the CLI constantly

        return codex_sessions.find_session(probe)

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        from cafleet.backends import codex_sessions

        return codex_sessions.rollout(environment, session_id) is not None

    def runs_agent(self, program: Program) -> bool:
        return runs_npm_agent(program, CODEX_PROCESS)

    def read_screen(self, lines: list[str]):
        return read_codex_screen(lines)


def _session_and_prompt(context: SpawnContext) -> list[str]:
    """The session to resume, if any, then the prompt (none when resuming without one)."""
    if not context.resume:
        return [context.prompt]
    if context.session_id is None:
        raise ValueError("resuming needs the session's id")
    return [context.session_id, *([context.prompt] if context.prompt else [])]
