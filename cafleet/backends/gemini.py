"""Gemini CLI: its approval mode chosen by the Director, cafleet allowed by a policy file.

Gemini decides about each tool call by its policy engine: TOML rules in tiers (default,
workspace, user, admin), the highest-priority match winning. `--policy FILE` loads FILE in the
user tier *instead of* ~/.gemini/policies, so cafleet passes the user's own directory too: the
user's rules stay in force, and cafleet's rule, at the lowest priority of that tier, only adds
this fleet's cafleet commands (gemini matches `commandPrefix` on whole words, in each part of a
command joined by `&&` or `|`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import (
    GIT_COMMANDS,
    Backend,
    SessionProbe,
    SpawnContext,
    SpawnPlan,
    WorktreeAccess,
    model_args,
)
from cafleet.backends.gemini_screen import read_gemini_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

APPROVALS = ("default", "auto_edit", "yolo")  # `plan` is read-only: the member could not ack
DEFAULT_APPROVAL = "default"
SHELL_TOOL = "run_shell_command"
EDIT_TOOLS = ("write_file", "replace")
# The lowest priority of the user tier: any rule of the user's own that matches wins over it.
PRIORITY = 1
POLICY_DIRECTORY = "policies"


def allow_prefixes(fleet_id: int) -> list[str]:
    """Commands that start so (whole words) may run: this fleet's cafleet commands."""
    return list(dict.fromkeys((fleet_command(fleet_id), f"cafleet --fleet-id {fleet_id}")))


def policy(fleet_id: int, worktree: WorktreeAccess | None = None) -> str:
    """The policy file's text: this fleet's cafleet commands, and in a worktree, edits there
    and staging and committing."""
    rules = [_rule(SHELL_TOOL, commandPrefix=allow_prefixes(fleet_id))]
    if worktree is not None:
        rules.append(_rule(SHELL_TOOL, commandPrefix=[command.removesuffix(" *") for command in GIT_COMMANDS]))
        # Arguments are matched as JSON text: a file path inside the worktree starts so.
        inside = json.dumps(str(worktree.path) + "/")[:-1]
        rules.append(_rule(list(EDIT_TOOLS), argsPattern='"file_path":' + re.escape(inside)))
    return "# Written by cafleet for its member: what it may do without asking.\n\n" + "\n".join(rules)


def _rule(tool: str | list[str], **match: object) -> str:
    fields = {"toolName": tool, **match, "decision": "allow", "priority": PRIORITY}
    return "[[rule]]\n" + "".join(f"{name} = {json.dumps(value)}\n" for name, value in fields.items())


def policy_path(directory: Path, text: str) -> Path:
    """Where the policy `text` is kept: named by its content, beside the database's files."""
    return directory / POLICY_DIRECTORY / f"gemini-{hashlib.sha256(text.encode()).hexdigest()[:16]}.toml"


def _session_args(context: SpawnContext) -> list[str]:
    """`--resume ID` (then the prompt, if any) or `--session-id ID PROMPT`."""
    if context.resume:
        if context.session_id is None:
            raise ValueError("resuming needs the session's id")
        return ["--resume", context.session_id, *([context.prompt] if context.prompt else [])]
    return [*(["--session-id", context.session_id] if context.session_id else []), context.prompt]


# Either set to "true" makes gemini headless: started in a pane with no prompt to answer, it
# exits at once. A member is interactive wherever its Director runs (a CI job included).
CI_VARIABLES = ("CI", "GITHUB_ACTIONS")

# npm installs `gemini` as bundle/gemini.js, which node runs; it relaunches itself as a child
# node with a bigger heap, in the same process group (the parent stays the group's leader).
# Gemini ships no native binary.
GEMINI_PROCESS = NpmAgent(command="gemini", package="@google/gemini-cli", binary=re.compile(r"(?!)"))


class Gemini(Backend):
    name = CodingAgent.GEMINI
    binary = "gemini"
    package = "@google/gemini-cli"
    autonomy_options = frozenset({"approval"})
    approvals, default_approval = APPROVALS, DEFAULT_APPROVAL
    verified_versions = ("0.61.0",)
    takes_session_id = True
    min_rows = 12  # docs/members.md, "Pane height"
    # An idle gemini ignores the hang-up of its closed pane (and of `tmux kill-server`).
    outlives_its_pane = True
    # At a turn's start a paste shows up to a second late, and an Enter before it is lost.
    paste_shows_late = True
    # Shell mode stays on after a command: `!` on the empty box turns it off.
    shell_mode_off_keys = ("!",)

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        approval = self.approval_of(autonomy)
        text = policy(context.fleet_id, context.worktree)
        written = policy_path(context.database_dir, text)
        # The user's own policies, which `--policy` would otherwise replace.
        from cafleet.backends.gemini_sessions import gemini_dir

        own = gemini_dir(context.environment) / POLICY_DIRECTORY
        grants = [f"approval mode {approval}", f"allowed: {', '.join(f'{p} *' for p in allow_prefixes(context.fleet_id))}"]
        readable: list[str] = []
        if context.prompt_file is not None:
            readable = ["--include-directories", str(context.prompt_file.parent)]
            grants.append(f"readable: {context.prompt_file.parent} (its starting prompt)")
        if context.worktree is not None:
            grants.append(f"allowed: {', '.join(GIT_COMMANDS)}, edits inside its worktree")
        argv = [
            context.executable,
            "--approval-mode",
            approval,
            "--policy",
            str(written),
            "--policy",
            str(own),
            *readable,
            *model_args(context.model),
            *autonomy.extra_args,
            *_session_args(context),
        ]
        return SpawnPlan(
            argv=argv,
            env={},
            grants=(*grants, f"(policy file {written})"),
            files=((written, text),),
            unset=CI_VARIABLES,
        )

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import gemini_sessions  # only when a session is looked for

        return gemini_sessions.find_session(probe)

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        from cafleet.backends import gemini_sessions

        return gemini_sessions.session_file(environment, session_id) is not None

    def runs_agent(self, program: Program) -> bool:
        return runs_npm_agent(program, GEMINI_PROCESS)

    def read_screen(self, lines: list[str]):
        return read_gemini_screen(lines)
