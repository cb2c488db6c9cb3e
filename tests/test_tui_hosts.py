"""The fleet view across machines: each placed agent's host in the roster (only when the fleet
spans more than one), and the warning for a host whose notices wait without a courier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cafleet.core.timestamps import to_stamp
from tests.tui_support import add_member, build_story, courier_seen, place_on_host, settle, spread_over_two_hosts
from tests.waiting import until


@pytest.fixture(autouse=True)
def no_courier_start(monkeypatch):
    """There is no tmux here: the TUI would settle every notice for the panes it cannot reach."""
    monkeypatch.setattr("cafleet.services.courier_launcher.ensure_courier", lambda always=False: False)


def make_app(fleet_id):
    from cafleet.screens.app import build_app

    return build_app(fleet_id, watch_changes=False)


def seconds_from_now(seconds: float) -> str:
    return to_stamp(datetime.now(UTC) + timedelta(seconds=seconds))


def roster_lines(app) -> dict[str, list[str]]:
    """Agent name -> the lines of its roster entry."""
    from cafleet.screens.roster import RosterView

    roster = app.screen.query_one(RosterView)
    entries = [str(roster.get_option_at_index(i).prompt).split("\n") for i in range(roster.option_count)]
    return {lines[0].split("#")[0].lstrip("…○◐⚠✎✗▣ "): lines for lines in entries}


def warning(app) -> str | None:
    """The courier warning as shown, None while it is hidden."""
    from textual.widgets import Static

    shown = app.screen.query_one("#courier-warning", Static)
    return str(shown.render()) if shown.display else None


async def test_each_placed_agent_shows_its_host_when_the_fleet_spans_two(db):
    story = build_story()
    coder = add_member(story)
    spread_over_two_hosts(story, coder)
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        lines = roster_lines(app)
        assert lines["director"][-1] == "  on host-a"
        assert lines["coder"][-1] == "  on host-a"
        assert lines["alice"][-1] == lines["bob"][-1] == "  on host-b ⚠"  # its notices are stuck
        assert not any("on host" in line for line in lines["Administrator"])  # no pane, no host


async def test_a_fleet_on_one_machine_shows_no_host(db):
    story = build_story()
    coder = add_member(story)
    place_on_host(story.director_id, "host-a", "%1")
    place_on_host(coder, "host-a", "%7")
    courier_seen("host-a", seconds_from_now(60))
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not any("on host" in line for lines in roster_lines(app).values() for line in lines)
        assert warning(app) is None


async def test_stuck_notices_are_stated_with_where_to_start_a_courier(db):
    story = build_story()
    spread_over_two_hosts(story, add_member(story))
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert warning(app) == (
            "⚠ host-b: no courier, 2 notices waiting since 2026-11-20 09:00:06 UTC. "
            "Run `cafleet ui`, or any send or poll, on host-b."
        )


async def test_no_warning_while_the_hosts_courier_is_alive(db):
    story = build_story()
    spread_over_two_hosts(story, add_member(story))
    courier_seen("host-b", seconds_from_now(60))  # ahead: alive however slowly this test runs
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert warning(app) is None
        assert roster_lines(app)["alice"][-1] == "  on host-b"


async def test_the_warning_comes_once_notices_have_waited_and_goes_with_the_courier(db, monkeypatch):
    """Nothing commits while notices sit waiting: the view reads the hosts again by itself."""
    from cafleet.store.models import Task

    monkeypatch.setattr("cafleet.screens.fleet_view.HOSTS_RECHECK_SECONDS", 0.2)
    story = build_story()
    spread_over_two_hosts(story, add_member(story))
    Task.update(created_at=seconds_from_now(-5)).where(Task.notify_status == "pending").execute()
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert warning(app) is None  # sent moments ago: a courier may be on its way
        await until(pilot, lambda: warning(app) is not None, "the notices to count as stuck", timeout=15)
        courier_seen("host-b", seconds_from_now(60))
        await until(pilot, lambda: warning(app) is None, "the warning to go", timeout=5)


@pytest.mark.parametrize(
    "stored, courier, warned",
    [(-1, None, False), (-60, None, True), (-60, "this-machine", False)],
    ids=["just-sent", "stuck", "courier-alive"],
)
async def test_a_single_machine_warns_only_when_its_notices_are_stuck(db, stored, courier, warned):
    """Placements from before hosts were recorded (host NULL): any live courier serves them."""
    from cafleet.store.models import Task

    story = build_story(notices_settled=False)
    place_on_host(story.director_id, None, "%1")
    Task.update(created_at=seconds_from_now(stored)).where(Task.notify_status == "pending").execute()
    if courier is not None:
        courier_seen(courier, seconds_from_now(60))
    app = make_app(story.fleet_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not any("on host" in line for lines in roster_lines(app).values() for line in lines)
        shown = warning(app)
        assert (shown is not None) == warned
        if warned:
            assert shown.startswith("⚠ No courier: 1 notice waiting since ")
            assert shown.endswith("Run `cafleet ui`, or any send or poll, where the agents' tmux runs.")


def test_hosts_go_by_their_first_label_where_that_is_unique():
    from cafleet.screens.hosts import short_names

    assert short_names({"build-3.lab.example.com", "gpu.lab.example.com", "gpu.cloud.example.com", "10.0.0.5"}) == {
        "build-3.lab.example.com": "build-3",
        "gpu.lab.example.com": "gpu.lab.example.com",
        "gpu.cloud.example.com": "gpu.cloud.example.com",
        "10.0.0.5": "10.0.0.5",
    }


def test_a_long_host_is_cut_in_the_middle_to_fit_the_roster():
    from cafleet.broker.hosts_view import FleetHosts, HostState
    from cafleet.screens.hosts import HostMark, roster_hosts
    from cafleet.screens.render import ROSTER_TEXT_WIDTH, host_line

    hosts = FleetHosts(
        agent_hosts={1: "ip-172-31-20-145-and-more", 2: "host-a", 3: None},
        hosts=(
            HostState(None, False, 0, None),
            HostState("host-a", False, 0, None),
            HostState("ip-172-31-20-145-and-more", False, 2, "2026-11-21T09:00:00.000000Z"),
        ),
        read_at="2026-11-21T12:00:00.000000Z",
    )
    marks = roster_hosts(hosts)
    assert marks == {1: HostMark("ip-172…nd-more", True), 2: HostMark("host-a", False), 3: HostMark("host unknown", False)}
    assert host_line(marks[1]).cell_len == ROSTER_TEXT_WIDTH


def test_a_host_name_cannot_reach_the_terminal():
    from cafleet.broker.hosts_view import FleetHosts, HostState
    from cafleet.screens.hosts import courier_warning, roster_hosts

    evil = "b\x1b[2J[bold]"
    hosts = FleetHosts(
        agent_hosts={1: evil, 2: "host-a"},
        hosts=(HostState("host-a", True, 0, None), HostState(evil, False, 1, "2026-11-21T11:00:00.000000Z")),
        read_at="2026-11-21T12:00:00.000000Z",
    )
    shown = courier_warning(hosts).plain
    assert "\x1b" not in shown and shown.startswith("⚠ b\\x1b[2J[bold]: no courier, 1 notice waiting since 11:00:00 UTC.")
    assert "\x1b" not in roster_hosts(hosts)[1].label
