"""Claude Code: `--permission-mode` chosen by the Director, cafleet allowed by a rule."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import (
    GIT_COMMANDS,
    Autonomy,
    Backend,
    SessionProbe,
    SpawnContext,
    SpawnPlan,
    WorktreeAccess,
    choose,
    model_args,
)
from cafleet.backends.claude_screen import read_claude_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
# dontAsk: the member never stops on a prompt nobody watches; whatever the user's own settings
# allow, plus cafleet for its fleet, runs, and everything else is refused to the model.
DEFAULT_PERMISSION_MODE = "dontAsk"


def allow_rules(fleet_id: int) -> list[str]:
    """Bash rules that allow this fleet's cafleet commands and nothing else."""
    rules = [f"Bash({fleet_command(fleet_id)} *)"]
    bare = f"Bash(cafleet --fleet-id {fleet_id} *)"
    if bare not in rules:
        rules.append(bare)
    return rules


def read_rule(path: Path) -> str:
    """A rule allowing the Read tool on the file at absolute `path` (`//` starts an absolute
    path in a rule; one `/` would be relative to the settings file)."""
    return f"Read(/{path})"


def worktree_rules(worktree: WorktreeAccess) -> list[str]:
    """Edits anywhere in the member's worktree, and staging and committing there."""
    return [f"Edit(/{worktree.path}/**)", *(f"Bash({command})" for command in GIT_COMMANDS)]


def _session_args(context: SpawnContext) -> list[str]:
    """`--resume ID` (then the prompt, if any) or `--session-id ID PROMPT`: the id stays the
    member's across restarts."""
    if context.resume:
        if context.session_id is None:
            raise ValueError("resuming needs the session's id")
        return ["--resume", context.session_id, *([context.prompt] if context.prompt else [])]
    return [*(["--session-id", context.session_id] if context.session_id else []), context.prompt]


# npm's postinstall copies the native binary over bin/claude.exe; claude's own installer links
# ~/.local/bin/claude to ~/.local/share/claude/versions/<version>. Without the postinstall,
# `node cli-wrapper.cjs` runs it; older releases had cli.js as their bin.
CLAUDE_PROCESS = NpmAgent(
    command="claude",
    package="@anthropic-ai/claude-code",
    binary=re.compile(r"(?:^|/)(?:claude(?:\.exe)?|claude/versions/[^/]+)$"),
    launchers=("cli-wrapper.cjs",),
)


class Claude(Backend):
    name = CodingAgent.CLAUDE
    binary = "claude"
    package = "@anthropic-ai/claude-code"
    verified_versions = ("2.1.330", "2.1.332")
    takes_session_id = True
    autonomy_options = frozenset({"permission_mode"})
    min_rows = 8  # docs/members.md, "Pane height"

    def check_autonomy(self, autonomy: Autonomy) -> Autonomy:
        autonomy = super().check_autonomy(autonomy)
        mode = choose(autonomy.permission_mode, PERMISSION_MODES, DEFAULT_PERMISSION_MODE, "--permission-mode")
        return autonomy._replace(permission_mode=mode)

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        mode = choose(autonomy.permission_mode, PERMISSION_MODES, DEFAULT_PERMISSION_MODE, "--permission-mode")
        rules = allow_rules(context.fleet_id)
        if context.prompt_file is not None:
            rules.append(read_rule(context.prompt_file))
        if context.worktree is not None:
            rules += worktree_rules(context.worktree)
        # --settings adds a layer on top of the user's own settings files: their allow and
        # deny rules stay in force; this layer only adds the cafleet rule.
        settings = json.dumps({"permissions": {"allow": rules}}, separators=(",", ":"))
        argv = [
            context.executable,
            "--permission-mode",
            mode,
            "--settings",
            settings,
            "--name",
            context.name,
            *model_args(context.model),
            *autonomy.extra_args,
            *_session_args(context),
        ]
        return SpawnPlan(
            argv=argv,
            env={},
            grants=(f"permission mode {mode}", "allowed: " + ", ".join(rules)),
        )

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import claude_sessions  # only when a session is looked for: agents call the CLI constantly

        return claude_sessions.find_session(probe)

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        from cafleet.backends import claude_sessions

        return claude_sessions.transcript(environment, session_id) is not None

    def runs_agent(self, program: Program) -> bool:
        return runs_npm_agent(program, CLAUDE_PROCESS)

    def read_screen(self, lines: list[str]):
        return read_claude_screen(lines)
