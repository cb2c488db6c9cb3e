"""The three-beat question relay of the cafleet-director skill, end to end with a stand-in agent:
a member shows a choice menu, the Director gets one "[needs you]" message holding the command
that answers it, runs that command as written, and the member continues. The human's copy of
the question leaves their inbox once it is answered, whoever answered it."""

from __future__ import annotations

import re
import shlex

import pytest
from panes_support import create_panes_fleet, make_fake_agents, run, spawn, task_row, wait_for, wait_for_notify


@pytest.fixture
def agents(tmp_path):
    return make_fake_agents(tmp_path)


def test_a_question_is_relayed_answered_with_the_given_command_and_the_member_continues(cli, tmux_server, agents):
    fleet = create_panes_fleet(cli, tmux_server, agents, "relay")
    member = spawn(cli, fleet, "coder")
    agents.wait_for("coder", lambda ev: any(e["event"] == "ready" for e in ev))
    wait_for(
        lambda: (
            run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()[0]["activity"][
                "state"
            ]
            == "ready"
        ),
        what="the member to be ready",
    )

    # Beat 1: the member shows a menu (the stand-in draws one for an `ask:` input).
    assert (
        run(
            cli,
            fleet,
            "member",
            "send-input",
            "--agent-id",
            fleet.director_id,
            "--member-id",
            member,
            "--freetext",
            "ask: Overwrite config.toml? | yes | no",
        ).code
        == 0
    )

    # Beat 2: the Director sees it, as a message and as the member's state.
    def needs_you():
        inbox = run(cli, fleet, "--json", "message", "poll", "--agent-id", fleet.director_id).json()
        return [t for t in inbox if t["from"] == f"coder#{member}" and t["text"].startswith("[needs you]")]

    (told,) = wait_for(needs_you, what="the [needs you] message")
    assert "Overwrite config.toml?" in told["text"]
    (humans,) = questions_to_the_human(member)
    assert humans.state == "input_required" and humans.text.startswith(told["text"].removesuffix("…"))
    activity = run(cli, fleet, "--json", "member", "list", "--agent-id", fleet.director_id, "--activity").json()[0]["activity"]
    assert activity["state"] == "asking"
    # A message sent meanwhile waits: it must not be typed into the menu.
    waiting = int(
        run(
            cli,
            fleet,
            "message",
            "send",
            "--agent-id",
            fleet.director_id,
            "--to",
            f"coder#{member}",
            "--text",
            "after the answer, run the tests",
            "--quiet",
        ).out
    )
    assert wait_for_notify(waiting, timeout=3, until=lambda s: s == "deferred:asking") == "deferred:asking"

    # Beat 3: the Director runs the command the message gave it, with the choice filled in.
    given = re.search(r"answer with: (\S*cafleet .*?--choice N)", told["text"]).group(1)
    argv = shlex.split(given.replace("--choice N", "--choice 2"))
    assert argv[1:3] == ["--fleet-id", str(fleet.fleet_id)]
    answered = cli(*argv[1:], env=fleet.env)
    assert answered.code == 0, answered.err
    assert run(cli, fleet, "message", "ack", "--agent-id", fleet.director_id, "--task-id", told["task_id"]).code == 0

    # The member took the answer and goes on: ready again, and the waiting notice lands.
    events = agents.wait_for("coder", lambda ev: any(e["event"] == "choice" for e in ev))
    assert [e["choice"] for e in events if e["event"] == "choice"] == ["2"]
    assert wait_for_notify(waiting, timeout=15) == "delivered"
    assert any("after the answer, run the tests" in e.get("text", "") for e in agents.log_of("coder"))

    # The human's copy was withdrawn when the member stopped asking; the Director's was its own.
    wait_for(lambda: questions_to_the_human(member)[0].state == "canceled", what="the human's copy withdrawn")
    assert task_row(told["task_id"]).state == "completed"  # acked by the Director


def questions_to_the_human(member_id: int) -> list:
    from cafleet.core.domain import AgentKind
    from cafleet.store.db import open_database
    from cafleet.store.models import Agent, Task

    open_database()
    query = (
        Task.select()
        .join(Agent, on=(Task.recipient == Agent.id))
        .where((Task.sender == member_id) & (Agent.kind == AgentKind.ADMINISTRATOR))
    )
    return list(query)
