"""`cafleet setup` installs the packaged agent skill for claude, codex and opencode; `doctor`
reports whether each copy is current; the skill itself is valid and only shows real commands."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cafleet.skill_install import packaged_skill

OLD = 1_000_000_000  # an mtime far in the past, so any rewrite would show


@pytest.fixture(autouse=True)
def no_agent_dirs_from_outside(monkeypatch):
    """The real CODEX_HOME / XDG_CONFIG_HOME must never be reached; HOME is already a temp dir."""
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)


@pytest.fixture
def agent_dirs(tmp_path) -> dict:
    """CODEX_HOME and XDG_CONFIG_HOME somewhere other than under HOME."""
    return {"CODEX_HOME": str(tmp_path / "codex-home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}


def default_paths() -> dict[str, Path]:
    home = Path(os.environ["HOME"])
    return {
        "claude": home / ".claude/skills/cafleet/SKILL.md",
        "codex": home / ".codex/skills/cafleet/SKILL.md",
        "opencode": home / ".config/opencode/skills/cafleet/SKILL.md",
    }


def custom_paths(env: dict) -> dict[str, Path]:
    return {
        "claude": Path(os.environ["HOME"]) / ".claude/skills/cafleet/SKILL.md",
        "codex": Path(env["CODEX_HOME"]) / "skills/cafleet/SKILL.md",
        "opencode": Path(env["XDG_CONFIG_HOME"]) / "opencode/skills/cafleet/SKILL.md",
    }


def actions(result) -> dict[str, str]:
    return {row["agent"]: row["action"] for row in result.json()["targets"]}


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


# --- setup -------------------------------------------------------------------------------


def test_setup_installs_the_packaged_skill_for_all_three_agents(cli):
    result = cli("setup")
    assert result.code == 0, result.err
    wanted = packaged_skill()
    for agent, path in default_paths().items():
        assert path.read_bytes() == wanted, agent
        assert f"{agent}: installed {path}" in result.out
    assert result.err == ""


def test_setup_honours_codex_home_and_xdg_config_home(cli, agent_dirs):
    result = cli("setup", "--json", env=agent_dirs)
    assert result.code == 0, result.err
    document = result.json()
    assert document["dry_run"] is False
    paths = custom_paths(agent_dirs)
    assert {row["agent"]: row["path"] for row in document["targets"]} == {a: str(p) for a, p in paths.items()}
    assert actions(result) == {"claude": "installed", "codex": "installed", "opencode": "installed"}
    assert all(p.read_bytes() == packaged_skill() for p in paths.values())
    assert not (Path(os.environ["HOME"]) / ".codex").exists()
    assert not (Path(os.environ["HOME"]) / ".config").exists()


def test_a_second_run_reports_unchanged_and_writes_nothing(cli, agent_dirs, tmp_path):
    assert cli("setup", env=agent_dirs).code == 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            os.utime(path, (OLD, OLD))
    before = tree(tmp_path)

    again = cli("--json", "setup", env=agent_dirs)
    assert again.code == 0, again.err
    assert actions(again) == {"claude": "unchanged", "codex": "unchanged", "opencode": "unchanged"}
    assert tree(tmp_path) == before  # same files, same bytes, same mtimes
    assert "claude: unchanged" in cli("setup", env=agent_dirs).out


def test_skip_leaves_an_agent_out(cli, agent_dirs):
    result = cli("setup", "--skip", "codex", "--json", env=agent_dirs)
    assert result.code == 0, result.err
    assert actions(result) == {"claude": "installed", "codex": "skipped", "opencode": "installed"}
    paths = custom_paths(agent_dirs)
    assert not Path(agent_dirs["CODEX_HOME"]).exists()
    assert paths["claude"].exists() and paths["opencode"].exists()

    both = cli("setup", "--skip", "claude", "--skip", "opencode", env=agent_dirs)
    assert both.code == 0, both.err
    assert "claude: skipped" in both.out and "opencode: skipped" in both.out
    assert "codex: installed" in both.out
    assert paths["codex"].read_bytes() == packaged_skill()


def test_unknown_skip_is_a_usage_error_naming_the_value_and_the_valid_names(cli):
    result = cli("setup", "--skip", "cursor")
    assert result.code == 2
    assert "'cursor'" in result.err
    assert all(name in result.err for name in ("claude", "codex", "opencode"))
    assert "Traceback" not in result.err
    assert not any(p.exists() for p in default_paths().values())


def test_dry_run_reports_and_writes_nothing(cli, tmp_path):
    result = cli("setup", "--dry-run")
    assert result.code == 0, result.err
    assert result.out.startswith("dry run: nothing was written")
    assert "claude: installed" in result.out
    assert not (Path(os.environ["HOME"]) / ".claude").exists()
    document = cli("setup", "--dry-run", "--json").json()
    assert document["dry_run"] is True and {r["action"] for r in document["targets"]} == {"installed"}


def test_a_file_edited_by_the_user_is_kept_as_bak_before_it_is_replaced(cli):
    assert cli("setup").code == 0
    path = default_paths()["claude"]
    edited = packaged_skill() + b"\nMy own notes.\n"
    path.write_bytes(edited)

    result = cli("setup")
    assert result.code == 0, result.err
    assert f"claude: updated {path} (previous kept as SKILL.md.bak)" in result.out
    assert "codex: unchanged" in result.out
    assert path.read_bytes() == packaged_skill()
    assert path.with_name("SKILL.md.bak").read_bytes() == edited

    # The next run has nothing to do; a second, different edit never clobbers the first backup.
    assert "claude: unchanged" in cli("setup").out
    path.write_bytes(b"---\nname: cafleet\ndescription: mine\n---\nsecond edit\n")
    document = cli("setup", "--json").json()
    claude = next(r for r in document["targets"] if r["agent"] == "claude")
    assert claude["action"] == "updated" and claude["backup"] == str(path.with_name("SKILL.md.bak.1"))
    assert path.with_name("SKILL.md.bak").read_bytes() == edited
    assert path.with_name("SKILL.md.bak.1").read_bytes().endswith(b"second edit\n")


def test_a_skill_file_cafleet_did_not_write_is_kept_too(cli, agent_dirs):
    path = custom_paths(agent_dirs)["opencode"]
    path.parent.mkdir(parents=True)
    path.write_text("someone else's skill\n")
    result = cli("setup", env=agent_dirs)
    assert "opencode: installed" not in result.out
    assert f"opencode: updated {path} (previous kept as SKILL.md.bak)" in result.out
    assert path.with_name("SKILL.md.bak").read_text() == "someone else's skill\n"


def test_an_older_copy_written_by_cafleet_is_replaced_without_a_backup(cli):
    """What an upgrade looks like: the file on disk is exactly what an older cafleet wrote."""
    path = default_paths()["codex"]
    path.parent.mkdir(parents=True)
    older = b"---\nname: cafleet\ndescription: an older cafleet skill\n---\nold body\n"
    path.write_bytes(older)
    (path.parent / ".cafleet-installed").write_text(hashlib.sha256(older).hexdigest() + "\n")

    document = cli("setup", "--json").json()
    codex = next(r for r in document["targets"] if r["agent"] == "codex")
    assert codex == {"agent": "codex", "path": str(path), "action": "updated", "backup": None}
    assert path.read_bytes() == packaged_skill()
    assert not path.with_name("SKILL.md.bak").exists()


def test_a_target_that_cannot_be_written_fails_with_exit_1_and_the_others_are_installed(cli):
    paths = default_paths()
    paths["codex"].mkdir(parents=True)  # a directory where SKILL.md should be
    result = cli("setup")
    assert result.code == 1
    assert "Error: could not install the skill for codex" in result.err and "cafleet setup" in result.err
    assert "Traceback" not in result.err
    assert paths["claude"].read_bytes() == packaged_skill()
    assert paths["opencode"].read_bytes() == packaged_skill()

    doctor = cli("--json", "doctor")
    assert doctor.code == 0, doctor.err
    assert doctor.json()["skills"]["codex"]["status"] == "unreadable"
    assert any(f"first remove or fix {paths['codex']}" in p for p in doctor.json()["problems"])


PROBE = """
import sys
sys.argv = ["cafleet", "setup", "--dry-run"]
from cafleet.cli import main
try:
    main()
except SystemExit:
    pass
print(sorted({m.split(".")[0] for m in sys.modules} & {"textual", "libtmux", "rich", "peewee"}), file=sys.stderr)
"""


def test_setup_imports_no_heavy_modules():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30)
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr


# --- doctor ------------------------------------------------------------------------------


def test_doctor_reports_missing_then_current_then_outdated(cli, agent_dirs):
    before = cli("--json", "doctor", env=agent_dirs).json()
    paths = custom_paths(agent_dirs)
    assert before["skills"] == {
        agent: {"path": str(path), "status": "missing", "modified": False} for agent, path in paths.items()
    }
    (problem,) = [p for p in before["problems"] if "skill" in p]
    assert "missing for claude, codex, opencode" in problem and "run `cafleet setup`" in problem

    assert cli("setup", env=agent_dirs).code == 0
    after = cli("--json", "doctor", env=agent_dirs).json()
    assert {a: s["status"] for a, s in after["skills"].items()} == dict.fromkeys(paths, "current")
    assert not any("skill" in p for p in after["problems"])
    text = cli("doctor", env=agent_dirs).out
    assert "skills: claude current, codex current, opencode current" in text

    with paths["opencode"].open("a") as handle:
        handle.write("\nlocal edit\n")
    edited = cli("--json", "doctor", env=agent_dirs).json()
    assert edited["skills"]["opencode"]["status"] == "outdated"
    assert edited["skills"]["opencode"]["modified"] is True
    assert edited["skills"]["claude"]["status"] == "current"
    (problem,) = [p for p in edited["problems"] if "skill" in p]
    assert "outdated for opencode" in problem and "run `cafleet setup`" in problem and "SKILL.md.bak" in problem
    text = cli("doctor", env=agent_dirs).out
    assert "skills: claude current, codex current, opencode outdated" in text
    assert "  - cafleet agent skill outdated for opencode: run `cafleet setup`" in text

    assert cli("setup", env=agent_dirs).code == 0
    assert cli("--json", "doctor", env=agent_dirs).json()["skills"]["opencode"]["status"] == "current"


# --- the packaged SKILL.md ---------------------------------------------------------------


def skill_text() -> str:
    return packaged_skill().decode("utf-8")


def frontmatter(text: str) -> dict[str, str]:
    assert text.startswith("---\n"), "SKILL.md must start with YAML frontmatter"
    block, _ = text[4:].split("\n---\n", 1)
    fields = {}
    for line in block.splitlines():
        key, sep, value = line.partition(": ")
        assert sep and re.fullmatch(r"[a-z_-]+", key), f"not a simple `key: value` line: {line!r}"
        # A plain YAML scalar: no ": " or " #" inside, no leading indicator character.
        assert ": " not in value and " #" not in value and value[:1] not in "!&*[{|>'\"%@`-?:,#", line
        fields[key] = value
    return fields


def test_the_skill_has_valid_frontmatter():
    fields = frontmatter(skill_text())
    assert set(fields) == {"name", "description"}
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fields["name"]) and len(fields["name"]) <= 64
    assert fields["name"] == "cafleet"  # it must match its directory, skills/cafleet/
    assert 1 <= len(fields["description"]) <= 1024
    assert "[cafleet msg" in fields["description"]
    try:
        import yaml
    except ImportError:
        return
    block = skill_text()[4:].split("\n---\n", 1)[0]
    assert yaml.safe_load(block) == fields


def test_the_skill_stays_short():
    assert len(skill_text().splitlines()) <= 220  # Codex may stop reading a long SKILL.md early


def skill_commands() -> list[str]:
    """Every `cafleet …` line inside the fenced code blocks of SKILL.md."""
    lines, fenced = [], False
    for line in skill_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced and line.strip().startswith("cafleet "):
            lines.append(line.strip())
    return lines


GLOBAL_FLAGS = {"--json", "--pretty"}
NEEDS_FLEET = {"agent", "message", "member", "monitor"}


def argv_of(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    argv = []
    for token in lexer:
        if token and set(token) <= set("();<>|&"):
            break  # a shell operator: the cafleet command ends here
        argv.append(token)
    return argv


def parse(argv: list[str]) -> str:
    """Parse a command line the way `cafleet` would, without running it; returns its path."""
    from cafleet.cli import cli

    assert argv[0] == "cafleet"
    args = argv[1:]
    leading = []
    while args and args[0].startswith("-"):
        flag = args.pop(0)
        leading.append(flag)
        if flag not in GLOBAL_FLAGS:
            leading.append(args.pop(0))
    root = cli.make_context("cafleet", list(leading))  # click consumes the list it is given
    command = cli.get_command(root, args[0])
    assert command is not None, f"no command {args[0]!r}"
    path, ctx, rest = [args[0]], root, args[1:]
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=args[0], parent=root)
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"no command {args[0]} {rest[0]!r}"
        path.append(rest[0])
        command, rest = sub, rest[1:]
    command.make_context(" ".join(path), list(rest), parent=ctx)  # raises on an unknown option, bad value, missing one
    if path[0] in NEEDS_FLEET:
        assert "--fleet-id" in leading, "a fleet command must say --fleet-id before the command"
    return " ".join(path)


def test_every_command_in_the_skill_parses():
    lines = skill_commands()
    assert len(lines) >= 20
    seen = set()
    for line in lines:
        try:
            seen.add(parse(argv_of(line)))
        except click.ClickException as exc:
            pytest.fail(f"{line}\n  -> {exc.format_message()}")
        except AssertionError as exc:
            pytest.fail(f"{line}\n  -> {exc}")
    assert {"message send", "message poll", "message ack", "message cancel", "message show", "message broadcast",
            "agent register", "member create", "member delete", "member list", "member capture",
            "member send-input", "member exec", "member ping", "monitor start", "monitor status",
            "monitor config"} <= seen


def test_the_parser_rejects_bad_lines():
    """Guard against a check that can never fail."""
    for bad in (
        "cafleet --fleet-id 7 message poll --agent-id 3 --no-such-option",
        "cafleet --fleet-id 7 message ack --agent-id 3 --task-id twelve",
        "cafleet --fleet-id 7 message ack --task-id 12",
        "cafleet message poll --agent-id 3",
    ):
        with pytest.raises((click.ClickException, AssertionError)):
            parse(argv_of(bad))


def test_the_skill_shows_the_real_preview_and_poll_formats():
    """The notice and the typed poll command in SKILL.md are what cafleet really produces."""
    from cafleet.backends import poll_command
    from cafleet.panes.preview import preview_text

    text = skill_text()
    notice = preview_text(12, "director", 1, "2026-11-21T11:29:04.000000Z", "Please review PR 42")
    assert notice.splitlines()[0] in text
    from cafleet.invocation import cafleet_command

    assert poll_command(7, 3).replace(cafleet_command(), "/path/to/cafleet") in text
