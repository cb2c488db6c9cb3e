"""`cafleet setup` installs the packaged agent skill for every coding agent; `doctor`
reports whether each copy is current; the skill itself is valid and only shows real commands."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cafleet.setup.skill_install import packaged_skill, packaged_skills

AGENTS = ("claude", "codex", "opencode", "gemini", "qwen", "pi")  # `CodingAgent`'s order
SKILLS = ("cafleet", "cafleet-design-doc-create", "cafleet-design-doc-execute", "cafleet-director")

OLD = 1_000_000_000  # an mtime far in the past, so any rewrite would show


@pytest.fixture(autouse=True)
def no_agent_dirs_from_outside(monkeypatch):
    """The real CODEX_HOME / XDG_CONFIG_HOME must never be reached; HOME is already a temp dir."""
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GEMINI_CLI_HOME", raising=False)
    monkeypatch.delenv("QWEN_HOME", raising=False)
    monkeypatch.delenv("PI_CODING_AGENT_DIR", raising=False)


@pytest.fixture(autouse=True)
def agents_on_path(tmp_path, monkeypatch) -> Path:
    """Every coding agent on PATH (stand-in scripts), so setup finds them all; a test about
    agents that are not here sets PATH itself."""
    bin_dir = tmp_path / "agents-bin"
    bin_dir.mkdir()
    for name in AGENTS:
        script = bin_dir / name
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return bin_dir


def only_on_path(tmp_path, *names: str) -> dict:
    """An environment whose PATH holds just these coding agents (and nothing else)."""
    bin_dir = tmp_path / f"only-{'-'.join(names) or 'none'}"
    bin_dir.mkdir()
    for name in names:
        script = bin_dir / name
        script.write_text("#!/bin/sh\nexit 0\n")
        script.chmod(0o755)
    return {"PATH": str(bin_dir)}


@pytest.fixture
def agent_dirs(tmp_path) -> dict:
    """CODEX_HOME and XDG_CONFIG_HOME somewhere other than under HOME."""
    return {"CODEX_HOME": str(tmp_path / "codex-home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg-config")}


def test_every_coding_agent_has_its_backend_and_its_skills_folder():
    """One list of coding agents (`CodingAgent`): the backends, the skill folders, and the
    choices of `--coding-agent` and `setup --skip` all follow it, in its order."""
    from cafleet.backends import BACKENDS
    from cafleet.cli.fleet_commands import CODING_AGENT_CHOICE
    from cafleet.cli.setup_command import setup_command
    from cafleet.core.domain import CODING_AGENTS
    from cafleet.setup.skill_install import skill_dirs

    assert CODING_AGENTS == AGENTS
    assert tuple(BACKENDS) == CODING_AGENTS and all(BACKENDS[name].name == name for name in CODING_AGENTS)
    assert tuple(skill_dirs()) == CODING_AGENTS
    skip = next(p for p in setup_command.params if p.name == "skip")
    named = next(p for p in setup_command.params if p.name == "named")
    assert tuple(skip.type.choices) == CODING_AGENTS and tuple(CODING_AGENT_CHOICE.choices) == CODING_AGENTS
    assert tuple(named.type.choices) == CODING_AGENTS


def default_paths() -> dict[str, Path]:
    home = Path(os.environ["HOME"])
    return {
        "claude": home / ".claude/skills/cafleet/SKILL.md",
        "codex": home / ".codex/skills/cafleet/SKILL.md",
        "opencode": home / ".config/opencode/skills/cafleet/SKILL.md",
        "gemini": home / ".gemini/skills/cafleet/SKILL.md",
        "qwen": home / ".qwen/skills/cafleet/SKILL.md",
        "pi": home / ".pi/agent/skills/cafleet/SKILL.md",
    }


def custom_paths(env: dict) -> dict[str, Path]:
    return {
        "claude": Path(os.environ["HOME"]) / ".claude/skills/cafleet/SKILL.md",
        "codex": Path(env["CODEX_HOME"]) / "skills/cafleet/SKILL.md",
        "opencode": Path(env["XDG_CONFIG_HOME"]) / "opencode/skills/cafleet/SKILL.md",
        "gemini": Path(os.environ["HOME"]) / ".gemini/skills/cafleet/SKILL.md",
        "qwen": Path(os.environ["HOME"]) / ".qwen/skills/cafleet/SKILL.md",
        "pi": Path(os.environ["HOME"]) / ".pi/agent/skills/cafleet/SKILL.md",
    }


def actions(result, skill: str = "cafleet") -> dict[str, str]:
    return {row["agent"]: row["action"] for row in result.json()["targets"] if row["skill"] == skill}


def assert_installed(skills_dir: Path) -> None:
    """Every packaged skill, every file of it, byte for byte, with its hash record."""
    for name, files in packaged_skills().items():
        for relative, content in files.items():
            assert (skills_dir / name / relative).read_bytes() == content, (name, relative)
        record = (skills_dir / name / ".cafleet-installed").read_text().splitlines()
        assert [line.split("  ")[1] for line in record] == list(files)


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p): (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()}


# --- setup -------------------------------------------------------------------------------


def test_setup_installs_the_packaged_skill_for_all_three_agents(cli):
    result = cli("setup")
    assert result.code == 0, result.err
    assert tuple(packaged_skills()) == SKILLS
    assert set(packaged_skills()["cafleet"]) == {
        "SKILL.md",
        "references/broadcast.md",
        "references/director.md",
        "references/exec-routing.md",
        "references/output-modes.md",
        "references/recovery.md",
    }
    for agent, path in default_paths().items():
        assert_installed(path.parent.parent)
        for name in SKILLS:
            assert f"{agent}: installed {path.parent.parent / name}" in result.out
    assert result.err == ""


def test_setup_honours_codex_home_and_xdg_config_home(cli, agent_dirs):
    result = cli("setup", "--json", env=agent_dirs)
    assert result.code == 0, result.err
    document = result.json()
    assert document["dry_run"] is False
    paths = custom_paths(agent_dirs)
    cores = {row["agent"]: row["path"] for row in document["targets"] if row["skill"] == "cafleet"}
    assert cores == {a: str(p.parent) for a, p in paths.items()}
    for skill in SKILLS:
        assert actions(result, skill) == dict.fromkeys(AGENTS, "installed")
    for path in paths.values():
        assert_installed(path.parent.parent)
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
    assert actions(again) == dict.fromkeys(AGENTS, "unchanged")
    assert tree(tmp_path) == before  # same files, same bytes, same mtimes
    assert "claude: unchanged" in cli("setup", env=agent_dirs).out


def test_skip_leaves_an_agent_out(cli, agent_dirs):
    result = cli("setup", "--skip", "codex", "--json", env=agent_dirs)
    assert result.code == 0, result.err
    assert actions(result) == {**dict.fromkeys(AGENTS, "installed"), "codex": "skipped"}
    paths = custom_paths(agent_dirs)
    assert not Path(agent_dirs["CODEX_HOME"]).exists()
    assert paths["claude"].exists() and paths["opencode"].exists()

    both = cli("setup", "--skip", "claude", "--skip", "opencode", env=agent_dirs)
    assert both.code == 0, both.err
    assert "claude: skipped" in both.out and "opencode: skipped" in both.out
    assert "codex: installed" in both.out
    assert paths["codex"].read_bytes() == packaged_skill()


def test_setup_installs_only_for_the_agents_found_here_and_says_how_to_add_the_others(cli, tmp_path):
    home = Path(os.environ["HOME"])
    (home / ".config" / "opencode").mkdir(parents=True)  # opencode's config folder: found, though not on PATH
    env = only_on_path(tmp_path, "codex")
    result = cli("--json", "setup", env=env)
    assert result.code == 0, result.err
    assert actions(result) == {**dict.fromkeys(AGENTS, "no-agent"), "codex": "installed", "opencode": "installed"}
    assert result.json()["not_found"] == [agent for agent in AGENTS if agent not in ("codex", "opencode")]
    assert not (home / ".claude").exists()
    assert_installed(home / ".codex" / "skills")
    assert_installed(home / ".config" / "opencode" / "skills")

    again = cli("setup", env=env)
    assert again.out.splitlines()[-len(AGENTS) + 2] == (
        f"claude: not found (no `claude` on PATH and no {home / '.claude'}), left alone; "
        "`cafleet setup --agent claude` installs its skills anyway"
    )
    assert "claude: no-agent" not in again.out and not (home / ".claude").exists()

    # doctor agrees: nothing to fix for an agent that is not here.
    doctor = cli("--json", "doctor", env=env).json()
    assert {a: s["status"] for a, s in doctor["skills"].items()} == {
        **dict.fromkeys(AGENTS, "no-agent"),
        "codex": "current",
        "opencode": "current",
    }
    assert not any("skill" in p for p in doctor["problems"])
    assert (
        "skills: claude no-agent, codex current, opencode current, gemini no-agent, qwen no-agent, pi no-agent"
        in cli("doctor", env=env).out
    )

    named = cli("setup", *(f"--agent={agent}" for agent in AGENTS), env=env)
    assert named.code == 0, named.err
    assert f"claude: installed {home / '.claude/skills/cafleet'}" in named.out and "not found" not in named.out
    assert_installed(home / ".claude" / "skills")
    doctor = cli("--json", "doctor", env=env).json()
    assert {s["status"] for s in doctor["skills"].values()} == {"current"}


def test_setup_with_no_coding_agent_here_writes_nothing_and_says_so(cli, tmp_path):
    result = cli("setup", env=only_on_path(tmp_path))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == (
        "No coding agent found: install Claude Code, Codex, opencode, Gemini CLI, Qwen Code or pi, then run `cafleet setup` again"
    )
    assert [line.split(":")[0] for line in result.out.splitlines()[:-1]] == list(AGENTS)
    assert list(Path(os.environ["HOME"]).iterdir()) == []
    doctor = cli("--json", "doctor", env={"PATH": str(tmp_path / "only-none")}).json()
    assert {s["status"] for s in doctor["skills"].values()} == {"no-agent"}
    assert not any("skill" in p for p in doctor["problems"])
    assert any(p.startswith(f"no coding agent ({', '.join(AGENTS)}) on PATH") for p in doctor["problems"])


def test_agent_and_skip_of_the_same_agent_is_a_usage_error(cli):
    result = cli("setup", "--agent", "codex", "--skip", "codex")
    assert result.code == 2
    assert "--agent codex and --skip codex contradict each other" in result.err
    assert not any(p.exists() for p in default_paths().values())


def test_unknown_skip_is_a_usage_error_naming_the_value_and_the_valid_names(cli):
    result = cli("setup", "--skip", "cursor")
    assert result.code == 2
    assert "'cursor'" in result.err
    assert all(name in result.err for name in AGENTS)
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
    reference = path.parent / "references" / "director.md"
    reference.write_bytes(b"my director notes\n")

    result = cli("setup")
    assert result.code == 0, result.err
    assert (f"claude: updated {path.parent} (your previous files kept as SKILL.md.bak, references/director.md.bak)") in result.out
    assert f"claude: unchanged {path.parent.parent / 'cafleet-director'}" in result.out
    assert "codex: unchanged" in result.out
    assert path.read_bytes() == packaged_skill()
    assert path.with_name("SKILL.md.bak").read_bytes() == edited
    assert reference.with_name("director.md.bak").read_bytes() == b"my director notes\n"

    # The next run has nothing to do; a second, different edit never clobbers the first backup.
    assert "claude: updated" not in cli("setup").out
    path.write_bytes(b"---\nname: cafleet\ndescription: mine\n---\nsecond edit\n")
    document = cli("setup", "--json").json()
    claude = next(r for r in document["targets"] if r["agent"] == "claude" and r["skill"] == "cafleet")
    assert claude["action"] == "updated" and claude["backups"] == [str(path.with_name("SKILL.md.bak.1"))]
    assert path.with_name("SKILL.md.bak").read_bytes() == edited
    assert path.with_name("SKILL.md.bak.1").read_bytes().endswith(b"second edit\n")


def test_a_skill_file_cafleet_did_not_write_is_kept_too(cli, agent_dirs):
    path = custom_paths(agent_dirs)["opencode"]
    path.parent.mkdir(parents=True)
    path.write_text("someone else's skill\n")
    result = cli("setup", env=agent_dirs)
    assert f"opencode: updated {path.parent} (your previous files kept as SKILL.md.bak)" in result.out
    assert path.with_name("SKILL.md.bak").read_text() == "someone else's skill\n"


def test_an_older_copy_written_by_cafleet_is_replaced_without_a_backup(cli):
    """What an upgrade looks like: the folder holds exactly what an older cafleet wrote (one
    SKILL.md, recorded as one bare hash)."""
    path = default_paths()["codex"]
    path.parent.mkdir(parents=True)
    older = b"---\nname: cafleet\ndescription: an older cafleet skill\n---\nold body\n"
    path.write_bytes(older)
    (path.parent / ".cafleet-installed").write_text(hashlib.sha256(older).hexdigest() + "\n")

    document = cli("setup", "--json").json()
    codex = next(r for r in document["targets"] if r["agent"] == "codex" and r["skill"] == "cafleet")
    assert codex == {"agent": "codex", "skill": "cafleet", "path": str(path.parent), "action": "updated", "backups": []}
    assert_installed(path.parent.parent)
    assert not list(path.parent.rglob("*.bak"))


def test_a_target_that_cannot_be_written_fails_with_exit_1_and_the_others_are_installed(cli):
    paths = default_paths()
    paths["codex"].mkdir(parents=True)  # a directory where SKILL.md should be
    result = cli("setup")
    assert result.code == 1
    assert "Error: could not install the skills for codex cafleet" in result.err and "cafleet setup" in result.err
    assert "Traceback" not in result.err
    assert_installed(paths["claude"].parent.parent)
    assert_installed(paths["opencode"].parent.parent)
    assert (paths["codex"].parent.parent / "cafleet-director" / "SKILL.md").exists()

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
        agent: {
            "path": str(path.parent.parent),
            "status": "missing",
            "modified": False,
            "skills": dict.fromkeys(SKILLS, "missing"),
        }
        for agent, path in paths.items()
    }
    (problem,) = [p for p in before["problems"] if "skill" in p]
    assert f"missing for {', '.join(AGENTS)}" in problem and "run `cafleet setup`" in problem

    assert cli("setup", env=agent_dirs).code == 0
    after = cli("--json", "doctor", env=agent_dirs).json()
    assert {a: s["status"] for a, s in after["skills"].items()} == dict.fromkeys(paths, "current")
    assert not any("skill" in p for p in after["problems"])
    text = cli("doctor", env=agent_dirs).out
    assert "skills: " + ", ".join(f"{agent} current" for agent in AGENTS) in text

    with (paths["opencode"].parent / "references" / "recovery.md").open("a") as handle:
        handle.write("\nlocal edit\n")
    edited = cli("--json", "doctor", env=agent_dirs).json()
    assert edited["skills"]["opencode"]["status"] == "outdated"
    assert edited["skills"]["opencode"]["skills"]["cafleet"] == "outdated"
    assert edited["skills"]["opencode"]["modified"] is True
    assert edited["skills"]["claude"]["status"] == "current"
    (problem,) = [p for p in edited["problems"] if "skill" in p]
    assert "outdated for opencode" in problem and "run `cafleet setup`" in problem and "NAME.bak" in problem
    text = cli("doctor", env=agent_dirs).out
    assert "skills: claude current, codex current, opencode outdated, gemini current, qwen current, pi current" in text
    assert "  - cafleet agent skills outdated for opencode: run `cafleet setup`" in text

    # One skill folder missing (e.g. removed by hand) is reported too.
    import shutil

    shutil.rmtree(paths["claude"].parent.parent / "cafleet-director")
    partial = cli("--json", "doctor", env=agent_dirs).json()["skills"]["claude"]
    assert partial["status"] == "outdated" and partial["skills"]["cafleet-director"] == "missing"

    assert cli("setup", env=agent_dirs).code == 0
    assert {a: s["status"] for a, s in cli("--json", "doctor", env=agent_dirs).json()["skills"].items()} == dict.fromkeys(
        paths, "current"
    )


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


@pytest.mark.parametrize("name", SKILLS)
def test_every_skill_has_valid_frontmatter(name):
    text = packaged_skill(name).decode("utf-8")
    fields = frontmatter(text)
    assert set(fields) == {"name", "description"}
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fields["name"]) and len(fields["name"]) <= 64
    assert fields["name"] == name  # it must match its directory, skills/<name>/
    assert 1 <= len(fields["description"]) <= 1024
    try:
        import yaml
    except ImportError:
        return
    block = text[4:].split("\n---\n", 1)[0]
    assert yaml.safe_load(block) == fields


def test_the_core_skill_triggers_on_a_notice_and_stays_under_800_words():
    text = skill_text()
    assert "[cafleet msg" in frontmatter(text)["description"]
    assert len(text.split()) < 800  # loaded on every start; the rest is read on demand
    for reference in packaged_skills()["cafleet"]:
        if reference != "SKILL.md":
            assert reference in text, f"SKILL.md never points at {reference}"


def test_every_director_skill_is_named_in_the_core_skill():
    for name in SKILLS[1:]:
        assert name in skill_text()


def test_the_skill_shows_the_real_preview_and_poll_formats():
    """The notice and the typed poll command in SKILL.md are what cafleet really produces."""
    from cafleet.backends import poll_command
    from cafleet.panes.preview import preview_text

    text = skill_text()
    notice = preview_text(12, "director", 1, "2026-11-21T11:29:04.000000Z", "Please review PR 42")
    assert notice.splitlines()[0] in text
    from cafleet.core.invocation import cafleet_command

    assert poll_command(7, 3).replace(cafleet_command(), "/path/to/cafleet") in text
