"""Each backend's saved-session API: the argv that starts under a chosen id or resumes a saved
conversation, and finding a member's own session among the agent's files (laid out as
claude-code 2.1.330, codex 0.169.0 and opencode 1.18.33 write them; the real agents resume in
tests/test_real_agents_resume.py)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cafleet.backends import BACKENDS, Autonomy, SpawnContext
from cafleet.backends.base import SessionProbe

pytestmark = pytest.mark.engine_neutral  # argv and agents' session files: no database

MARKER = "agent id is 7 (spawn 3f9a2c)"
OTHER = "agent id is 8 (spawn 77d01e)"


def context(**changes) -> SpawnContext:
    base = SpawnContext(
        executable="/opt/bin/agent",
        name="worker",
        prompt=f"You are worker: {MARKER}",
        model=None,
        fleet_id=3,
        database_dir=Path("/data"),
        autonomy=Autonomy(),
        environment={},
    )
    return base._replace(**changes)


def stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


# -- argv --------------------------------------------------------------------------------


def test_claude_starts_under_the_chosen_id_and_resumes_it():
    claude = BACKENDS["claude"]
    chosen = claude.chosen_session_id()
    assert chosen and chosen != claude.chosen_session_id()
    new = claude.plan(context(session_id=chosen)).argv
    assert new[-3:] == ["--session-id", chosen, f"You are worker: {MARKER}"]
    resumed = claude.plan(context(session_id=chosen, resume=True, prompt="")).argv
    assert resumed[-2:] == ["--resume", chosen] and "--session-id" not in resumed
    assert resumed[:-2] == new[:-3]  # the same permission mode, settings and name as at spawn
    assert claude.plan(context(session_id=chosen, resume=True, prompt="go on")).argv[-3:] == ["--resume", chosen, "go on"]


def test_codex_resumes_with_the_options_it_started_with():
    codex = BACKENDS["codex"]
    assert codex.chosen_session_id() is None
    new = codex.plan(context()).argv
    resumed = codex.plan(context(session_id="01a24d7f-442f-7c83-b663-f1e74a95fe22", resume=True, prompt="")).argv
    assert resumed == [new[0], "resume", *new[1:-1], "01a24d7f-442f-7c83-b663-f1e74a95fe22"]


def test_opencode_resumes_with_session_and_no_prompt():
    opencode = BACKENDS["opencode"]
    assert opencode.chosen_session_id() is None
    resumed = opencode.plan(context(session_id="ses_db27ba15effee2CSeT2RwMjsfI", resume=True, prompt=""))
    assert resumed.argv == ["/opt/bin/agent", "--session", "ses_db27ba15effee2CSeT2RwMjsfI"]
    assert "OPENCODE_PERMISSION" in resumed.env  # the same grants as at spawn
    assert opencode.plan(context(session_id="ses_x", resume=True, prompt="go on")).argv[-2:] == ["--prompt", "go on"]


def test_gemini_starts_under_the_chosen_id_and_resumes_it_with_the_same_policy():
    gemini = BACKENDS["gemini"]
    chosen = gemini.chosen_session_id()
    assert chosen and chosen != gemini.chosen_session_id()
    new = gemini.plan(context(session_id=chosen))
    assert new.argv[-3:] == ["--session-id", chosen, f"You are worker: {MARKER}"]
    resumed = gemini.plan(context(session_id=chosen, resume=True, prompt=""))
    assert resumed.argv[-2:] == ["--resume", chosen] and resumed.argv[:-2] == new.argv[:-3]
    assert resumed.files == new.files  # the same policy file, so the same grants
    assert gemini.plan(context(session_id=chosen, resume=True, prompt="go on")).argv[-3:] == ["--resume", chosen, "go on"]
    # CI=true (or GITHUB_ACTIONS=true) makes gemini headless: in a pane it would exit at once.
    for plan in (new, resumed):
        assert plan.launch_argv == ["env", "-u", "CI", "-u", "GITHUB_ACTIONS", *plan.argv]


def test_qwen_starts_under_the_chosen_id_with_its_prompt_interactive_and_resumes_it():
    qwen = BACKENDS["qwen"]
    chosen = qwen.chosen_session_id()
    new = qwen.plan(context(session_id=chosen))
    assert new.argv[-4:] == ["--session-id", chosen, "-i", f"You are worker: {MARKER}"]  # a bare prompt runs headless
    resumed = qwen.plan(context(session_id=chosen, resume=True, prompt=""))
    assert resumed.argv[-2:] == ["--resume", chosen] and resumed.argv[:-2] == new.argv[:-4]
    assert resumed.env == new.env and resumed.files == new.files
    # Any CI variable makes qwen draw as for a log, not a terminal.
    in_ci = qwen.plan(context(session_id=chosen, environment={"CI_COMMIT_SHA": "4f2a", "HOME": "/home/u"}))
    assert in_ci.launch_argv[:7] == ["env", "-u", "CI", "-u", "CONTINUOUS_INTEGRATION", "-u", "CI_COMMIT_SHA"]
    assert in_ci.launch_argv[7:] == in_ci.argv
    assert ["--allowed-tools", "Bash(cafleet --fleet-id 3 *)"] == new.argv[new.argv.index("Bash(cafleet --fleet-id 3 *)") - 1 :][
        :2
    ]


def test_pi_starts_with_the_fleets_gate_and_resumes_with_session():
    pi = BACKENDS["pi"]
    assert pi.chosen_session_id() is None  # pi picks its own (a UUIDv7)
    new = pi.plan(context())
    ((gate, source),) = new.files
    assert new.argv == ["/opt/bin/agent", "-e", str(gate), f"You are worker: {MARKER}"]
    assert '"cafleet --fleet-id 3"' in source and gate.parent == Path("/data/extensions")
    resumed = pi.plan(context(session_id="01a24e9e-7f17-7301-9665-cb74aad70469", resume=True, prompt=""))
    assert resumed.argv == ["/opt/bin/agent", "-e", str(gate), "--session", "01a24e9e-7f17-7301-9665-cb74aad70469"]
    assert resumed.files == new.files and resumed.env == new.env
    yolo = pi.plan(context(autonomy=Autonomy(approval="yolo")))
    assert yolo.files == () and "-e" not in yolo.argv


@pytest.mark.parametrize("name", ["claude", "codex", "opencode", "gemini", "qwen", "pi"])
def test_resuming_without_an_id_is_a_bug_not_a_fresh_start(name):
    with pytest.raises(ValueError):
        BACKENDS[name].plan(context(resume=True))


# -- claude ------------------------------------------------------------------------------


def claude_transcript(home: Path, cwd: Path, session_id: str, prompt: str, at: float) -> Path:
    project = home / ".claude" / "projects" / "".join(c if c.isalnum() else "-" for c in str(cwd))
    project.mkdir(parents=True, exist_ok=True)
    records = [
        {"type": "mode", "mode": "default", "sessionId": session_id},
        {"type": "file-history-snapshot", "messageId": "m1", "snapshot": {}},
        {
            "type": "user",
            "isSidechain": False,
            "message": {"role": "user", "content": prompt},
            "timestamp": stamp(at),
            "cwd": str(cwd),
            "sessionId": session_id,
        },
    ]
    path = project / f"{session_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def probe(tmp_path, started_at, marker=MARKER, **environment) -> SessionProbe:
    return SessionProbe(tmp_path / "work", marker, started_at, {"HOME": str(tmp_path / "home"), **environment})


def test_claude_finds_the_session_whose_first_prompt_holds_the_marker(tmp_path):
    now = time.time()
    claude_transcript(tmp_path / "home", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000001", f"hi {MARKER}", now)
    claude_transcript(tmp_path / "home", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000002", f"hi {OTHER}", now)
    assert BACKENDS["claude"].find_session(probe(tmp_path, now)) == "aaaaaaaa-0000-4000-8000-000000000001"
    assert BACKENDS["claude"].find_session(probe(tmp_path, now, OTHER)) == "aaaaaaaa-0000-4000-8000-000000000002"


def test_claude_reads_its_config_dir_from_the_environment(tmp_path):
    now = time.time()
    claude_transcript(tmp_path / "elsewhere", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000003", MARKER, now)
    assert BACKENDS["claude"].find_session(probe(tmp_path, now)) is None
    found = BACKENDS["claude"].find_session(probe(tmp_path, now, CLAUDE_CONFIG_DIR=str(tmp_path / "elsewhere" / ".claude")))
    assert found == "aaaaaaaa-0000-4000-8000-000000000003"


def test_claude_ignores_sessions_from_before_the_pane_and_other_directories(tmp_path):
    now = time.time()
    old = claude_transcript(tmp_path / "home", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000004", MARKER, now - 3600)
    os.utime(old, (now, now))  # appended to lately, but started an hour before the pane
    claude_transcript(tmp_path / "home", tmp_path / "other", "aaaaaaaa-0000-4000-8000-000000000005", MARKER, now)
    assert BACKENDS["claude"].find_session(probe(tmp_path, now)) is None


def test_two_sessions_with_the_marker_are_never_guessed_between(tmp_path):
    now = time.time()
    claude_transcript(tmp_path / "home", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000006", MARKER, now)
    claude_transcript(tmp_path / "home", tmp_path / "work", "aaaaaaaa-0000-4000-8000-000000000007", MARKER, now)
    assert BACKENDS["claude"].find_session(probe(tmp_path, now)) is None


# -- codex -------------------------------------------------------------------------------


def rollout(codex_home: Path, cwd: Path, session_id: str, prompt: str, at: float) -> Path:
    day = datetime.fromtimestamp(at, UTC)
    folder = codex_home / "sessions" / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}"
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"id": session_id, "session_id": session_id, "timestamp": stamp(at), "cwd": str(cwd), "source": "cli"}

    def user(text):
        message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
        return {"type": "response_item", "payload": message}

    records = [
        {"timestamp": stamp(at), "type": "session_meta", "payload": meta},
        {"type": "event_msg", "payload": {"type": "task_started"}},
        {"type": "response_item", "payload": {"type": "message", "role": "developer", "content": []}},
        user(f"<environment_context>\n  <cwd>{cwd}</cwd>\n</environment_context>"),
        user(prompt),
    ]
    path = folder / f"rollout-{day:%Y-%m-%dT%H-%M-%S}-{session_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_codex_tells_two_members_started_the_same_second_apart_by_their_markers(tmp_path):
    now = time.time()
    codex_home = tmp_path / "home" / ".codex"
    rollout(codex_home, tmp_path / "work", "01a24d7f-0000-7000-8000-000000000001", f"You are worker: {MARKER}", now)
    rollout(codex_home, tmp_path / "work", "01a24d7f-0000-7000-8000-000000000002", f"You are helper: {OTHER}", now)
    assert BACKENDS["codex"].find_session(probe(tmp_path, now)) == "01a24d7f-0000-7000-8000-000000000001"
    assert BACKENDS["codex"].find_session(probe(tmp_path, now, OTHER)) == "01a24d7f-0000-7000-8000-000000000002"


def test_codex_reads_codex_home_and_ignores_older_or_foreign_sessions(tmp_path):
    now = time.time()
    codex_home = tmp_path / "codex-home"
    rollout(codex_home, tmp_path / "work", "01a24d7f-0000-7000-8000-000000000003", MARKER, now - 600)
    rollout(codex_home, tmp_path / "other", "01a24d7f-0000-7000-8000-000000000004", MARKER, now)
    assert BACKENDS["codex"].find_session(probe(tmp_path, now, CODEX_HOME=str(codex_home))) is None
    rollout(codex_home, tmp_path / "work", "01a24d7f-0000-7000-8000-000000000005", MARKER, now)
    assert (
        BACKENDS["codex"].find_session(probe(tmp_path, now, CODEX_HOME=str(codex_home))) == "01a24d7f-0000-7000-8000-000000000005"
    )


def test_codex_needs_the_marker_in_the_first_prompt_not_a_later_one(tmp_path):
    now = time.time()
    path = rollout(tmp_path / "home" / ".codex", tmp_path / "work", "01a24d7f-0000-7000-8000-000000000006", "hello", now)
    later = {
        "type": "response_item",
        "payload": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": MARKER}]},
    }
    with path.open("a") as out:
        out.write(json.dumps(later) + "\n")
    assert BACKENDS["codex"].find_session(probe(tmp_path, now)) is None


# -- opencode ----------------------------------------------------------------------------

FAKE_OPENCODE = """\
import json, os, sys
sessions = json.load(open(os.environ["FAKE_SESSIONS"]))
with open(os.environ["FAKE_CALLS"], "a") as calls:
    calls.write(json.dumps([os.getcwd(), *sys.argv[1:]]) + "\\n")
if sys.argv[1:] == ["session", "list", "--format", "json"]:
    print(json.dumps([s["info"] for s in sessions]))
elif sys.argv[1] == "export":
    print("Exporting session: " + sys.argv[2], file=sys.stderr)
    print(json.dumps(next(s["export"] for s in sessions if s["info"]["id"] == sys.argv[2])))
else:
    sys.exit(2)
"""


def opencode_session(session_id: str, directory: Path, created: float, first: str) -> dict:
    info = {
        "id": session_id,
        "title": "ok",
        "updated": int(created * 1000),
        "created": int(created * 1000),
        "projectId": "global",
        "directory": str(directory),
    }
    messages = [
        {"info": {"id": "msg_1", "role": "user"}, "parts": [{"type": "text", "text": first}]},
        {"info": {"id": "msg_2", "role": "assistant"}, "parts": [{"type": "step-start"}, {"type": "text", "text": "Ready."}]},
    ]
    return {"info": info, "export": {"info": info, "messages": messages}}


def test_opencode_finds_the_session_through_its_own_commands(tmp_path):
    now = time.time()
    (tmp_path / "work").mkdir()
    fake = tmp_path / "opencode"
    fake.write_text(f"#!{sys.executable}\n{FAKE_OPENCODE}")
    fake.chmod(0o755)
    sessions = [
        opencode_session("ses_old", tmp_path / "work", now - 3600, MARKER),
        opencode_session("ses_other_dir", tmp_path / "other", now, MARKER),
        opencode_session("ses_theirs", tmp_path / "work", now, OTHER),
        opencode_session("ses_ours", tmp_path / "work", now + 1, f"You are worker: {MARKER}"),
    ]
    (tmp_path / "sessions.json").write_text(json.dumps(sessions))
    environment = {
        "FAKE_SESSIONS": str(tmp_path / "sessions.json"),
        "FAKE_CALLS": str(tmp_path / "calls.jsonl"),
        "PATH": os.environ["PATH"],
    }
    found = BACKENDS["opencode"].find_session(SessionProbe(tmp_path / "work", MARKER, now, environment, str(fake)))
    assert found == "ses_ours"
    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    # Listed in the member's directory (opencode lists a project's sessions), and only the
    # sessions started after the pane in that directory exported.
    assert calls == [
        [str(tmp_path / "work"), "session", "list", "--format", "json"],
        [str(tmp_path / "work"), "export", "ses_theirs"],
        [str(tmp_path / "work"), "export", "ses_ours"],
    ]


def test_opencode_that_fails_finds_nothing(tmp_path):
    (tmp_path / "work").mkdir()
    fake = tmp_path / "opencode"
    fake.write_text("#!/bin/sh\necho 'Error: database is locked' >&2\nexit 1\n")
    fake.chmod(0o755)
    assert BACKENDS["opencode"].find_session(SessionProbe(tmp_path / "work", MARKER, time.time(), {}, str(fake))) is None


# -- gemini ------------------------------------------------------------------------------


def gemini_session(home: Path, cwd: Path, session_id: str, prompts: list[str], at: float) -> Path:
    """A session file as gemini-cli 0.61.0 writes it, in its project folder under ~/.gemini/tmp."""
    project = home / ".gemini" / "tmp" / cwd.name
    (project / "chats").mkdir(parents=True, exist_ok=True)
    (project / ".project_root").write_text(str(cwd))
    context = {"type": "user", "content": [{"text": "<session_context>\nThis is the Gemini CLI.\n</session_context>"}]}
    records = [
        {"sessionId": session_id, "projectHash": "e93c", "startTime": stamp(at), "lastUpdated": stamp(at), "kind": "main"},
        {"$set": {"messages": [context]}},
        *({"id": f"m{i}", "timestamp": stamp(at), "type": "user", "content": [{"text": text}]} for i, text in enumerate(prompts)),
    ]
    path = project / "chats" / f"session-{datetime.fromtimestamp(at, UTC):%Y-%m-%dT%H-%M}-{session_id[:8]}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_gemini_finds_the_session_whose_first_prompt_holds_the_marker(tmp_path):
    now = time.time()
    home, work = tmp_path / "home", tmp_path / "work"
    gemini_session(home, work, "11111111-0000-4000-8000-000000000001", [f"hi {OTHER}", f"later {MARKER}"], now)
    gemini_session(home, tmp_path / "other", "22222222-0000-4000-8000-000000000002", [MARKER], now)
    gemini_session(home, work, "33333333-0000-4000-8000-000000000003", [f"You are worker: {MARKER}"], now)
    assert BACKENDS["gemini"].find_session(probe(tmp_path, now - 1)) == "33333333-0000-4000-8000-000000000003"
    assert BACKENDS["gemini"].find_session(probe(tmp_path, now + 3600)) is None  # all older than the pane


def test_gemini_has_saved_a_session_only_once_it_holds_a_prompt(tmp_path):
    """Gemini writes a session's head at start: killed before its first prompt, nothing to resume."""
    now = time.time()
    home = tmp_path / "home"
    gemini_session(home, tmp_path / "work", "44444444-0000-4000-8000-000000000004", [], now)
    gemini_session(home / "alt", tmp_path / "work", "55555555-0000-4000-8000-000000000005", ["a prompt"], now)
    gemini = BACKENDS["gemini"]
    assert not gemini.session_saved("44444444-0000-4000-8000-000000000004", {"HOME": str(home)})
    assert gemini.session_saved("55555555-0000-4000-8000-000000000005", {"GEMINI_CLI_HOME": str(home / "alt")})
    assert not gemini.session_saved("55555555-0000-4000-8000-000000000005", {"HOME": str(home)})


# -- qwen --------------------------------------------------------------------------------


def qwen_chat(home: Path, cwd: Path, session_id: str, prompt: str, at: float) -> Path:
    """A conversation as qwen-code 0.24.4 writes it: a prompt, then its own system records."""
    chats = home / ".qwen" / "projects" / "".join(c if c.isalnum() else "-" for c in str(cwd)) / "chats"
    chats.mkdir(parents=True, exist_ok=True)
    common = {"sessionId": session_id, "timestamp": stamp(at), "cwd": str(cwd), "version": "0.24.4"}
    records = [
        {**common, "type": "user", "provenance": "real_user", "message": {"role": "user", "parts": [{"text": prompt}]}},
        {**common, "type": "system", "provenance": "system", "subtype": "attribution_snapshot"},
    ]
    path = chats / f"{session_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_qwen_finds_the_session_whose_first_prompt_holds_the_marker(tmp_path):
    now = time.time()
    home = tmp_path / "home"
    qwen_chat(home, tmp_path / "work", "66666666-0000-4000-8000-000000000006", f"hi {OTHER}", now)
    qwen_chat(home, tmp_path / "other", "77777777-0000-4000-8000-000000000007", MARKER, now)
    qwen_chat(home, tmp_path / "work", "88888888-0000-4000-8000-000000000008", f"You are worker: {MARKER}", now)
    qwen = BACKENDS["qwen"]
    assert qwen.find_session(probe(tmp_path, now - 1)) == "88888888-0000-4000-8000-000000000008"
    assert qwen.session_saved("88888888-0000-4000-8000-000000000008", {"HOME": str(home)})
    assert not qwen.session_saved("99999999-0000-4000-8000-000000000009", {"HOME": str(home)})
    assert qwen.find_session(probe(tmp_path, now - 1, QWEN_HOME=str(tmp_path / "elsewhere"))) is None


# -- pi ----------------------------------------------------------------------------------


def pi_session(home: Path, cwd: Path, session_id: str, prompt: str | None, at: float) -> Path:
    """A session as pi-coding-agent 0.73.1 writes it: the header, its model, then the prompt."""
    folder = home / ".pi" / "agent" / "sessions" / f"-{str(cwd).replace('/', '-')}--"
    folder.mkdir(parents=True, exist_ok=True)
    records = [
        {"type": "session", "version": 3, "id": session_id, "timestamp": stamp(at), "cwd": str(cwd)},
        {"type": "model_change", "id": "c62f38f0", "parentId": None, "provider": "scripted", "modelId": "loop"},
    ]
    if prompt is not None:
        message = {"role": "user", "content": [{"type": "text", "text": prompt}]}
        records.append({"type": "message", "id": "a208cf39", "parentId": "c62f38f0", "message": message})
    path = folder / f"{datetime.fromtimestamp(at, UTC):%Y-%m-%dT%H-%M-%S-000Z}_{session_id}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_pi_finds_the_session_whose_first_prompt_holds_the_marker(tmp_path):
    now = time.time()
    home, work = tmp_path / "home", tmp_path / "work"
    pi_session(home, work, "01a24e9e-0000-7000-8000-000000000001", f"hi {OTHER}", now)
    pi_session(home, tmp_path / "other", "01a24e9e-0000-7000-8000-000000000002", MARKER, now)
    pi_session(home, work, "01a24e9e-0000-7000-8000-000000000003", f"You are worker: {MARKER}", now)
    pi_session(home, work, "01a24e9e-0000-7000-8000-000000000004", None, now)
    pi = BACKENDS["pi"]
    assert pi.find_session(probe(tmp_path, now - 1)) == "01a24e9e-0000-7000-8000-000000000003"
    assert pi.session_saved("01a24e9e-0000-7000-8000-000000000003", {"HOME": str(home)})
    assert not pi.session_saved("01a24e9e-0000-7000-8000-000000000004", {"HOME": str(home)})  # no prompt yet
    assert pi.find_session(probe(tmp_path, now - 1, PI_CODING_AGENT_DIR=str(tmp_path / "elsewhere"))) is None
