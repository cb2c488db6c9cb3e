"""Members and inline previews against a real, private tmux server and stand-in agents."""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import time

import pytest

from cafleet.core.config import database_setting, local_directory
from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    agents,
    inputs,
    panes_fleet,
    run,
    run_as_human,
    spawn,
    task_row,
    wait_for,
    wait_for_notify,
    without_session_mark,
)
from tests.support import cafleet_command

fleet = panes_fleet("panes")


def pane_of(member_id):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    return Placement.get(Placement.agent == member_id)


def agent_count():
    from cafleet.store.db import open_database
    from cafleet.store.models import Agent

    open_database()
    return Agent.select().count()


def claude_settings(fleet_id: int) -> str:
    cafleet = cafleet_command()[0]
    rules = [f"Bash({cafleet} --fleet-id {fleet_id} *)", f"Bash(cafleet --fleet-id {fleet_id} *)"]
    return json.dumps({"permissions": {"allow": rules}}, separators=(",", ":"))


@pytest.mark.parametrize(
    "backend, model, options, expected",
    [
        (
            "claude",
            None,
            [],
            lambda f, local: ["--permission-mode", "dontAsk", "--settings", claude_settings(f), "--name", "ann"],
        ),
        (
            "claude",
            "sonnet",
            ["--permission-mode", "acceptEdits", "--agent-arg", "--verbose"],
            lambda f, local: [
                "--permission-mode",
                "acceptEdits",
                "--settings",
                claude_settings(f),
                "--name",
                "ann",
                "--model",
                "sonnet",
                "--verbose",
            ],
        ),
        (
            "codex",
            "gpt-5",
            [],
            lambda f, local: [
                "--no-daemon",
                "--ask-for-approval",
                "never",
                "--sandbox",
                "workspace-write",
                "--add-dir",
                str(local),
                *network_access(),
                "--model",
                "gpt-5",
            ],
        ),
        (
            "codex",
            None,
            ["--sandbox", "danger-full-access", "--approval", "on-request"],
            lambda f, local: ["--no-daemon", "--ask-for-approval", "on-request", "--sandbox", "danger-full-access"],
        ),
        ("opencode", "anthropic/claude-sonnet-4", [], lambda f, local: ["--model", "anthropic/claude-sonnet-4", "--prompt"]),
    ],
)
def test_spawn_runs_the_backend_with_its_exact_argv(
    cli, fleet, agents, tmux_server, local_dir, backend, model, options, expected
):
    extra = [
        "--coding-agent",
        backend,
        "--prompt",
        "Hi {name} #{agent_id} of fleet {fleet_id}, boss {director_id} on {coding_agent}",
        *options,
    ]
    if model:
        extra += ["--model", model]
    member_id = spawn(cli, fleet, "ann", *extra)

    events = agents.wait_for("ann", lambda ev: ev)
    (start,) = [e for e in events if e["event"] == "start"]
    argv = start["argv"][4:]  # after the stand-in's own --startup-delay S --log FILE
    prompt = f"Hi ann #{member_id} of fleet {fleet.fleet_id}, boss {fleet.director_id} on {backend}"
    (listed,) = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id).json()
    # claude starts its conversation under an id cafleet chose; the others pick their own.
    session = ["--session-id", listed["session"]["id"]] if backend == "claude" else []
    assert listed["session"]["id"] is not None if backend == "claude" else listed["session"]["id"] is None
    *options_given, first_prompt = argv
    assert options_given == expected(fleet.fleet_id, local_dir) + session
    assert without_session_mark(first_prompt) == prompt
    assert start["env_database_url"] == database_setting()
    if backend == "opencode":
        rules = json.loads(start["env_opencode_permission"])["bash*"]
        assert rules == {
            f"{cafleet_command()[0]} --fleet-id {fleet.fleet_id} *": "allow",
            f"cafleet --fleet-id {fleet.fleet_id} *": "allow",
        }
    else:
        assert start["env_opencode_permission"] is None

    placement = pane_of(member_id)
    assert placement.director_id == fleet.director_id and placement.coding_agent == backend
    window = tmux_server.tmux("display-message", "-p", "-t", placement.tmux_pane_id, "#{window_id}").stdout.strip()
    assert window == placement.tmux_window_id
    director_pane = tmux_server.tmux("list-panes", "-t", window, "-F", "#{pane_id} #{pane_active}").stdout
    assert f"{tmux_server.pane_id} 1" in director_pane  # split with -d: the Director keeps focus


def test_default_prompt_tells_the_member_who_it_is(cli, fleet, agents):
    member_id = spawn(cli, fleet, "bo")
    prompt = agents.wait_for("bo", lambda ev: ev)[0]["argv"][-1]
    assert f"fleet {fleet.fleet_id}" in prompt and f"agent id is {member_id}" in prompt
    assert f"message poll --agent-id {member_id}" in prompt and f"--to {fleet.director_id}" in prompt
    assert f"{cafleet_command()[0]} --fleet-id {fleet.fleet_id} message ack --agent-id {member_id}" in prompt


def test_member_create_says_what_it_granted(cli, fleet, agents):
    created = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        "gia",
        "--description",
        "grants",
        "--coding-agent",
        "codex",
        "--approval",
        "on-request",
    )
    assert created.code == 0, created.err
    lines = created.out.splitlines()
    network = ["  network access (to reach the PostgreSQL database)"] if network_access() else []
    assert lines[2:] == ["  sandbox workspace-write", "  approval on-request", f"  writable: {local_directory()}", *network]
    refused = run(
        cli,
        fleet,
        "member",
        "create",
        "--agent-id",
        fleet.director_id,
        "--name",
        "hal",
        "--description",
        "x",
        "--coding-agent",
        "codex",
        "--permission-mode",
        "plan",
    )
    assert refused.code == 2 and "--permission-mode is not an option of codex" in refused.err
    assert run(cli, fleet, "--json", "agent", "list", "--agent-id", fleet.director_id).json()[-1]["name"] == "gia"


def network_access() -> list[str]:
    """What codex members get on PostgreSQL, whose server their sandbox must reach."""
    from cafleet.backends.codex import NETWORK_ACCESS
    from cafleet.core.config import PostgresServer, database_target

    return ["-c", NETWORK_ACCESS] if isinstance(database_target(), PostgresServer) else []


def test_preview_lands_as_one_input_with_controls_removed(cli, fleet, agents):
    member_id = spawn(cli, fleet, "cy")
    agents.wait_for("cy", lambda ev: any(e["event"] == "ready" for e in ev))
    sent = run(
        cli,
        fleet,
        "message",
        "send",
        "--agent-id",
        fleet.director_id,
        "--to",
        "cy",
        "--quiet",
        "--text",
        "- fix \x1b[31mred\x1b[0m\x07 tests\nthen ping @cy",
    )
    task_id = int(sent.out)
    assert wait_for_notify(task_id) == "delivered"
    events = agents.wait_for("cy", lambda ev: inputs(ev))
    (text,) = inputs(events)
    assert re.fullmatch(
        rf"\[cafleet msg {task_id} from director#{fleet.director_id} \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] "
        r"- fix \[31mred\[0m tests⏎then ping @cy ·",
        text,
    )
    assert not [e for e in events if e["event"] == "escape"]
    assert member_id


def test_a_shell_pane_receives_nothing(cli, fleet, tmux_server):
    other = run(cli, fleet, "agent", "register", "--name", "ext", "--description", "outside").out.strip()
    task_id = int(
        run_as_human(
            cli, fleet, "message", "send", "--agent-id", other, "--to", "director", "--quiet", "--text", "echo PWNED"
        ).out
    )
    assert wait_for_notify(task_id) == "skipped:not-its-agent:bash"
    screen = tmux_server.tmux("capture-pane", "-p", "-t", tmux_server.pane_id).stdout
    assert "PWNED" not in screen and "cafleet msg" not in screen


def test_send_to_a_dead_pane_is_skipped(cli, fleet, tmux_server):
    member_id = spawn(cli, fleet, "dee")
    tmux_server.tmux("kill-pane", "-t", pane_of(member_id).tmux_pane_id)
    task_id = int(
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "dee", "--quiet", "--text", "hello?").out
    )
    assert wait_for_notify(task_id) == "skipped:pane-gone"


def test_broadcast_reaches_every_pane(cli, fleet, agents):
    names = ["p1", "p2", "p3"]
    for name in names:
        spawn(cli, fleet, name)
    for name in names:
        agents.wait_for(name, lambda ev: any(e["event"] == "ready" for e in ev))
    result = run(cli, fleet, "--json", "message", "broadcast", "--agent-id", fleet.director_id, "--text", "standup now")
    summary = result.json()
    for delivery in summary["deliveries"]:
        assert wait_for_notify(delivery["task_id"]) == "delivered"
    for name in names:
        (text,) = inputs(agents.wait_for(name, lambda ev: inputs(ev)))
        assert text.endswith("Z] standup now")


def test_exec_send_input_ping_and_capture(cli, fleet, agents):
    member_id = spawn(cli, fleet, "dan")
    agents.wait_for("dan", lambda ev: any(e["event"] == "ready" for e in ev))
    args = ("--agent-id", fleet.director_id, "--member-id", member_id)

    assert run(cli, fleet, "member", "exec", *args, "echo exec-$((6*7))").code == 0
    assert run(cli, fleet, "member", "ping", *args).code == 0
    refused = run(cli, fleet, "member", "send-input", *args, "--choice", "2")
    assert refused.code == 1 and "not typed into: deferred" not in refused.err and "it shows ready" in refused.err
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "ask: which one? | option A | option B").code == 0
    agents.wait_for("dan", lambda ev: len(inputs(ev)) >= 3)
    assert run(cli, fleet, "member", "send-input", *args, "--choice", "2").code == 0
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", "- done").code == 0

    events = agents.wait_for("dan", lambda ev: len(inputs(ev)) >= 4)
    assert inputs(events) == [
        "! echo exec-$((6*7))",
        f"{cafleet_command()[0]} --fleet-id {fleet.fleet_id} message poll --agent-id {member_id}",
        "ask: which one? | option A | option B",
        "- done",
    ]
    assert [e["choice"] for e in events if e["event"] == "choice"] == ["2"]
    capture = run(cli, fleet, "member", "capture", *args, "--lines", "3")
    assert capture.code == 0
    lines = capture.out.splitlines()
    assert len(lines) == 3 and "exec-42" in "\n".join(
        run(cli, fleet, "member", "capture", *args, "--lines", "30").out.splitlines()
    )


def test_member_list_with_activity(cli, fleet):
    member_id = spawn(cli, fleet, "eve")
    run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "eve", "--text", "work")
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    assert [m["agent_id"] for m in listed] == [member_id]
    activity = listed[0]["activity"]
    assert activity["pane_alive"] is True and activity["unread"] == 1 and activity["last_received_at"]
    text = run(cli, fleet, "member", "list", "--agent-id", fleet.director_id, "--activity").out
    assert "pane=alive" in text and "unread=1" in text


def test_graceful_delete_types_exit_and_deregisters(cli, fleet, agents, tmux_server):
    member_id = spawn(cli, fleet, "fay")
    agents.wait_for("fay", lambda ev: any(e["event"] == "ready" for e in ev))
    pane = pane_of(member_id).tmux_pane_id
    result = run(cli, fleet, "member", "delete", "--agent-id", fleet.director_id, "--member-id", member_id)
    assert result.code == 0, result.err
    assert inputs(agents.log_of("fay")) == ["/exit"]
    assert pane not in tmux_server.tmux("list-panes", "-a", "-F", "#{pane_id}").stdout.split()
    shown = run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member_id).json()
    assert shown["status"] == "deregistered" and shown["placement"] is None


def test_delete_waits_for_a_busy_member_to_end_its_turn(cli, fleet, agents, tmux_server, tmp_path):
    """A member deleted while its turn runs (often: right after it answered) gets `/exit` once
    that turn ends, never typed into it, and never a refusal at once."""
    member_id = spawn(cli, fleet, "ike")
    agents.wait_for("ike", lambda ev: any(e["event"] == "ready" for e in ev))
    args = ("--agent-id", fleet.director_id, "--member-id", member_id)
    turn = f"take your time until {tmp_path / 'turn-over'}"
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", turn).code == 0
    wait_for(lambda: activity(cli, fleet, member_id)["state"] == "busy", what="the member to be busy")
    deleting = concurrent.futures.ThreadPoolExecutor(1).submit(run, cli, fleet, "member", "delete", *args)
    (tmp_path / "turn-over").touch()  # the turn ends while the delete waits (or before it looks)
    result = deleting.result(timeout=60)
    assert result.code == 0, result.err
    assert inputs(agents.log_of("ike")) == [turn, "/exit"]
    assert pane_of_gone(member_id)


def test_a_member_busy_past_the_timeout_is_not_typed_into(cli, fleet, agents, tmux_server, tmp_path):
    member_id = spawn(cli, fleet, "jay")
    agents.wait_for("jay", lambda ev: any(e["event"] == "ready" for e in ev))
    args = ("--agent-id", fleet.director_id, "--member-id", member_id)
    turn = f"take your time until {tmp_path / 'turn-over'}"
    assert run(cli, fleet, "member", "send-input", *args, "--freetext", turn).code == 0
    wait_for(lambda: activity(cli, fleet, member_id)["state"] == "busy", what="the member to be busy")
    result = run(cli, fleet, "member", "delete", *args, "--timeout", "0.5")
    assert result.code == 2 and "still open after 0.5s (/exit was not typed: it shows busy)" in result.err
    (tmp_path / "turn-over").touch()
    wait_for(lambda: activity(cli, fleet, member_id)["state"] == "ready", what="the turn to end")
    assert inputs(agents.log_of("jay")) == [turn]


def activity(cli, fleet, member_id):
    listed = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()
    return next(m["activity"] for m in listed if m["agent_id"] == member_id)


def test_delete_times_out_then_force_kills(cli, fleet, agents, tmux_server):
    (agents.bin / "claude.deaf").touch()
    member_id = spawn(cli, fleet, "gus")
    args = ("member", "delete", "--agent-id", fleet.director_id, "--member-id", member_id)
    slow = run(cli, fleet, *args, "--timeout", "1")
    assert slow.code == 2
    assert "still open after 1s" in slow.err and "Its last lines:" in slow.err and slow.out == ""
    assert (
        run(cli, fleet, "--json", "agent", "show", "--agent-id", fleet.director_id, "--id", member_id).json()["status"]
        == "active"
    )
    forced = run(cli, fleet, *args, "--force")
    assert forced.code == 0
    assert pane_of_gone(member_id)


def pane_of_gone(member_id):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    return Placement.get_or_none(Placement.agent == member_id) is None


@pytest.mark.parametrize(
    "extra, env, code, message",
    [
        (["--coding-agent", "codex"], {"PATH": "/usr/bin:/bin"}, 1, "coding agent 'codex' is not on PATH"),
        (["--model", "bad model"], {}, 2, "--model 'bad model' is not a model name"),
        (["--coding-agent", "opencode", "--model", "gpt"], {}, 2, "opencode wants provider/model"),
        (["--prompt", "hi {nme}"], {}, 2, "placeholder {nme} is unknown"),
        (["--prompt", "hi {"], {}, 2, "malformed placeholder"),
        (["--name", "director"], {}, 1, "already has an active agent named 'director'"),
        (["--name", "bad name"], {}, 2, "agent name 'bad name' is not allowed"),
        (["--coding-agent", "codex", "--sandbox", "read-only"], {}, 2, "--sandbox read-only would keep the member from acking"),
        (["--coding-agent", "codex", "--approval", "untrusted"], {}, 2, "--approval 'untrusted' is not one of on-request, never"),
        (["--permission-mode", "yolo"], {}, 2, "--permission-mode 'yolo' is not one of default, acceptEdits"),
        (["--coding-agent", "opencode", "--sandbox", "workspace-write"], {}, 2, "--sandbox is not an option of opencode"),
    ],
)
def test_spawn_refusals_leave_nothing_behind(cli, fleet, tmux_server, extra, env, code, message):
    before_agents, before_panes = agent_count(), tmux_server.tmux("list-panes", "-a").stdout
    args = ["member", "create", "--agent-id", fleet.director_id, "--description", "x"]
    if "--name" not in extra:
        args += ["--name", "hal"]
    result = run(cli, fleet, *args, *extra, env=env)
    assert (result.code, "Traceback" in result.err) == (code, False), result.err
    assert message in result.err
    assert agent_count() == before_agents
    assert tmux_server.tmux("list-panes", "-a").stdout == before_panes


def test_a_failed_split_rolls_back(cli, fleet, tmux_server):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    Placement.update(tmux_window_id="@999").where(Placement.agent == fleet.director_id).execute()
    before = agent_count()
    result = run(cli, fleet, "member", "create", "--agent-id", fleet.director_id, "--name", "ivy", "--description", "x")
    assert result.code == 1 and "tmux split-window failed" in result.err
    assert agent_count() == before


def test_only_the_director_drives_members(cli, fleet):
    member_id = spawn(cli, fleet, "jo")
    other = run(cli, fleet, "agent", "register", "--name", "kim", "--description", "x").out.strip()
    for args in (
        ["member", "create", "--agent-id", other, "--name", "lee", "--description", "x"],
        ["member", "ping", "--agent-id", other, "--member-id", member_id],
        ["member", "list", "--agent-id", member_id],
        ["member", "exec", "--agent-id", member_id, "--member-id", member_id, "ls"],
    ):
        # From outside every agent's pane the ids are taken at their word, and the broker
        # still refuses anyone but the Director.
        result = run_as_human(cli, fleet, *args)
        assert result.code == 1 and "is not the Director of fleet" in result.err, (args, result.err)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["member", "exec", "{m}", "ls\nrm -rf /"], 2, "holds a line break"),
        (["member", "exec", "{m}", "  "], 2, "the command is empty"),
        (["member", "send-input", "{m}", "--freetext", "!rm -rf ~"], 2, "may not start with '!'"),
        (["member", "send-input", "{m}", "--freetext", "a\nb"], 2, "holds a line break"),
        (["member", "send-input", "{m}"], 2, "exactly one of --choice"),
        (["member", "send-input", "{m}", "--choice", "4"], 2, "--choice"),
        (["member", "ping", "--member-id", "999"], 1, "agent 999 not found"),
    ],
)
def test_bad_member_input(cli, fleet, agents, args, code, message):
    member_id = spawn(cli, fleet, "max")
    agents.wait_for("max", lambda ev: any(e["event"] == "ready" for e in ev))
    expanded = []
    for arg in args:
        expanded += ["--member-id", str(member_id)] if arg == "{m}" else [arg]
    result = run(cli, fleet, *expanded[:2], "--agent-id", fleet.director_id, *expanded[2:])
    assert result.code == code and message in result.err, result.err
    assert "Traceback" not in result.err
    assert [e["event"] for e in agents.log_of("max")] == ["start", "ready"]


def test_pending_placement_is_refused(cli, fleet):
    from cafleet.panes.processes import process_identity
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    member_id = spawn(cli, fleet, "ned")
    open_database()
    # As while `member create` (here: this live process) is still spawning the pane.
    Placement.update(tmux_pane_id=None, spawner_pid=os.getpid(), spawner_identity=process_identity(os.getpid())).where(
        Placement.agent == member_id
    ).execute()
    for command in ("ping", "capture"):
        result = run(cli, fleet, "member", command, "--agent-id", fleet.director_id, "--member-id", member_id)
        assert result.code == 1 and "pending" in result.err


def test_a_pane_in_copy_mode_is_taken_out_of_it_first(cli, fleet, agents, tmux_server):
    member_id = spawn(cli, fleet, "oli")
    agents.wait_for("oli", lambda ev: any(e["event"] == "ready" for e in ev))
    pane = pane_of(member_id).tmux_pane_id
    tmux_server.tmux("copy-mode", "-t", pane)
    assert tmux_server.tmux("display-message", "-p", "-t", pane, "#{pane_in_mode}").stdout.strip() == "1"
    task_id = int(
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "oli", "--quiet", "--text", "scrolled?").out
    )
    assert wait_for_notify(task_id) == "delivered"
    (text,) = inputs(agents.wait_for("oli", lambda ev: inputs(ev)))
    assert text.endswith("Z] scrolled?")


def test_a_pane_of_a_restarted_server_is_never_typed_into(cli, fleet, agents):
    from cafleet.store.models import Placement

    member_id = spawn(cli, fleet, "pia")
    agents.wait_for("pia", lambda ev: any(e["event"] == "ready" for e in ev))
    pane_of(member_id)
    Placement.update(tmux_server_pid=1).where(Placement.agent == member_id).execute()
    task_id = int(
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "pia", "--quiet", "--text", "hi").out
    )
    assert wait_for_notify(task_id) == "skipped:other-tmux-server"
    time.sleep(0.5)
    assert [e["event"] for e in agents.log_of("pia")] == ["start", "ready"]


def test_a_pane_showing_the_cafleet_tui_is_skipped(cli, fleet, agents, tmux_server):
    member_id = spawn(cli, fleet, "quin")
    tmux_server.tmux("set-option", "-p", "-t", pane_of(member_id).tmux_pane_id, "@cafleet_tui", "1")
    task_id = int(
        run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "quin", "--quiet", "--text", "hi").out
    )
    assert wait_for_notify(task_id) == "skipped:pane-shows-cafleet-tui"


def test_deliveries_to_one_pane_never_interleave(cli, fleet, agents):
    spawn(cli, fleet, "rio")
    agents.wait_for("rio", lambda ev: any(e["event"] == "ready" for e in ev))
    ids = [
        int(
            run(
                cli,
                fleet,
                "message",
                "send",
                "--agent-id",
                fleet.director_id,
                "--to",
                "rio",
                "--quiet",
                "--text",
                f"message number {i}",
            ).out
        )
        for i in range(4)
    ]
    for task_id in ids:
        assert wait_for_notify(task_id, timeout=15) == "delivered"
    received = inputs(agents.wait_for("rio", lambda ev: len(inputs(ev)) >= 4))
    assert len(received) == 4
    assert sorted(text.split("] ", 1)[1] for text in received) == [f"message number {i}" for i in range(4)]
    assert all(re.fullmatch(r"\[cafleet msg \d+ from director#\d+ \S+\] message number \d", t) for t in received)


def test_a_members_pane_on_another_host_is_never_looked_at_or_typed_into(cli, fleet, agents):
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    member_id = spawn(cli, fleet, "far")
    agents.wait_for("far", lambda ev: any(e["event"] == "ready" for e in ev))
    open_database()
    Placement.update(host="elsewhere").where(Placement.agent == member_id).execute()  # as if it lived on another machine
    args = ("--agent-id", fleet.director_id, "--member-id", member_id)
    for command in (["ping"], ["capture"], ["exec", "echo hi"], ["send-input", "--freetext", "yes"], ["delete"]):
        refused = run(cli, fleet, "member", *command, *args)
        assert refused.code == 1, command
        assert refused.err.startswith(
            f"Error: member far's pane lives on host elsewhere and this is host {os.uname().nodename}; "
            "nothing was done: run the command again on elsewhere"
        )
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "far", "--text", "not here", "--quiet")
    # A later notice this host's courier settles: by then it has passed over the one for `far`.
    helper = run_as_human(cli, fleet, "agent", "register", "--name", "helper", "--description", "x", "--quiet").out.strip()
    later = run_as_human(cli, fleet, "message", "send", "--agent-id", helper, "--to", "director", "--text", "sync", "--quiet")
    assert wait_for_notify(int(later.out)) == "skipped:not-its-agent:bash"
    assert task_row(int(sent.out)).notify_status == "pending"  # left for the courier of host `elsewhere`
    assert inputs(agents.log_of("far")) == []
