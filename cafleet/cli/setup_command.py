"""`cafleet setup`: install the cafleet agent skill where Claude Code, Codex and opencode read it."""

from __future__ import annotations

from pathlib import PurePath

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.core.domain import CODING_AGENTS


@click.command("setup", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option(
    "--skip",
    type=click.Choice(CODING_AGENTS),
    multiple=True,
    metavar="AGENT",
    help="Leave this coding agent out; repeat for more.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change without writing anything.")
def setup_command(skip: tuple[str, ...], dry_run: bool):
    """Install the cafleet skills for Claude Code, Codex and opencode (no network; safe to repeat).

    Writes one folder per skill (cafleet, cafleet-director, cafleet-design-doc-create,
    cafleet-design-doc-execute) into ~/.claude/skills/, $CODEX_HOME/skills/ (default ~/.codex)
    and $XDG_CONFIG_HOME/opencode/skills/ (default ~/.config). A file that you edited is kept
    as NAME.bak before it is replaced.
    """
    from cafleet.core.errors import CafleetError
    from cafleet.setup.skill_install import SKIPPED, Outcome, install, packaged_skills, targets

    skills = packaged_skills()
    rows: list[dict] = []
    failed: list[str] = []
    for target in targets(skills=skills):
        if target.agent in skip:
            outcome = Outcome(target.agent, target.skill, target.root, SKIPPED)
        else:
            try:
                outcome = install(target, skills[target.skill], dry_run=dry_run)
            except OSError as exc:
                reason = str(exc.strerror or exc)
                where = f": {exc.filename}" if exc.filename else ""
                failed.append(f"{target.agent} {target.skill} ({reason}{where})")
                rows.append(
                    {
                        "agent": target.agent,
                        "skill": target.skill,
                        "path": str(target.root),
                        "action": "failed",
                        "backups": [],
                        "error": reason,
                    }
                )
                continue
        rows.append(
            {
                "agent": outcome.agent,
                "skill": outcome.skill,
                "path": str(target.root),
                "action": outcome.action,
                "backups": [str(b) for b in outcome.backups],
            }
        )

    def render() -> str:
        lines = ["dry run: nothing was written; setup would do this:"] if dry_run else []
        for row in rows:
            line = f"{row['agent']}: {row['action']} {row['path']}"
            if row["backups"]:
                kept = ", ".join(str(PurePath(b).relative_to(row["path"])) for b in row["backups"])
                line += f" (your previous files kept as {kept})"
            if row.get("error"):
                line += f" ({row['error']})"
            lines.append(line)
        return "\n".join(lines)

    emit({"dry_run": dry_run, "targets": rows}, render)
    if failed:
        raise CafleetError(
            f"could not install the skills for {', '.join(failed)}; fix the path or permissions and run "
            "`cafleet setup` again (`--skip AGENT` leaves an agent out)"
        )
