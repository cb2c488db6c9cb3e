"""opencode: its own config governs; the pane's environment allows cafleet on top of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cafleet.backends.base import GIT_COMMANDS, Backend, SessionProbe, SpawnContext, SpawnPlan, model_args
from cafleet.backends.opencode_screen import read_opencode_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

PERMISSION_VARIABLE = "OPENCODE_PERMISSION"


def allow_patterns(fleet_id: int) -> list[str]:
    return list(dict.fromkeys((f"{fleet_command(fleet_id)} *", f"cafleet --fleet-id {fleet_id} *")))


# opencode deep-merges this variable into the user's config, and an object under `bash` would
# replace a user's `"bash": "ask"` outright. A `bash*` entry matches the same tool (names are
# wildcards; the last matching rule wins), so it adds the cafleet rules and leaves the user's
# `bash` rule, whatever it is, in force for everything else (measured with opencode 1.18.33).
PERMISSION_KEY = "bash*"
# The same wildcard trick for reading outside the project: opencode asks for the pattern
# `<file's directory>/*` before its tools touch a file outside the directory it started in.
DIRECTORY_KEY = "external_directory*"
# And for edits: opencode asks `edit` about a file's path relative to the work tree it started
# in, which for a member in a worktree is that worktree; `*` matches any path, `../*` (the longer
# pattern, and the later one) any path outside it, which stays with the user's rules.
EDIT_KEY = "edit*"
WORKTREE_EDITS = {"*": "allow", "../*": "ask"}


def permission(fleet_id: int, inherited: str | None, prompt_file: Path | None = None, worktree: bool = False) -> str:
    """`OPENCODE_PERMISSION` allowing this fleet's cafleet commands (and reading the saved
    starting prompt, if any; and with `worktree`, editing, staging and committing in the
    member's worktree), on top of the user's own value of the variable, if any."""
    try:
        merged = json.loads(inherited) if inherited else {}
    except ValueError:
        merged = {}
    if not isinstance(merged, dict):
        merged = {}
    rules = merged.get(PERMISSION_KEY)
    rules = dict(rules) if isinstance(rules, dict) else {}
    for pattern in allow_patterns(fleet_id) + (list(GIT_COMMANDS) if worktree else []):
        rules[pattern] = "allow"
    merged[PERMISSION_KEY] = rules
    if worktree:
        merged[EDIT_KEY] = dict(WORKTREE_EDITS)
    if prompt_file is not None:
        directories = merged.get(DIRECTORY_KEY)
        directories = dict(directories) if isinstance(directories, dict) else {}
        directories[directory_pattern(prompt_file)] = "allow"
        merged[DIRECTORY_KEY] = directories
    return json.dumps(merged, separators=(",", ":"))


def directory_pattern(path: Path) -> str:
    return f"{path.parent}/*"


# npm's postinstall copies the native binary over bin/opencode.exe (its `bin`).
OPENCODE_PROCESS = NpmAgent(command="opencode", package="opencode-ai", binary=re.compile(r"(?:^|/)opencode(?:\.exe)?$"))


class Opencode(Backend):
    name = CodingAgent.OPENCODE
    binary = "opencode"
    package = "opencode-ai"
    verified_versions = ("1.18.33",)
    min_rows = 6  # docs/members.md, "Pane height"

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        worktree = context.worktree is not None
        value = permission(context.fleet_id, context.environment.get(PERMISSION_VARIABLE), context.prompt_file, worktree)
        if context.resume and context.session_id is None:
            raise ValueError("resuming needs the session's id")
        session = ["--session", context.session_id] if context.resume and context.session_id else []
        prompt = ["--prompt", context.prompt] if context.prompt or not context.resume else []
        argv = [context.executable, *session, *model_args(context.model), *autonomy.extra_args, *prompt]
        grants = [f"allowed: {', '.join(allow_patterns(context.fleet_id))} (via {PERMISSION_VARIABLE})"]
        if context.prompt_file is not None:
            grants.append(f"readable: {directory_pattern(context.prompt_file)} (its starting prompt)")
        if worktree:
            grants.append(f"allowed: {', '.join(GIT_COMMANDS)}, edits inside its worktree (via {PERMISSION_VARIABLE})")
        return SpawnPlan(argv=argv, env={PERMISSION_VARIABLE: value}, grants=tuple(grants))

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import opencode_sessions  # only when a session is looked for: agents call the CLI constantly

        return opencode_sessions.find_session(probe)

    def choice_keys(self, choice: int) -> list[str]:
        # Its permission prompt is a row of buttons (Allow once, Allow always, Reject): no digits.
        return ["Right"] * (choice - 1) + ["Enter"]

    def runs_agent(self, program: Program) -> bool:
        return runs_npm_agent(program, OPENCODE_PROCESS)

    def read_screen(self, lines: list[str]):
        return read_opencode_screen(lines)
