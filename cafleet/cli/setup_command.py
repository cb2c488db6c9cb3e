"""`cafleet setup`: install the cafleet agent skill where Claude Code, Codex and opencode read it."""

from __future__ import annotations

from pathlib import PurePath

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.skill_install import AGENTS


@click.command("setup", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option(
    "--skip", type=click.Choice(AGENTS), multiple=True, metavar="AGENT",
    help="Leave this coding agent out; repeat for more.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change without writing anything.")
def setup_command(skip: tuple[str, ...], dry_run: bool):
    """Install the cafleet skill for Claude Code, Codex and opencode (no network; safe to repeat).

    Writes ~/.claude/skills/cafleet/SKILL.md, $CODEX_HOME/skills/cafleet/SKILL.md (default
    ~/.codex) and $XDG_CONFIG_HOME/opencode/skills/cafleet/SKILL.md (default ~/.config).
    A SKILL.md that you edited is kept as SKILL.md.bak before it is replaced.
    """
    from cafleet.errors import CafleetError
    from cafleet.skill_install import SKIPPED, Outcome, install, packaged_skill, targets

    wanted = packaged_skill()
    rows: list[dict] = []
    failed: list[str] = []
    for target in targets():
        if target.agent in skip:
            outcome = Outcome(target.agent, target.path, SKIPPED, None)
        else:
            try:
                outcome = install(target, dry_run=dry_run, wanted=wanted)
            except OSError as exc:
                reason = str(exc.strerror or exc)
                where = f": {exc.filename}" if exc.filename else ""
                failed.append(f"{target.agent} ({reason}{where})")
                rows.append({"agent": target.agent, "path": str(target.path), "action": "failed", "backup": None, "error": reason})
                continue
        rows.append({
            "agent": outcome.agent,
            "path": str(outcome.path),
            "action": outcome.action,
            "backup": None if outcome.backup is None else str(outcome.backup),
        })

    def render() -> str:
        lines = ["dry run: nothing was written; setup would do this:"] if dry_run else []
        for row in rows:
            line = f"{row['agent']}: {row['action']} {row['path']}"
            if row["backup"]:
                line += f" (previous kept as {PurePath(row['backup']).name})"
            if row.get("error"):
                line += f" ({row['error']})"
            lines.append(line)
        return "\n".join(lines)

    emit({"dry_run": dry_run, "targets": rows}, render)
    if failed:
        raise CafleetError(
            f"could not install the skill for {', '.join(failed)}; fix the path or permissions and run "
            "`cafleet setup` again (`--skip AGENT` leaves an agent out)"
        )
