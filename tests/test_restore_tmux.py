"""`fleet restore` and `member restart` on a real private tmux server, with stand-in agents that
save and resume their conversations where claude keeps its own.

The fleet's tmux server is killed for real (its agents SIGKILLed first, as a reboot would), a
new server is started on the same socket, and the Director's new pane runs `fleet restore`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    PanesFleet,
    agents,
    couriers_of,
    create_panes_fleet,
    inputs,
    run,
    spawn,
    wait_for,
)
from tests.support import TmuxServer, cafleet_command


@pytest.fixture
def fleet(tmux_server, agents, cli) -> PanesFleet:
    return create_panes_fleet(cli, tmux_server, agents, "restore")


def _starts(agents, name: str) -> list[dict]:
    """Every stand-in started for member `name`: the events of each, in start order."""
    runs = []
    for path in sorted(agents.logs.glob("*.jsonl")):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        argv = events[0]["argv"] if events and events[0]["event"] == "start" else []
        # claude is started with --name; every first prompt here says "You are NAME".
        if f"--name\x00{name}\x00" in "\x00".join(argv) + "\x00" or any(f"You are {name}" in arg for arg in argv):
            runs.append(events)
    return sorted(runs, key=lambda events: events[0]["time"])


def _ready(events: list[dict]) -> bool:
    return any(e["event"] == "ready" for e in events)


def _kill_the_fleets_server(tmux_server: TmuxServer, agents) -> None:
    """What a reboot does: every agent and the tmux server die at once, nobody cleaning up."""
    for events in (json.loads(path.read_text().splitlines()[0]) for path in agents.logs.glob("*.jsonl")):
        try:
            os.kill(events["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    os.kill(tmux_server.server_pid, signal.SIGKILL)
    wait_for(lambda: tmux_server.tmux("list-sessions").returncode != 0, what="the tmux server to be gone")


def _new_server(tmux_server: TmuxServer) -> TmuxServer:
    """A new tmux server on the same socket, as after a reboot: its first pane is where the
    Director starts again."""
    base = ["tmux", "-L", tmux_server.name, "-f", "/dev/null"]
    subprocess.run(base + ["new-session", "-d", "-s", "work", "-x", "160", "-y", "48"], check=True, timeout=10)
    socket, pid, pane = (
        subprocess.run(
            base + ["display-message", "-p", "-t", "work", "#{socket_path}\t#{pid}\t#{pane_id}"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        .stdout.strip()
        .split("\t")
    )
    return TmuxServer(tmux_server.name, socket, int(pid), pane)


def _send(cli, fleet: PanesFleet, to: int, text: str, env: dict | None = None) -> int:
    sent = run(
        cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", to, "--text", text, env=env or {}
    )
    assert sent.code == 0, sent.err
    return sent.json()["task_id"]


def _members(cli, fleet: PanesFleet, env: dict | None = None) -> dict[str, dict]:
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, env=env or {})
    assert listed.code == 0, listed.err
    return {m["name"]: m for m in listed.json()}


def test_fleet_restore_after_the_tmux_server_died_resumes_each_member_and_delivers_what_waited(
    cli, fleet, agents, tmux_server, tmp_path
):
    ann, bob = spawn(cli, fleet, "ann"), spawn(cli, fleet, "bob")
    wait_for(lambda: all(_starts(agents, n) and _ready(_starts(agents, n)[-1]) for n in ("ann", "bob")), what="both ready")
    _send(cli, fleet, ann, "remember the word teal")
    wait_for(
        lambda: any("remember the word teal" in text for text in inputs(_starts(agents, "ann")[-1])), what="ann's first turn"
    )
    sessions = {name: m["session"]["id"] for name, m in _members(cli, fleet).items()}
    assert all(sessions.values()), sessions

    _kill_the_fleets_server(tmux_server, agents)
    for n in range(3):
        _send(cli, fleet, ann, f"while you were gone {n}")
    _send(cli, fleet, bob, "hello bob")
    wait_for(lambda: not couriers_of(), what="the courier to leave with its tmux server")

    new = _new_server(tmux_server)
    env = {**new.pane_env(), "TMUX": f"{new.socket_path},{new.server_pid},0"}
    dry = run(cli, fleet, "fleet", "restore", fleet.fleet_id, "--dry-run", env=env)
    assert dry.code == 0, dry.err
    assert f"ann#{ann} (claude): would resume its conversation {sessions['ann']}" in dry.out
    assert len(_starts(agents, "ann")) == 1  # a dry run starts nothing

    restored = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert restored.code == 0, restored.err
    assert f"The Director (director#{fleet.director_id}) moved to this pane, {new.pane_id}." in restored.out
    assert f"ann#{ann} (claude): resumed its conversation {sessions['ann']} in pane %" in restored.out
    assert f"bob#{bob} (claude): resumed its conversation {sessions['bob']} in pane %" in restored.out

    wait_for(lambda: len(_starts(agents, "ann")) == 2 and _ready(_starts(agents, "ann")[-1]), what="ann started again")
    again = _starts(agents, "ann")[-1]
    (resume,) = [e for e in again if e["event"] == "resume"]
    assert resume["session_id"] == sessions["ann"]
    assert any("remember the word teal" in turn for turn in resume["earlier"])  # its earlier turn came back
    # What waited is typed once each, in order, into the resumed agents.
    expected = [f"while you were gone {n}" for n in range(3)]
    wait_for(lambda: sum(any(w in t for t in inputs(_starts(agents, "ann")[-1])) for w in expected) == 3, what="ann's notices")
    typed = inputs(_starts(agents, "ann")[-1])
    order = [next(i for i, t in enumerate(typed) if w in t) for w in expected]
    assert order == sorted(order)
    assert all(sum(w in t for t in typed) == 1 for w in expected)
    wait_for(lambda: any("hello bob" in t for t in inputs(_starts(agents, "bob")[-1])), what="bob's notice")
    members = _members(cli, fleet, env)
    assert members["ann"]["session"]["restores"] == 1 and members["ann"]["session"]["id"] == sessions["ann"]
    assert members["ann"]["placement"]["tmux_server_pid"] == new.server_pid

    # Run again: every member runs, so nothing starts twice.
    twice = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert twice.code == 0, twice.err
    assert f"ann#{ann} (claude): still running in pane" in twice.out
    assert len(_starts(agents, "ann")) == 2 and len(_starts(agents, "bob")) == 2
    new.tmux("kill-server")


def _lose_the_fleet(cli, fleet: PanesFleet, agents, tmux_server, names: tuple[str, ...]) -> dict:
    """Members that each took a turn, then a reboot; the new server's Director-to-be pane env."""
    wait_for(lambda: all(_starts(agents, n) and _ready(_starts(agents, n)[-1]) for n in names), what="members ready")
    _kill_the_fleets_server(tmux_server, agents)
    new = _new_server(tmux_server)
    return {**new.pane_env(), "TMUX": f"{new.socket_path},{new.server_pid},0"}


def _panes_of(env: dict) -> set[str]:
    socket = env["TMUX"].split(",")[0]
    listed = subprocess.run(["tmux", "-S", socket, "list-panes", "-a", "-F", "#{pane_id}"], capture_output=True, text=True)
    return set(listed.stdout.split())


def test_a_restore_killed_after_starting_an_agent_is_finished_by_the_next_without_a_second_agent(cli, fleet, agents, tmux_server):
    ann = spawn(cli, fleet, "ann")
    env = _lose_the_fleet(cli, fleet, agents, tmux_server, ("ann",))
    socket = env["TMUX"].split(",")[0]
    subprocess.run(["tmux", "-S", socket, "set-hook", "-g", "after-split-window", "run-shell 'sleep 60'"], check=True)
    before = _panes_of(env)
    restorer = subprocess.Popen(
        cafleet_command() + ["--fleet-id", str(fleet.fleet_id), "fleet", "restore", str(fleet.fleet_id)],
        env={**os.environ, **fleet.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        (started,) = wait_for(lambda: _panes_of(env) - before, what="the restore's new pane")
        restorer.kill()  # between starting the agent and recording its pane
        restorer.wait(timeout=10)
    finally:
        subprocess.run(["tmux", "-S", socket, "set-hook", "-gu", "after-split-window"], check=True)
        if restorer.poll() is None:
            restorer.kill()
    wait_for(lambda: len(_starts(agents, "ann")) == 2, what="the agent the killed restore started")

    again = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert again.code == 0, again.err
    assert f"ann#{ann} (claude): running in pane {started}, started by an interrupted restore: recorded" in again.out
    assert len(_starts(agents, "ann")) == 2  # adopted, not started a third time
    assert _members(cli, fleet, env)["ann"]["placement"]["tmux_pane_id"] == started
    third = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert f"ann#{ann} (claude): still running in pane {started}" in third.out
    assert len(_starts(agents, "ann")) == 2


def test_two_restores_at_once_start_one_agent_per_member(cli, fleet, agents, tmux_server):
    names = ("ann", "bob", "cy")
    for name in names:
        spawn(cli, fleet, name)
    env = _lose_the_fleet(cli, fleet, agents, tmux_server, names)
    command = cafleet_command() + ["--fleet-id", str(fleet.fleet_id), "fleet", "restore", str(fleet.fleet_id)]
    both = [
        subprocess.Popen(command, env={**os.environ, **fleet.env, **env}, stdout=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[0] for p in both]
    assert all(p.returncode == 0 for p in both), outputs
    wait_for(
        lambda: all(len(_starts(agents, n)) >= 2 and _ready(_starts(agents, n)[-1]) for n in names), what="members ready again"
    )
    assert {n: len(_starts(agents, n)) for n in names} == {n: 2 for n in names}
    assert sum(o.count(": resumed its conversation") for o in outputs) == 3


def test_a_member_that_saved_no_conversation_comes_back_only_with_fresh_and_the_director_is_told(cli, fleet, agents, tmux_server):
    # The stand-in saves no conversation when started as codex is: nothing to resume.
    cody = spawn(cli, fleet, "cody", "--coding-agent", "codex", "--prompt", "You are {name}: build the parser.")
    env = _lose_the_fleet(cli, fleet, agents, tmux_server, ("cody",))

    refused = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert refused.code == 1, refused
    assert f"cody#{cody} (codex): still lost: it saved no conversation (its first prompt was never submitted); " in refused.out
    assert "--fresh starts it anew with its starting prompt" in refused.out
    assert len(_starts(agents, "cody")) == 1

    fresh = run(cli, fleet, "fleet", "restore", fleet.fleet_id, "--fresh", env=env)
    assert fresh.code == 0, fresh.err
    assert f"cody#{cody} (codex): started anew with its starting prompt in pane %" in fresh.out
    wait_for(lambda: len(_starts(agents, "cody")) == 2, what="cody started anew")
    first_prompt = _starts(agents, "cody")[-1][0]["argv"][-1]
    assert first_prompt.startswith("Note: your pane was lost and your earlier conversation could not be resumed")
    assert "You are cody: build the parser." in first_prompt
    inbox = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id, env=env)
    texts = [m["text"] for m in inbox.json()]
    assert f"[restored] cody#{cody} was started anew: the earlier conversation could not be resumed. " in "".join(texts)


def test_restore_with_the_directors_pane_alive_brings_back_closed_member_panes_beside_it(cli, fleet, agents, tmux_server):
    ann, bob = spawn(cli, fleet, "ann"), spawn(cli, fleet, "bob")
    wait_for(lambda: all(_starts(agents, n) and _ready(_starts(agents, n)[-1]) for n in ("ann", "bob")), what="ready")
    pane = _members(cli, fleet)["ann"]["placement"]["tmux_pane_id"]
    tmux_server.tmux("kill-pane", "-t", pane)

    restored = run(cli, fleet, "fleet", "restore", fleet.fleet_id)
    assert restored.code == 0, restored.err
    assert "moved to this pane" not in restored.out
    assert f"ann#{ann} (claude): resumed its conversation" in restored.out
    assert f"bob#{bob} (claude): still running in pane" in restored.out
    members = _members(cli, fleet)
    assert members["ann"]["placement"]["tmux_window_id"] == members["bob"]["placement"]["tmux_window_id"]
    assert len(_starts(agents, "bob")) == 1


def test_restore_outside_tmux_with_the_directors_pane_gone_is_refused_and_changes_nothing(cli, fleet, agents, tmux_server):
    spawn(cli, fleet, "ann")
    _lose_the_fleet(cli, fleet, agents, tmux_server, ("ann",))
    outside = {"TMUX": "", "TMUX_PANE": ""}
    refused = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=outside)
    assert refused.code == 1 and refused.out == "", refused
    assert refused.err.startswith(f"Error: the Director's pane of fleet {fleet.fleet_id} is gone, and this is no tmux pane")
    assert len(_starts(agents, "ann")) == 1


def test_member_restart_closes_a_hung_agent_and_resumes_it(cli, fleet, agents):
    ann = spawn(cli, fleet, "ann")
    wait_for(lambda: _starts(agents, "ann") and _ready(_starts(agents, "ann")[-1]), what="ann ready")
    _send(cli, fleet, ann, "remember the word amber")
    wait_for(lambda: any("amber" in t for t in inputs(_starts(agents, "ann")[-1])), what="ann's turn")
    old = _members(cli, fleet)["ann"]["placement"]["tmux_pane_id"]

    restarted = run(cli, fleet, "member", "restart", "--agent-id", fleet.director_id, "--member-id", ann)
    assert restarted.code == 0, restarted.err
    assert restarted.out.startswith(f"Restarted ann#{ann} (claude): resumed its conversation ")
    wait_for(lambda: len(_starts(agents, "ann")) == 2 and _ready(_starts(agents, "ann")[-1]), what="ann again")
    first = _starts(agents, "ann")[0]
    assert first[-1]["event"] == "exit"  # the old agent was closed with its pane
    (resume,) = [e for e in _starts(agents, "ann")[-1] if e["event"] == "resume"]
    assert any("amber" in turn for turn in resume["earlier"])
    assert _members(cli, fleet)["ann"]["placement"]["tmux_pane_id"] != old

    unknown = run(cli, fleet, "member", "restart", "--agent-id", fleet.director_id, "--member-id", 999)
    assert unknown.code == 1 and unknown.err.startswith("Error: "), unknown


def test_the_courier_finds_and_records_the_session_codex_saved_and_restore_resumes_it(cli, fleet, agents, tmux_server):
    """codex picks its session's id itself: the courier finds the session whose first prompt
    holds the member's mark, as codex saves it, and `fleet restore` resumes it by that id."""

    from tests.test_backend_sessions import rollout

    cody = spawn(cli, fleet, "cody", "--coding-agent", "codex", "--prompt", "You are {name}: build the parser.")
    wait_for(lambda: _starts(agents, "cody") and _ready(_starts(agents, "cody")[-1]), what="cody ready")
    assert _members(cli, fleet)["cody"]["session"]["id"] is None
    start = _starts(agents, "cody")[-1][0]
    # What codex itself writes once its first prompt is submitted (the stand-in does not).
    codex_home = Path(os.environ["HOME"]) / ".codex"
    saved = "019af3c2-5d1e-7c83-b663-f1e74a95fe22"
    rollout(codex_home, Path(os.getcwd()), saved, start["argv"][-1], time.time())
    rollout(codex_home, Path(os.getcwd()), "019af3c2-0000-7000-8000-000000000000", "someone else's first prompt", time.time())
    wait_for(
        lambda: _members(cli, fleet)["cody"]["session"]["id"] == saved, timeout=30, what="the courier to find cody's session"
    )

    env = _lose_the_fleet(cli, fleet, agents, tmux_server, ("cody",))
    restored = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert restored.code == 0, restored.err
    assert f"cody#{cody} (codex): resumed its conversation {saved} in pane %" in restored.out
    # Resumed, codex is given no prompt: its stand-in is known by its log's name alone.
    wait_for(lambda: len(list(agents.logs.glob("codex-*.jsonl"))) == 2, what="cody resumed")
    (resumed,) = [e for e in agents.events("codex") if e["event"] == "start" and "resume" in e["argv"]]
    assert resumed["argv"][-1] == saved


def test_restore_gives_each_member_its_rows_opening_a_members_window_when_needed(cli, fleet, agents, tmux_server):
    """Six claude members (8 rows each) do not fit beside the Director in 48 rows: after a
    reboot, `fleet restore` puts five there and the sixth in a members window, as spawning did."""
    names = ("ann", "bob", "cy", "dan", "eve", "fay")
    ids = {name: spawn(cli, fleet, name) for name in names}
    before = {name: m["placement"]["tmux_window_id"] for name, m in _members(cli, fleet).items()}
    assert len({before[name] for name in names[:5]}) == 1 and before["fay"] != before["ann"]
    for name in names:
        _send(cli, fleet, ids[name], f"hello {name}")
    wait_for(lambda: all(any(f"hello {n}" in t for t in inputs(_starts(agents, n)[-1])) for n in names), what="first turns")
    env = _lose_the_fleet(cli, fleet, agents, tmux_server, names)

    restored = run(cli, fleet, "fleet", "restore", fleet.fleet_id, env=env)
    assert restored.code == 0, restored.err
    members = _members(cli, fleet, env)
    socket = env["TMUX"].split(",")[0]

    def shown(pane_id: str, field: str) -> str:
        out = subprocess.run(["tmux", "-S", socket, "display-message", "-p", "-t", pane_id, "#{" + field + "}"],
                             capture_output=True, text=True, timeout=10)  # fmt: skip
        return out.stdout.strip()

    windows = {}
    for name in names:
        pane = members[name]["placement"]["tmux_pane_id"]
        windows[name] = shown(pane, "window_id")
        assert members[name]["placement"]["tmux_window_id"] == windows[name]
        assert int(shown(pane, "pane_height")) >= 8, name
    director_window = shown(env["TMUX_PANE"], "window_id")
    assert [windows[n] == director_window for n in names] == [True] * 5 + [False]
