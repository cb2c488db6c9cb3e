"""pi: no approval prompts of its own; cafleet's gate extension asks for what was not granted.

Pi runs every tool call as the model asks (its design leaves permission prompts to
extensions). A member starts with cafleet's own extension (`-e FILE`, written for the fleet):
this fleet's cafleet commands run, and any other shell command or file edit asks first, as a
menu the Director is told about. `--approval yolo` leaves the gate out: pi as it comes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from cafleet.backends.base import GIT_COMMANDS, Backend, SessionProbe, SpawnContext, SpawnPlan, model_args
from cafleet.backends.pi_screen import read_pi_screen
from cafleet.core.domain import CodingAgent
from cafleet.core.invocation import fleet_command
from cafleet.panes.agent_process import JS_RUNTIMES, NpmAgent, runs_npm_agent
from cafleet.panes.processes import Program

APPROVALS = ("default", "yolo")
DEFAULT_APPROVAL = "default"
EXTENSION_DIRECTORY = "extensions"
GATE_VARIABLE = "CAFLEET_PI_GATE"  # the gate extension's file, or "none" (`doctor` reads it)

# The gate, in TypeScript (pi loads extensions through jiti). A shell command passes when each
# part joined by `&&`, `||`, `;` or `|` starts with an allowed prefix (whole words) and it
# holds no substitution or redirection; an edit passes inside the editable directory.
GATE = """\
// Written by cafleet for its pi member: what it may do without asking; anything else asks.
const ALLOWED: string[] = __ALLOWED__;
const EDITABLE: string | null = __EDITABLE__;
const SEPARATORS = /\\s*(?:&&|\\|\\||;|\\|)\\s*/;
const UNSAFE = /\\$\\(|`|[<>]|\\n/;

function allowedCommand(command: string): boolean {
\tif (UNSAFE.test(command)) return false;
\tconst parts = command.trim().split(SEPARATORS).filter((part) => part.length > 0);
\treturn parts.length > 0 && parts.every((part) => ALLOWED.some((prefix) => part === prefix || part.startsWith(prefix + " ")));
}

export default function (pi: any) {
\tpi.on("tool_call", async (event: any, ctx: any) => {
\t\tlet what: string;
\t\tif (event.toolName === "bash") {
\t\t\tconst command = String(event.input?.command ?? "");
\t\t\tif (allowedCommand(command)) return undefined;
\t\t\twhat = `run: ${command}`;
\t\t} else if (event.toolName === "edit" || event.toolName === "write") {
\t\t\tconst path = String(event.input?.path ?? event.input?.file_path ?? "");
\t\t\tif (EDITABLE !== null && path.startsWith(EDITABLE) && !path.includes("/../")) return undefined;
\t\t\twhat = `${event.toolName}: ${path}`;
\t\t} else {
\t\t\treturn undefined;
\t\t}
\t\tif (!ctx.hasUI) return { block: true, reason: "cafleet member: not allowed without asking" };
\t\tconst choice = await ctx.ui.select(`Allow this? (cafleet member) ${what}`, ["Yes", "No"]);
\t\treturn choice === "Yes" ? undefined : { block: true, reason: "Refused by the user" };
\t});
}
"""


def allow_prefixes(fleet_id: int) -> list[str]:
    return list(dict.fromkeys((fleet_command(fleet_id), f"cafleet --fleet-id {fleet_id}")))


def gate(prefixes: list[str], editable: Path | None) -> str:
    """The gate extension's source for these shell prefixes and editable directory."""
    directory = json.dumps(f"{editable}/") if editable is not None else "null"
    return GATE.replace("__ALLOWED__", json.dumps(prefixes)).replace("__EDITABLE__", directory)


def _session_args(context: SpawnContext) -> list[str]:
    """`--session ID` when resuming, then the prompt, if any (a positional prompt is interactive)."""
    if context.resume:
        if context.session_id is None:
            raise ValueError("resuming needs the session's id")
        return ["--session", context.session_id, *([context.prompt] if context.prompt else [])]
    return [context.prompt]


# npm's `pi` is dist/cli.js, which node runs; its first line sets `process.title = "pi"`,
# which writes "pi" over the process's arguments (the rest becomes NUL padding): /proc no
# longer shows the script, only the title and the runtime's executable.
PI_PROCESS = NpmAgent(command="pi", package="@mariozechner/pi-coding-agent", binary=re.compile(r"(?!)"))
PI_TITLE = "pi"


def runs_pi(program: Program) -> bool:
    """pi itself: a JavaScript runtime that retitled itself `pi` (or, where it has not yet,
    the runtime running pi's entry script). A runtime merely started as `exec -a pi` has no
    padding after its name, and is not pi."""
    if runs_npm_agent(program, PI_PROCESS):
        return True
    runtime = os.path.basename(program.exe or "")
    return program.retitled and program.argv == [PI_TITLE] and runtime in JS_RUNTIMES


class Pi(Backend):
    name = CodingAgent.PI
    binary = "pi"
    package = "@mariozechner/pi-coding-agent"
    autonomy_options = frozenset({"approval"})
    approvals, default_approval = APPROVALS, DEFAULT_APPROVAL
    verified_versions = ("0.73.1",)
    min_rows = 7  # docs/members.md, "Pane height"
    # Enter while busy steers the running turn (the notice would join it); Alt+Enter queues
    # it as a follow-up, its own turn once the running one ends.
    queue_key = "M-Enter"
    exit_line = "/quit"

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        approval = self.approval_of(autonomy)
        files: tuple[tuple[Path, str], ...] = ()
        extension: list[str] = []
        if approval == "yolo":
            grants = ["no gate: pi runs every command and edit without asking (--approval yolo)"]
        else:
            prefixes = allow_prefixes(context.fleet_id)
            editable = None
            if context.worktree is not None:
                prefixes += [command.removesuffix(" *") for command in GIT_COMMANDS]
                editable = context.worktree.path
            source = gate(prefixes, editable)
            path = context.database_dir / EXTENSION_DIRECTORY / f"pi-gate-{hashlib.sha256(source.encode()).hexdigest()[:16]}.ts"
            files = ((path, source),)
            extension = ["-e", str(path)]
            grants = [
                "allowed: "
                + ", ".join(f"{prefix} *" for prefix in prefixes)
                + (", edits inside its worktree" if editable else ""),
                f"anything else asks first (cafleet's gate extension {path})",
            ]
        if context.prompt_file is not None:
            grants.append(f"readable: {context.prompt_file} (its starting prompt; pi reads any file)")
        argv = [context.executable, *extension, *model_args(context.model), *autonomy.extra_args, *_session_args(context)]
        # pi's process shows only its title: the gate it runs under is named in its environment.
        env = {GATE_VARIABLE: str(files[0][0]) if files else "none"}
        return SpawnPlan(argv=argv, env=env, grants=tuple(grants), files=files)

    def choice_keys(self, choice: int) -> list[str]:
        # Its menus are lists walked with the arrows (`→ Yes`), chosen with Enter: no digits.
        return ["Down"] * (choice - 1) + ["Enter"]

    def find_session(self, probe: SessionProbe) -> str | None:
        from cafleet.backends import pi_sessions  # only when a session is looked for

        return pi_sessions.find_session(probe)

    def session_saved(self, session_id: str, environment: Mapping[str, str]) -> bool:
        from cafleet.backends import pi_sessions

        return pi_sessions.session_file(environment, session_id) is not None

    def runs_agent(self, program: Program) -> bool:
        return runs_pi(program)

    def read_screen(self, lines: list[str]):
        return read_pi_screen(lines)
