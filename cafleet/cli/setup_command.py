"""`cafleet setup`: install the cafleet agent skills where each coding agent reads them (Claude Code,
Codex, opencode, Gemini CLI, Qwen Code, pi), for the agents found on this machine (and any named
with --agent)."""

from __future__ import annotations

from pathlib import PurePath

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, FleetScope
from cafleet.core.domain import CODING_AGENTS


@click.command("setup", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
@click.option(
    "--agent",
    "named",
    type=click.Choice(CODING_AGENTS),
    multiple=True,
    metavar="AGENT",
    help="Install for this coding agent even if it is not found here; repeat for more.",
)
@click.option(
    "--skip",
    type=click.Choice(CODING_AGENTS),
    multiple=True,
    metavar="AGENT",
    help="Leave this coding agent out; repeat for more.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change without writing anything.")
def setup_command(named: tuple[str, ...], skip: tuple[str, ...], dry_run: bool):
    """Install the cafleet skills for the coding agents found here (no network; safe to repeat).

    An agent is found when its program (claude, codex, opencode, gemini, qwen, pi) is on PATH or its
    config folder exists; the others are left alone unless named with --agent. Writes one
    folder per skill (cafleet, cafleet-director, cafleet-design-doc-create,
    cafleet-design-doc-execute) into ~/.claude/skills/, $CODEX_HOME/skills/ (default ~/.codex),
    $XDG_CONFIG_HOME/opencode/skills/ (default ~/.config), ~/.gemini/skills/ (under
    $GEMINI_CLI_HOME if set), $QWEN_HOME/skills/ (default ~/.qwen) and
    $PI_CODING_AGENT_DIR/skills/ (default ~/.pi/agent). A file that you edited is kept as
    NAME.bak before it is replaced.
    """
    from cafleet.core.errors import CafleetError
    from cafleet.setup.skill_install import NO_AGENT, SKIPPED, Outcome, install, packaged_skills, presence, targets

    both = sorted(set(named) & set(skip))
    if both:
        raise click.UsageError(f"--agent {both[0]} and --skip {both[0]} contradict each other; give one of them")
    skills = packaged_skills()
    here = presence()
    absent = [agent for agent, seen in here.items() if not seen.found and agent not in named and agent not in skip]
    rows: list[dict] = []
    failed: list[str] = []
    for target in targets(skills=skills):
        if target.agent in skip:
            outcome = Outcome(target.agent, target.skill, target.root, SKIPPED)
        elif target.agent in absent:
            outcome = Outcome(target.agent, target.skill, target.root, NO_AGENT)
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
            if row["action"] == NO_AGENT:
                continue
            line = f"{row['agent']}: {row['action']} {row['path']}"
            if row["backups"]:
                kept = ", ".join(str(PurePath(b).relative_to(row["path"])) for b in row["backups"])
                line += f" (your previous files kept as {kept})"
            if row.get("error"):
                line += f" ({row['error']})"
            lines.append(line)
        lines.extend(
            f"{agent}: not found ({here[agent].describe_absence()}), left alone; "
            f"`cafleet setup --agent {agent}` installs its skills anyway"
            for agent in absent
        )
        if len(absent) == len(CODING_AGENTS):
            lines.append(
                "No coding agent found: install Claude Code, Codex, opencode, Gemini CLI, Qwen Code or pi, then run `cafleet setup` again"
            )
        return "\n".join(lines)

    emit({"dry_run": dry_run, "targets": rows, "not_found": absent}, render)
    if failed:
        raise CafleetError(
            f"could not install the skills for {', '.join(failed)}; fix the path or permissions and run "
            "`cafleet setup` again (`--skip AGENT` leaves an agent out)"
        )
