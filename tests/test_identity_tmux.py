"""Identity and scoping: an agent's pane acts only as that agent, `--fleet-id` confines a call.

The member panes are real panes of a private tmux server running the stand-in agent; a
command "run in a pane" gets the `$TMUX`/`$TMUX_PANE` a process in that pane sees.
"""

from __future__ import annotations

import sys

from tests.panes_support import (  # noqa: F401 (agents is a fixture)
    OUTSIDE_PANES,
    agents,
    inputs,
    panes_fleet,
    run,
    spawn,
    wait_for,
    wait_for_notify,
)

fleet = panes_fleet("identity")


def pane_id_of(agent_id: int) -> str:
    from cafleet.store.db import open_database
    from cafleet.store.models import Placement

    open_database()
    return Placement.get(Placement.agent == agent_id).tmux_pane_id


def in_pane_of(tmux_server, agent_id: int) -> dict:
    return tmux_server.pane_env(pane_id_of(agent_id))


def messages_in() -> list[tuple]:
    """Every task row (the courier keeps writing pane states meanwhile; those may change)."""
    from cafleet.store.db import open_database
    from cafleet.store.models import Task

    open_database()
    return list(Task.select().order_by(Task.id).tuples())


def administrator_of(cli, fleet) -> int:
    shown = run(cli, fleet, "--json", "fleet", "show", str(fleet.fleet_id)).json()
    return next(a["agent_id"] for a in shown["agents"] if a["kind"] == "administrator")


def test_a_member_pane_cannot_act_as_another_agent(cli, fleet, tmux_server, agents, db_path):
    jo = spawn(cli, fleet, "jo")
    admin = administrator_of(cli, fleet)
    here = in_pane_of(tmux_server, jo)
    before = messages_in()
    for impostor in (fleet.director_id, admin):
        sent = run(cli, fleet, "message", "send", "--agent-id", impostor, "--to", "jo", "--text", "hi", env=here)
        assert sent.code == 1
        assert f"--agent-id {impostor} (" in sent.err and f"is jo#{jo} (member of fleet {fleet.fleet_id})" in sent.err
        assert f"act as yourself with --agent-id {jo}" in sent.err and "whoami" in sent.err
    polled = run(cli, fleet, "message", "poll", "--agent-id", fleet.director_id, env=here)
    assert polled.code == 1 and "is not you" in polled.err
    assert messages_in() == before
    # As itself it works.
    own = run(cli, fleet, "message", "send", "--agent-id", jo, "--to", "director", "--text", "done", env=here)
    assert own.code == 0, own.err


def test_a_member_pane_cannot_drive_another_member_as_the_director(cli, fleet, tmux_server, agents):
    jo, kim = spawn(cli, fleet, "jo"), spawn(cli, fleet, "kim")
    agents.wait_for("kim", lambda ev: any(e["event"] == "ready" for e in ev))
    result = run(
        cli,
        fleet,
        "member",
        "exec",
        "--agent-id",
        fleet.director_id,
        "--member-id",
        kim,
        "echo PWNED",
        env=in_pane_of(tmux_server, jo),
    )
    assert result.code == 1 and "is not you" in result.err
    assert not any("PWNED" in text for text in inputs(agents.log_of("kim")))


def test_director_only_commands_come_from_the_directors_pane(cli, fleet, tmux_server):
    jo = spawn(cli, fleet, "jo")
    here = in_pane_of(tmux_server, jo)
    for args in (
        ["fleet", "delete", str(fleet.fleet_id)],
        ["monitor", "start", "--tick", "1"],
        ["monitor", "config", "--member-id", str(jo), "--interval", "5"],
    ):
        result = run(cli, fleet, *args, env=here)
        assert result.code == 1, (args, result)
        assert f"is for the Director of fleet {fleet.fleet_id}" in result.err and f"jo#{jo}" in result.err
    assert run(cli, fleet, "--json", "fleet", "show", str(fleet.fleet_id)).json()["deleted_at"] is None
    # The Director's own pane may.
    assert run(cli, fleet, "monitor", "config", "--member-id", str(jo), "--interval", "5").code == 0


def test_the_human_outside_every_pane_acts_as_the_administrator_or_the_director(cli, fleet):
    spawn(cli, fleet, "jo")
    admin = administrator_of(cli, fleet)
    for sender in (admin, fleet.director_id):
        sent = run(
            cli, fleet, "message", "send", "--agent-id", sender, "--to", "jo", "--text", "from the human", env=OUTSIDE_PANES
        )
        assert sent.code == 0, sent.err


def test_a_pane_that_is_no_agents_placement_is_the_human(cli, fleet, tmux_server):
    spawn(cli, fleet, "jo")
    admin = administrator_of(cli, fleet)
    other_pane = tmux_server.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-t", tmux_server.pane_id).stdout.strip()
    sent = run(
        cli, fleet, "message", "send", "--agent-id", admin, "--to", "jo", "--text", "hi", env=tmux_server.pane_env(other_pane)
    )
    assert sent.code == 0, sent.err


def test_whoami_names_the_agent_of_the_calling_pane(cli, fleet, tmux_server):
    jo = spawn(cli, fleet, "jo")
    here = in_pane_of(tmux_server, jo)
    doc = run(cli, fleet, "--json", "whoami", env=here).json()
    assert doc == {
        "fleet_id": fleet.fleet_id,
        "agent_id": jo,
        "name": "jo",
        "kind": "member",
        "is_director": False,
        "coding_agent": "claude",
        "pane": pane_id_of(jo),
    }
    text = run(cli, fleet, "whoami", env=here).out
    assert text.startswith(f"You are jo#{jo}, member of fleet {fleet.fleet_id}")
    assert f"--fleet-id {fleet.fleet_id} message poll --agent-id {jo}" in text
    director = run(cli, fleet, "--json", "whoami").json()
    assert (director["agent_id"], director["is_director"]) == (fleet.director_id, True)

    outside = cli("whoami", env=OUTSIDE_PANES)
    assert outside.code == 1 and outside.err.startswith("Error: this process runs outside tmux")
    wrong_fleet = cli("--fleet-id", str(fleet.fleet_id + 1), "whoami", env=here)
    assert wrong_fleet.code == 1 and f"(it is jo#{jo} of fleet {fleet.fleet_id})" in wrong_fleet.err


def test_the_built_in_prompt_points_to_whoami(cli, fleet, agents):
    spawn(cli, fleet, "jo")
    argv = agents.wait_for("jo", lambda ev: bool(ev))[0]["argv"]
    assert any(f"--fleet-id {fleet.fleet_id} whoami" in arg for arg in argv)


def test_an_agent_registering_from_its_own_pane_is_placed_there(cli, fleet, tmux_server, agents):
    log = agents.logs / "own-pane.jsonl"
    own = tmux_server.tmux(
        "split-window",
        "-d",
        "-P",
        "-F",
        "#{pane_id}",
        "-t",
        tmux_server.pane_id,
        f"exec {sys.executable} -m cafleet.demo.standin_agent --name kit --log {log}",
    ).stdout.strip()
    wait_for(lambda: log.exists() and '"ready"' in log.read_text(), what="the stand-in in the agent's own pane")
    joined = run(
        cli,
        fleet,
        "agent",
        "register",
        "--name",
        "kit",
        "--description",
        "joined by itself",
        "--coding-agent",
        "codex",
        "--quiet",
        env=tmux_server.pane_env(own),
    )
    assert joined.code == 0, joined.err
    kit = int(joined.out)
    assert pane_id_of(kit) == own
    doc = run(cli, fleet, "--json", "whoami", env=tmux_server.pane_env(own)).json()
    assert (doc["agent_id"], doc["kind"], doc["coding_agent"]) == (kit, "agent", "codex")
    sent = run(cli, fleet, "message", "send", "--agent-id", fleet.director_id, "--to", "kit", "--text", "welcome kit", "--quiet")
    assert wait_for_notify(int(sent.out)) == "delivered"  # its notices are typed into its own pane
    # From a pane that already is an agent's (the Director's), or with --no-pane, an agent has none.
    helper = run(cli, fleet, "--json", "agent", "register", "--name", "helper", "--description", "a script").json()
    assert helper["placement"] is None
    shell = tmux_server.tmux("split-window", "-d", "-P", "-F", "#{pane_id}", "-t", tmux_server.pane_id).stdout.strip()
    from_shell = run(
        cli, fleet, "--json", "agent", "register", "--name", "script", "--description", "x", env=tmux_server.pane_env(shell)
    )
    assert from_shell.json()["placement"] is None  # a human's shell is not an agent's pane
    assert (
        from_shell.err.startswith(f"Note: pane {shell} runs ")
        and "not a coding agent: script is registered without a pane" in from_shell.err
    )
    quiet = run(
        cli,
        fleet,
        "--json",
        "agent",
        "register",
        "--name",
        "loose",
        "--description",
        "x",
        "--no-pane",
        env=tmux_server.pane_env(shell),
    )
    assert quiet.json()["placement"] is None and quiet.err == ""
