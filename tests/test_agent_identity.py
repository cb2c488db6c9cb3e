"""A pane runs the placement's agent only when its foreground process is the agent's own
executable, or an interpreter running the agent's own entry script (the exact file): never a
program that merely has the agent's path among its arguments.

First the decision on the argv/executable shapes measured from the real agents (claude-code
2.1.330, codex 0.169.0, opencode-ai 1.18.33 from npm, node 20; docs/concepts.md), then pagers
and look-alike scripts on a private tmux server, each showing its backend's ready screen."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cafleet.backends import BACKENDS
from cafleet.backends.standin import runs_standin
from cafleet.panes.processes import Program, read_program
from tests.panes_support import PanesFleet, agents, run, run_as_human, wait_for, wait_for_notify  # noqa: F401 (agents is a fixture)

SCREENS = Path(__file__).parent / "fixtures" / "screens"
PYTHON = os.path.realpath(sys.executable)
NODE = "/usr/bin/node"
PROMPT = "You are worker, a member of cafleet fleet 1"

# Each npm package's files as the pinned releases install them (package.json name and bin).
PACKAGES = {
    "claude": ("@anthropic-ai/claude-code", {"claude": "bin/claude.exe"}, ["bin/claude.exe", "cli-wrapper.cjs"]),
    "codex": ("@openai/codex", {"codex": "bin/codex.js"}, ["bin/codex.js"]),
    "opencode": ("opencode-ai", {"opencode": "./bin/opencode.exe"}, ["bin/opencode.exe"]),
    "gemini": ("@google/gemini-cli", {"gemini": "bundle/gemini.js"}, ["bundle/gemini.js"]),
    "qwen": ("@qwen-code/qwen-code", {"qwen": "cli-entry.js"}, ["cli-entry.js", "cli.js"]),
    "pi": ("@mariozechner/pi-coding-agent", {"pi": "dist/cli.js"}, ["dist/cli.js"]),
}
PLATFORM_FILES = [
    "@anthropic-ai/claude-code-linux-x64/claude",
    "@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex",
    "opencode-linux-x64/bin/opencode",
]


def install_packages(prefix: Path) -> Path:
    """`prefix/node_modules` laid out as `npm install` left the pinned agents (files are stubs)."""
    modules = prefix / "node_modules"
    for backend, (package, bins, files) in PACKAGES.items():
        root = modules / package
        for name in files:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("// stub\n")
        (root / "package.json").write_text(json.dumps({"name": package, "version": "1.0.0", "bin": bins}))
        (modules / ".bin").mkdir(exist_ok=True)
        target = os.path.relpath(root / bins[backend], modules / ".bin")
        (modules / ".bin" / backend).symlink_to(target)
    for name in PLATFORM_FILES:
        (modules / name).parent.mkdir(parents=True, exist_ok=True)
        (modules / name).write_text("stub\n")
    return modules


@pytest.fixture
def modules(tmp_path) -> Path:
    return install_packages(tmp_path / "agents")


def runs(backend: str, argv: list[str], exe: str | None, cwd: str | None = None, retitled: bool = False) -> bool:
    program = Program(argv, exe, cwd, retitled)
    return runs_standin(program) if backend == "standin" else BACKENDS[backend].runs_agent(program)


# ---- the decision, on the shapes the real agents showed in /proc ----------------------------


def test_the_real_agents_as_cafleet_starts_them(modules):
    bin_dir = modules / ".bin"
    claude = modules / "@anthropic-ai/claude-code/bin/claude.exe"
    opencode = modules / "opencode-ai/bin/opencode.exe"
    # cafleet execs the .bin symlink: claude and opencode are native binaries, argv[0] the link.
    assert runs("claude", [f"{bin_dir}/claude", "--permission-mode", "dontAsk", "--name", "w", PROMPT], str(claude))
    assert runs("opencode", [f"{bin_dir}/opencode", "--prompt", PROMPT], str(opencode))
    # codex's .bin link is a `#!/usr/bin/env node` script: node sees the link's path.
    assert runs("codex", ["node", f"{bin_dir}/codex", "--no-daemon", "--sandbox", "workspace-write", PROMPT], NODE)
    # ... and its native binary (node's child, or node itself with process.execve, node ≥ 22.15).
    native = str(modules / PLATFORM_FILES[1])
    assert runs("codex", [native, "--no-daemon", PROMPT], native)


def test_the_newer_agents_as_cafleet_starts_them(modules):
    """gemini and qwen: node runs the `.bin` link (a `#!/usr/bin/env node` script) and stays the
    process group's leader while its relaunched child works; pi retitles itself `pi`."""
    bin_dir = modules / ".bin"
    assert runs("gemini", ["node", f"{bin_dir}/gemini", "--approval-mode", "default", PROMPT], NODE)
    assert runs("qwen", ["node", f"{bin_dir}/qwen", "--approval-mode", "default", "-i", PROMPT], NODE)
    assert not runs("qwen", ["node", str(modules / "@qwen-code/qwen-code/cli.js")], NODE)  # the child, never the leader
    assert runs("pi", ["node", f"{bin_dir}/pi", PROMPT], NODE)  # before its first line ran
    assert runs("pi", ["pi"], NODE, retitled=True)
    # `exec -a pi node` is a REPL named pi: no title was written over its arguments.
    assert not runs("pi", ["pi"], NODE)
    assert not runs("pi", ["pi"], "/usr/bin/python3", retitled=True)
    assert not runs("gemini", ["gemini"], NODE) and not runs("qwen", ["qwen"], NODE)


def test_the_real_agents_typed_in_a_shell(modules):
    assert runs("claude", ["claude"], str(modules / "@anthropic-ai/claude-code/bin/claude.exe"))
    assert runs("opencode", ["opencode"], str(modules / "opencode-ai/bin/opencode.exe"))
    assert runs("codex", ["node", "--no-warnings", str(modules / "@openai/codex/bin/codex.js")], NODE)
    assert runs("codex", ["node", "-r", "./trace.js", "--", str(modules / "@openai/codex/bin/codex.js")], NODE)
    assert runs("claude", ["node", str(modules / "@anthropic-ai/claude-code/cli-wrapper.cjs")], NODE)
    # A relative script path is resolved in the process's own working directory.
    assert runs("codex", ["node", "node_modules/.bin/codex"], NODE, cwd=str(modules.parent))
    assert not runs("codex", ["node", "node_modules/.bin/codex"], NODE, cwd=str(modules))
    assert not runs("codex", ["node", "node_modules/.bin/codex"], NODE, cwd=None)


def test_other_installs_of_the_native_binaries():
    # Claude's own installer: ~/.local/bin/claude -> ~/.local/share/claude/versions/<version>.
    assert runs("claude", ["claude"], "/home/u/.local/share/claude/versions/2.1.330")
    assert runs("claude", ["/home/u/.local/bin/claude", "-c"], "/home/u/.local/share/claude/versions/2.1.330")
    # An auto-update replaced the file under the running agent.
    assert runs("claude", ["claude"], "/home/u/.local/share/claude/versions/2.1.329 (deleted)")
    # Codex's release archives and Homebrew keep the target triple in the file name.
    assert runs("codex", ["codex"], "/opt/homebrew/Caskroom/codex/0.169.0/codex-aarch64-apple-darwin")
    assert runs("opencode", ["opencode"], "/home/u/.opencode/bin/opencode")


@pytest.mark.parametrize(
    "backend, program",
    [
        ("codex", "less"),
        ("codex", "cat"),
        ("codex", "python3"),
        ("claude", "less"),
        ("opencode", "view"),
    ],
)
def test_a_program_with_the_agents_path_among_its_arguments_is_not_the_agent(modules, backend, program):
    package = PACKAGES[backend][0]
    for argument in (
        f"{modules}/{package}/session.txt",
        f"{modules}/.bin/{backend}",
        f"{modules}/{package}/{PACKAGES[backend][2][0]}",
    ):
        assert not runs(backend, [program, argument], f"/usr/bin/{program}")
        assert not runs(backend, [program, "-R", argument, "-"], f"/usr/bin/{program}")


def test_an_interpreter_runs_the_agent_only_through_its_exact_entry(modules, tmp_path):
    codex = modules / "@openai/codex"
    elsewhere = tmp_path / "elsewhere" / "bin" / "codex.js"
    elsewhere.parent.mkdir(parents=True)
    elsewhere.write_text("// not codex\n")
    (codex / "bin" / "screen.js").write_text("// in the package, not its entry\n")
    for argv in (
        ["node", str(elsewhere)],  # named like the entry, outside any codex package
        ["node", str(codex / "bin" / "screen.js")],
        ["node", str(codex / "session.txt")],
        ["node", "-e", "require('fs')", str(codex / "bin/codex.js")],  # eval: no script runs
        ["node", "-p", str(codex / "bin/codex.js")],
        ["node", "--require", str(codex / "bin/codex.js"), str(elsewhere)],  # the entry as an option's value
        ["node"],  # the REPL
        ["node", "-"],
        ["python3", str(codex / "bin/codex.js")],  # not a JavaScript runtime
        ["perl", str(codex / "bin/codex.js")],
    ):
        assert not runs("codex", argv, f"/usr/bin/{argv[0]}"), argv
    # A program that calls itself node is not one.
    assert not runs("codex", ["node", str(codex / "bin/codex.js")], "/usr/bin/python3.11")
    # The package.json must be the agent's own: a tree with another name is not the package.
    (codex / "package.json").write_text(json.dumps({"name": "@someone/codex", "bin": {"codex": "bin/codex.js"}}))
    assert not runs("codex", ["node", str(codex / "bin/codex.js")], NODE)


def test_bun_and_deno_run_the_entry_too(modules):
    entry = str(modules / "@openai/codex/bin/codex.js")
    assert runs("codex", ["bun", entry], "/home/u/.bun/bin/bun")
    assert runs("codex", ["bun", "run", "--smol", entry], "/home/u/.bun/bin/bun")
    assert runs("codex", ["deno", "run", "-A", entry], "/usr/local/bin/deno")
    assert runs("codex", ["deno", "run", "--allow-all", "npm:@openai/codex@0.169.0"], "/usr/local/bin/deno")
    assert not runs("codex", ["deno", "run", "npm:@openai/codex-viewer"], "/usr/local/bin/deno")
    assert not runs("codex", ["bun", "x", "codex"], "/home/u/.bun/bin/bun")
    assert not runs("codex", ["deno", "eval", entry], "/usr/local/bin/deno")


def test_a_program_named_like_the_agent_must_be_its_binary(modules):
    assert not runs("claude", ["claude"], "/usr/bin/less")  # exec -a claude less …
    assert not runs("codex", ["/tmp/x/codex"], "/usr/bin/python3.11")
    assert not runs("opencode", ["opencode"], "/usr/bin/bash")
    assert not runs("claude", ["claude-viewer"], "/usr/bin/claude-viewer")
    assert not runs("codex", ["codexview"], "/usr/local/bin/codexview")
    assert not runs("claude", ["claude"], "/home/u/.local/share/other/versions/2.1.330")
    assert not runs("claude", [""], None)
    assert not runs("claude", [], None)


def test_the_standin_is_the_running_python_with_its_module():
    argv = [sys.executable, "-m", "cafleet.demo.standin_agent", "--name", "director", "--log", "/tmp/d.jsonl"]
    assert runs("standin", argv, PYTHON)
    assert runs("standin", [sys.executable, "-u", "-X", "dev", "-m", "cafleet.demo.standin_agent"], PYTHON)
    assert runs("standin", [sys.executable, "-Im", "cafleet.demo.standin_agent"], PYTHON)
    assert runs("standin", [sys.executable, "-W", "ignore", "-mcafleet.demo.standin_agent"], PYTHON)
    for other in (
        [sys.executable, "-c", "import cafleet.demo.standin_agent", "-m", "cafleet.demo.standin_agent"],
        [sys.executable, "-m", "cafleet.standin_viewer"],
        [sys.executable, "-m", "pydoc", "cafleet.demo.standin_agent"],
        [sys.executable, "-X", "-m", "cafleet.demo.standin_agent"],  # -X takes `-m` as its value
        [sys.executable, "/tmp/x/cafleet/standin.py"],
        [sys.executable, "/tmp/cafleet.demo.standin_agent"],
        ["less", "/tmp/cafleet.demo.standin_agent.txt"],
        ["cat", "-m", "cafleet.demo.standin_agent"],
    ):
        assert not runs("standin", other, PYTHON if other[0] == sys.executable else f"/usr/bin/{other[0]}"), other
    # Another binary that calls itself python is not the running Python.
    assert not runs("standin", ["python3", "-m", "cafleet.demo.standin_agent"], "/usr/bin/less")


def test_without_proc_ps_splits_on_spaces_and_stays_strict(modules):
    """macOS: `ps -o args=` (split on spaces) and `ps -o comm=` (the executable's path)."""
    entry = f"{modules}/.bin/codex"
    assert runs("codex", ["node", entry, "--no-daemon"], None)
    assert runs("claude", [f"{modules}/.bin/claude", "--name", "w"], None)  # its realpath is the binary
    assert runs("standin", ["python3", "-m", "cafleet.demo.standin_agent"], None)
    assert not runs("codex", ["less", entry], None)
    assert not runs("codex", ["node", "node_modules/.bin/codex"], None)  # relative: no working directory to read
    assert not runs("claude", [f"{modules}/@anthropic-ai/claude-code/session.txt"], None)
    assert not runs("standin", ["python3", "-c", "cafleet.demo.standin_agent"], None)


def test_a_real_process_is_read_with_its_executable_and_directory(tmp_path):
    """Claude's own installer layout, with real processes (sleep stands in for the binary)."""
    versions = tmp_path / "share" / "claude" / "versions"
    versions.mkdir(parents=True)
    binary = versions / "2.1.330"
    shutil.copy2(shutil.which("sleep") or "/bin/sleep", binary)
    link = tmp_path / "bin" / "claude"
    link.parent.mkdir()
    link.symlink_to(binary)
    started = [
        subprocess.Popen(["claude", "60"], executable=str(link), cwd=tmp_path),
        subprocess.Popen(["claude", "60"], executable=shutil.which("sleep")),  # `exec -a claude sleep`
    ]
    try:
        agent, impostor = (wait_for(lambda p=p: read_program(p.pid), what="the process") for p in started)
        assert agent == Program(["claude", "60"], str(binary), str(tmp_path))
        assert BACKENDS["claude"].runs_agent(agent)
        assert impostor.exe == os.path.realpath(shutil.which("sleep") or "") and not BACKENDS["claude"].runs_agent(impostor)
        binary.unlink()  # an update replaced the file under the running agent
        assert read_program(started[0].pid).exe == str(binary)
        assert BACKENDS["claude"].runs_agent(read_program(started[0].pid))
    finally:
        for process in started:
            process.kill()
            process.wait()


def test_ps_reads_a_real_process_where_there_is_no_proc(tmp_path, monkeypatch):
    from cafleet.panes import processes

    plain, spaced = tmp_path / "bin" / "claude", tmp_path / "my agents" / "claude"
    for path in (plain, spaced):
        path.parent.mkdir()
        path.symlink_to(shutil.which("sleep") or "/bin/sleep")
    started = [subprocess.Popen([str(path), "60"]) for path in (plain, spaced)]
    try:
        monkeypatch.setattr(processes, "HAVE_PROC", False)
        seen = [wait_for(lambda p=p: processes.foreground_program(p.pid), what="ps to list it") for p in started]
        assert seen[0] == Program([str(plain), "60"], None, None)
        # ps cannot tell where an argument ends: a path with a space leaves the agent unrecognised.
        assert seen[1] == Program([str(tmp_path / "my"), "agents/claude", "60"], None, None)
        assert not BACKENDS["claude"].runs_agent(seen[1])
        # argv[0] is a path: its realpath (sleep) is not claude's binary.
        assert not BACKENDS["claude"].runs_agent(seen[0])
    finally:
        for process in started:
            process.kill()
            process.wait()


# ---- pagers and look-alikes in a pane, on a private tmux server --------------------------------

NODE_SHELL = (  # prints the screen, then runs `!lines` in a shell, like an agent's shell mode
    "const fs=require('fs'),cp=require('child_process');process.stdout.write(fs.readFileSync(process.argv[2],'utf8'));"
    "require('readline').createInterface({input:process.stdin}).on('line',l=>{if(l.startsWith('!'))cp.execSync(l.slice(1))});"
)
PYTHON_SHELL = (
    "import os,sys; sys.stdout.write(open(sys.argv[1]).read()); sys.stdout.flush(); "
    "[os.system(l[1:]) for l in sys.stdin if l.startswith('!')]"
)
# What each backend's package path looks like in a fake tree, the entry a look-alike is named
# after, and the screen that backend shows when ready.
LOOKALIKES = {
    "claude": ("node_modules/@anthropic-ai/claude-code", "cli-wrapper.cjs", "claude/ready.txt", "for agents"),
    "codex": ("node_modules/@openai/codex", "bin/codex.js", "codex/ready.txt", "Ask Codex to do anything"),
    "opencode": ("node_modules/opencode-ai", "bin/opencode", "opencode/ready.txt", "ctrl+p commands"),
    "standin": ("cafleet.demo.standin_agent", "cafleet/demo/standin_agent.py", None, "standin ready"),
}


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is required for these tests (apt-get install -y nodejs), as for the real agents")
    return found


def programs(backend: str, root: Path) -> dict[str, str]:
    """Shell commands that show `backend`'s ready screen from a file in a tree shaped like its
    package, none of them the agent."""
    tree, entry, screen, _ = LOOKALIKES[backend]
    session = root / tree / "session.txt"
    session.parent.mkdir(parents=True)
    # Its last 40 lines fit the pane above a pager's own prompt line.
    lines = (SCREENS / screen).read_text().rstrip("\n").split("\n")[-40:] if screen else ["standin ready", "> "]
    session.write_text("\n".join(lines) + "\n")
    lookalike = root / "elsewhere" / entry
    lookalike.parent.mkdir(parents=True)
    path = shlex.quote(str(session))
    viewer = session.parent / "viewer.py"
    viewer.write_text(PYTHON_SHELL + "\n")
    if backend == "standin":
        lookalike.write_text(PYTHON_SHELL + "\n")
        named_like = f"{shlex.quote(sys.executable)} {shlex.quote(str(lookalike))} {path}"
    else:
        lookalike.write_text(NODE_SHELL + "\n")
        named_like = f"{node()} {shlex.quote(str(lookalike))} {path}"
    return {
        "less": f"less -S {path}",
        "python": f"{shlex.quote(sys.executable)} -c {shlex.quote(PYTHON_SHELL)} {path}",
        "cat": f"cat {path} -",
        "script-in-the-tree": f"{shlex.quote(sys.executable)} {shlex.quote(str(viewer))} {path}",
        "named-like-the-entry": named_like,
    }


@pytest.mark.parametrize("backend", ["claude", "codex", "opencode", "standin"])
@pytest.mark.parametrize("program", ["less", "python", "cat", "script-in-the-tree", "named-like-the-entry"])
def test_a_pager_showing_the_agents_screen_gets_nothing(cli, tmux_server, agents, tmp_path, backend, program):
    coding_agent = "claude" if backend == "standin" else backend
    env = {**tmux_server.pane_env(), **agents.env}
    created = cli("fleet", "create", "--label", "pagers", "--coding-agent", coding_agent, env=env)
    assert created.code == 0, created.err
    fleet_id, director_id = map(int, created.out.splitlines()[:2])
    fleet = PanesFleet(fleet_id, director_id, env)
    command = programs(backend, tmp_path / "trees")[program]
    tmux_server.tmux("respawn-pane", "-k", "-t", tmux_server.pane_id, f"exec {command}")

    def screen() -> str:
        return tmux_server.tmux("capture-pane", "-p", "-t", tmux_server.pane_id).stdout

    wait_for(lambda: LOOKALIKES[backend][3] in screen(), what=f"{program} to show the {backend} screen")
    other = run(cli, fleet, "agent", "register", "--name", "ext", "--description", "outside").out.strip()
    marker = tmp_path / "PWNED"
    sent = run_as_human(
        cli, fleet, "message", "send", "--agent-id", other, "--to", "director", "--quiet", "--text", f"!touch {marker}"
    )
    assert sent.code == 0, sent.err
    status = wait_for_notify(int(sent.out))
    assert status is not None and status.startswith("skipped:not-its-agent:"), status
    assert not marker.exists()
    assert "cafleet msg" not in screen() and "touch" not in screen()
