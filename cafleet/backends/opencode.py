"""opencode: its own config governs; the pane's environment allows cafleet on top of it."""

from __future__ import annotations

import json

from cafleet.backends.opencode_screen import read_opencode_screen
from cafleet.backends.base import Backend, SpawnContext, SpawnPlan, model_args
from cafleet.invocation import fleet_command
from cafleet.panes.processes import program_name, runs_script

PERMISSION_VARIABLE = "OPENCODE_PERMISSION"


def allow_patterns(fleet_id: int) -> list[str]:
    return list(dict.fromkeys((f"{fleet_command(fleet_id)} *", f"cafleet --fleet-id {fleet_id} *")))


def permission(fleet_id: int, inherited: str | None) -> str:
    """`OPENCODE_PERMISSION` that adds allow rules for this fleet's cafleet commands to
    whatever the user's own variable said (their other rules keep governing)."""
    try:
        merged = json.loads(inherited) if inherited else {}
    except ValueError:
        merged = {}
    if not isinstance(merged, dict):
        merged = {}
    bash = merged.get("bash")
    rules = dict(bash) if isinstance(bash, dict) else ({"*": bash} if isinstance(bash, str) else {})
    for pattern in allow_patterns(fleet_id):
        rules[pattern] = "allow"
    merged["bash"] = rules
    return json.dumps(merged, separators=(",", ":"))


class Opencode(Backend):
    name = "opencode"
    binary = "opencode"

    def plan(self, context: SpawnContext) -> SpawnPlan:
        autonomy = self.check_autonomy(context.autonomy)
        value = permission(context.fleet_id, context.environment.get(PERMISSION_VARIABLE))
        argv = [context.executable, *model_args(context.model), *autonomy.extra_args, "--prompt", context.prompt]
        return SpawnPlan(
            argv=argv, env={PERMISSION_VARIABLE: value},
            grants=(f"allowed: {', '.join(allow_patterns(context.fleet_id))} (via {PERMISSION_VARIABLE})",),
        )

    def runs_agent(self, argv: list[str]) -> bool:
        return program_name(argv) == "opencode" or runs_script(argv, "opencode-ai")

    def read_screen(self, lines: list[str]):
        return read_opencode_screen(lines)
