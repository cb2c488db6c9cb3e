"""Hosts in the registry: every placement records the host its pane lives on, and everything
that looks at panes or types into them (the courier's notices, its state watcher, spawn
recovery, pane identity, keystrokes) serves only this host's. Runs on both engines."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cafleet.broker import agent_states, agents, couriers, fleets, members, notifications
from cafleet.broker.identity import agents_in_pane
from cafleet.core.errors import Fix, Hint, InvalidInput
from cafleet.core.hosts import HOST_VARIABLE, this_host
from cafleet.core.records import EnvPane
from cafleet.core.timestamps import parse_stamp
from cafleet.store.models import Placement, Task
from tests.support import FAKE_PANE

HOST_B_PANE = FAKE_PANE._replace(tmux_pane_id="%7")  # the same socket path: it exists on every machine


@pytest.fixture
def host_a(monkeypatch):
    monkeypatch.setenv(HOST_VARIABLE, "host-a")


def as_host(monkeypatch, host: str) -> None:
    monkeypatch.setenv(HOST_VARIABLE, host)


def test_the_host_id_is_the_hostname_unless_overridden(monkeypatch):
    import socket

    assert this_host() == socket.gethostname()
    as_host(monkeypatch, "build-01.example")
    assert this_host() == "build-01.example"
    as_host(monkeypatch, "")
    assert this_host() == socket.gethostname()


@pytest.mark.parametrize("bad", ["two words", "a/b", "x" * 65, "héte", "semi;colon"])
def test_a_bad_host_id_is_refused_naming_it_and_the_fix(monkeypatch, bad):
    as_host(monkeypatch, bad)
    with pytest.raises(InvalidInput) as refused:
        this_host()
    assert refused.value.message.startswith(f"CAFLEET_HOST_ID={bad!r} is not a host id; use 1-64 letters")


def test_a_bad_host_id_is_a_usage_error_before_anything_is_written(cli):
    result = cli("--fleet-id", "1", "message", "poll", "--agent-id", "1", env={HOST_VARIABLE: "no spaces"})
    assert result.code == 2
    assert result.err.startswith("Error: CAFLEET_HOST_ID='no spaces' is not a host id")


def test_every_placement_records_the_host_it_was_made_on(db, host_a, monkeypatch):
    created = fleets.create_fleet(FAKE_PANE)
    assert created.director.placement.host == "host-a"
    member = members.register_member(created.fleet.id, created.director.id, "ana", "helps", "claude")
    assert member.placement.host == "host-a"
    as_host(monkeypatch, "host-b")
    joined = agents.register_agent(created.fleet.id, "bee", "on B", pane=HOST_B_PANE, coding_agent="codex")
    assert (joined.placement.host, joined.placement.tmux_pane_id, joined.placement.coding_agent) == ("host-b", "%7", "codex")
    assert agents.register_agent(created.fleet.id, "cal", "no pane").placement is None
    rows = {p.agent_id: p.host for p in Placement.select()}
    assert rows == {created.director.id: "host-a", member.id: "host-a", joined.id: "host-b"}


def test_agent_register_refuses_a_pane_that_already_is_an_agent(db):
    created = fleets.create_fleet(FAKE_PANE)
    with pytest.raises(Exception, match="pane %1 already is agent director#1 of fleet 1") as refused:
        agents.register_agent(created.fleet.id, "bee", "x", pane=FAKE_PANE)
    assert refused.value.hint == Hint(Fix.OWN_PANE, name="bee")


def _fleet_on_two_hosts(monkeypatch):
    """A Director on host-a and an agent on host-b, each in pane ... of the same socket path."""
    as_host(monkeypatch, "host-a")
    created = fleets.create_fleet(FAKE_PANE)
    as_host(monkeypatch, "host-b")
    bee = agents.register_agent(created.fleet.id, "bee", "on B", pane=HOST_B_PANE)
    return created, bee


def _send(fleet_id: int, sender: int, to: int, text: str) -> int:
    from cafleet.broker.messages import send_message

    return send_message(fleet_id, sender, str(to), text).id


def test_each_host_sees_only_the_notices_for_its_own_panes(db, monkeypatch):
    created, bee = _fleet_on_two_hosts(monkeypatch)
    to_bee = _send(created.fleet.id, created.director.id, bee.id, "for B")
    to_director = _send(created.fleet.id, bee.id, created.director.id, "for A")
    as_host(monkeypatch, "host-a")
    assert [job.task_id for job in notifications.due_notices()] == [to_director]
    assert [head.task_id for head in notifications.due_heads()] == [to_director]
    assert notifications.notices_due_here()
    as_host(monkeypatch, "host-b")
    assert [job.task_id for job in notifications.due_notices()] == [to_bee]
    assert [head.task_id for head in notifications.due_heads()] == [to_bee]
    assert notifications.claim(to_bee, "4242 b") and notifications.settle(to_bee, "4242 b", "delivered")
    assert not notifications.notices_due_here()
    as_host(monkeypatch, "host-c")
    assert notifications.due_notices() == [] and notifications.due_heads() == []
    assert not notifications.notices_due_here()


def test_a_host_whose_tmux_is_gone_settles_only_its_own_notices(db, monkeypatch):
    created, bee = _fleet_on_two_hosts(monkeypatch)
    to_bee = _send(created.fleet.id, created.director.id, bee.id, "for B")
    to_director = _send(created.fleet.id, bee.id, created.director.id, "for A")
    as_host(monkeypatch, "host-a")
    both_servers = {FAKE_PANE.tmux_socket, HOST_B_PANE.tmux_socket}
    assert notifications.settle_unreachable(both_servers) == 1
    assert Task.get_by_id(to_director).notify_status == "skipped:tmux-server-gone"
    assert Task.get_by_id(to_bee).notify_status == "pending"  # host-b's courier still owes it


def test_the_state_watcher_the_courier_and_pane_identity_see_only_this_hosts_panes(db, monkeypatch):
    created, bee = _fleet_on_two_hosts(monkeypatch)
    as_host(monkeypatch, "host-a")
    assert [w.agent_id for w in agent_states.watched_agents()] == [created.director.id]
    assert notifications.live_pane_sockets() == {FAKE_PANE.tmux_socket}
    # Socket paths and pane ids repeat on every machine: %7 of this socket on host-a is nobody.
    assert agents_in_pane(EnvPane(FAKE_PANE.tmux_socket, FAKE_PANE.tmux_server_pid, "%7")) == []
    as_host(monkeypatch, "host-b")
    assert [w.agent_id for w in agent_states.watched_agents()] == [bee.id]
    assert [a.agent_id for a in agents_in_pane(EnvPane(FAKE_PANE.tmux_socket, FAKE_PANE.tmux_server_pid, "%7"))] == [bee.id]
    assert agents_in_pane(EnvPane(FAKE_PANE.tmux_socket, FAKE_PANE.tmux_server_pid, "%1")) == []


def test_placements_from_before_hosts_were_recorded_belong_to_every_host(db, monkeypatch):
    created = fleets.create_fleet(FAKE_PANE)
    Placement.update(host=None).execute()  # as migration 8 left them
    as_host(monkeypatch, "anywhere")
    assert [w.agent_id for w in agent_states.watched_agents()] == [created.director.id]
    assert [a.agent_id for a in agents_in_pane(EnvPane(FAKE_PANE.tmux_socket, FAKE_PANE.tmux_server_pid, "%1"))] == [
        created.director.id
    ]


def test_spawn_recovery_only_reaps_this_hosts_pending_members(db, monkeypatch):
    as_host(monkeypatch, "host-a")
    created = fleets.create_fleet(FAKE_PANE)
    pending = members.register_member(created.fleet.id, created.director.id, "ana", "helps", "claude")
    assert [s.member_id for s in members.pending_spawns()] == [pending.id]
    as_host(monkeypatch, "host-b")
    assert members.pending_spawns() == [] and members.pending_spawn_of(pending.id) is None


def test_a_courier_checks_in_stamps_and_checks_out(db):
    couriers.stamp("host-a", 4242, "2026-11-26T05:00:00.000000Z")
    couriers.stamp("host-b", 5151, "2026-11-26T05:00:01.000000Z")
    couriers.stamp("host-a", 4242, "2026-11-26T05:00:00.000000Z")  # a later round: the same row
    rows = couriers.couriers()
    assert [(c.host, c.pid, c.started_at, c.alive) for c in rows] == [
        ("host-a", 4242, "2026-11-26T05:00:00.000000Z", True),
        ("host-b", 5151, "2026-11-26T05:00:01.000000Z", True),
    ]
    later = parse_stamp(rows[0].seen_at) + timedelta(seconds=couriers.ALIVE_WITHIN_SECONDS + 1)
    assert [c.alive for c in couriers.couriers(now=later)] == [False, False]  # killed couriers stop stamping
    couriers.check_out("host-b", 9999)  # not its courier any more: a successor's row stays
    couriers.check_out("host-a", 4242)
    assert [c.host for c in couriers.couriers()] == ["host-b"]


def test_nothing_is_typed_into_a_pane_of_another_host(db, monkeypatch):
    from cafleet.panes import keystrokes
    from cafleet.panes.safety import target_problem
    from cafleet.panes.tmux import Tmux

    created, bee = _fleet_on_two_hosts(monkeypatch)
    as_host(monkeypatch, "host-a")
    placement = bee.placement
    assert target_problem(placement, None, None) == "other-host"
    tmux = Tmux("/nonexistent/socket")  # never asked: the host is checked first
    for outcome in (
        keystrokes.submit(tmux, placement, "hello"),
        keystrokes.type_line(tmux, placement, "/exit"),
        keystrokes.press(tmux, placement, ["1"]),
    ):
        assert (outcome.status, outcome.final, outcome.delivered) == ("skipped:other-host", True, False)


def test_the_commands_that_start_a_hosts_courier_are_the_ones_the_multi_host_guide_names():
    """docs/multi-host.md lists the commands that start this host's courier: exactly those
    marked `keeps_courier` (each named once, by its last word, in that paragraph)."""
    import re

    import click

    from cafleet.cli import cli
    from tests.support import REPO

    def walk(group: click.Group, path: str):
        for name in group.list_commands(click.Context(group)):
            command = group.get_command(click.Context(group), name)
            if isinstance(command, click.Group):
                yield from walk(command, f"{path}{name} ")
            else:
                yield f"{path}{name}", command

    keeping = sorted(path for path, command in walk(cli, "") if getattr(command, "keeps_courier", False))
    assert keeping == [
        "agent register",
        "fleet create",
        "fleet restore",
        "member create",
        "member restart",
        "message ack",
        "message broadcast",
        "message cancel",
        "message poll",
        "message send",
        "message show",
        "whoami",
    ]
    guide = (REPO / "docs" / "multi-host.md").read_text()
    paragraph = guide[guide.index("Every host where a fleet has panes needs its own courier") :].split("\n\n")[0]
    named = re.findall(r"`([a-z ]+)`", paragraph.split("; so do", 1)[0])  # the rest: long-running faces
    assert {name.split()[-1] for name in named} == {path.split()[-1] for path in keeping} | {"doctor"}
    assert {"fleet create", "agent register", "member create", "message send", "whoami", "doctor"} <= set(named)
