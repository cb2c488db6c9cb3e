"""Qwen Code: its approval mode chosen by the Director, cafleet allowed by `--allowed-tools`.

Qwen's permission rules are Claude's (`Bash(git *)`), checked deny, then ask, then allow: the
rule cafleet passes adds this fleet's cafleet commands to the allow list, and the user's own
deny and ask rules keep their say over them. Its default approval mode asks before other
shell commands and edits; qwen's own default, `auto`, lets a model classifier approve tools.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import GIT_COMMANDS, Backend, SessionProbe, SpawnContext, SpawnPlan, ci_variables, model_args
from cafleet.backends.qwen_screen import read_qwen_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

APPROVALS = ("default", "auto-edit", "auto", "yolo")  # `plan` is read-only: the member could not ack
DEFAULT_APPROVAL = "default"
# Qwen reads its lowest settings layer from this file: cafleet's copy turns follow-up
# suggestions off (grey text in the empty box that a plain capture reads as a draft), under
# whatever the user's own settings say.
DEFAULTS_VARIABLE = "QWEN_CODE_SYSTEM_DEFAULTS_PATH"
SETTINGS_DIRECTORY = "settings"
# Any of these (or any CI_* variable) set, not to 0 or false, and qwen draws as for a log, not
# a terminal: without its viewport, its box and footer came apart in a resized pane.
CI_VARIABLES = ("CI", "CONTINUOUS_INTEGRATION")


def allow_rules(fleet_id: int) -> list[str]:
    """Shell rules that allow this fleet's cafleet commands and nothing else."""
    return list(dict.fromkeys((f"Bash({fleet_command(fleet_id)} *)", f"Bash(cafleet --fleet-id {fleet_id} *)")))


def system_defaults(environment: Mapping[str, str]) -> str:
    """The system-defaults layer a member starts with: the one in force (the variable's file,
    else /etc/qwen-code/system-defaults.json), with follow-up suggestions off."""
    source = Path(environment.get(DEFAULTS_VARIABLE) or "/etc/qwen-code/system-defaults.json")
    try:
        merged = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        merged = {}
    if not isinstance(merged, dict):
        merged = {}
    ui = merged.get("ui")
    merged["ui"] = {**(ui if isinstance(ui, dict) else {}), "enableFollowupSuggestions": False}
    return json.dumps(merged, indent=2, sort_keys=True)


def _session_args(context: SpawnContext) -> list[str]:
    """`--resume ID` or `--session-id ID`, then `-i PROMPT` (a bare prompt would run headless)."""
    prompt = ["-i", context.prompt] if context.prompt else []
    if context.resume:
        if context.session_id is None:
            raise ValueError("resuming needs the session's id")
        return ["--resume", context.session_id, *prompt]
    return [*(["--session-id", context.session_id] if context.session_id else []), *prompt]


# npm's `qwen` is cli-entry.js, which node runs; it relaunches cli.js as a child node (with
# --expose-gc), and the parent stays the process group's leader. No native binary.
QWEN_PROCESS = NpmAgent(command="qwen", package="@qwen-code/qwen-code", binary=re.compile(r"(?!)"))


class Qwen(Backend):
    name = CodingAgent.QWEN
    binary = "qwen"
    package = "@qwen-code/qwen-code"
    autonomy_options = frozenset({"approval"})
    approvals, default_approval = APPROVALS, DEFAULT_APPROVAL
    verified_versions = ("0.24.4",)
    takes_session_id = True
    min_rows = 5  # docs/members.md, "Pane height"
    # Enter while busy steers the running turn (the notice would join it); Ctrl+Q queues it.
    queue_key = "C-q"
    # Shell mode stays on after a command: `!` on the empty box turns it off.
    shell_mode_off_keys = ("!",)

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        approval = self.approval_of(autonomy)
        rules = allow_rules(context.fleet_id)
        grants = [f"approval mode {approval}"]
        readable: list[str] = []
        if context.prompt_file is not None:
            readable = ["--add-dir", str(context.prompt_file.parent)]
            grants.append(f"readable: {context.prompt_file.parent} (its starting prompt)")
        if context.worktree is not None:
            rules += [f"Bash({command})" for command in GIT_COMMANDS]
        grants.insert(1, "allowed: " + ", ".join(rules))
        defaults = system_defaults(context.environment)
        path = context.database_dir / SETTINGS_DIRECTORY / f"qwen-{hashlib.sha256(defaults.encode()).hexdigest()[:16]}.json"
        argv = [
            context.executable,
            "--approval-mode",
            approval,
            *(argument for rule in rules for argument in ("--allowed-tools", rule)),
            *readable,
            *model_args(context.model),
            *autonomy.extra_args,
            *_session_args(context),
        ]
        return SpawnPlan(
            argv=argv,
            env={DEFAULTS_VARIABLE: str(path)},
            grants=tuple(grants),
            files=((path, defaults),),
            unset=ci_variables(context.environment, CI_VARIABLES),
        )

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import qwen_sessions  # only when a session is looked for

        return qwen_sessions.find_session(probe)

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        from cafleet.backends import qwen_sessions

        return qwen_sessions.transcript(environment, session_id) is not None

    def runs_agent(self, program: Program) -> bool:
        return runs_npm_agent(program, QWEN_PROCESS)

    def read_screen(self, lines: list[str]):
        return read_qwen_screen(lines)
