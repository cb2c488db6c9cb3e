"""The TUI's usage: a line per member in the roster (tokens, cost, context fill) and a Usage
section in its agent detail, from the files the real agents wrote (tests/fixtures/usage);
snapshots at 80×24 and 200×50 (baselines in snapshots/test_tui_usage/)."""

from __future__ import annotations

import pytest

from cafleet.backends.usage import forget
from cafleet.core.records import SessionRecord
from tests.test_tui_snapshots import app_for, open_agent, until_loaded
from tests.tui_support import build_story, freeze_times
from tests.usage_support import install


@pytest.fixture(params=[(80, 24), (200, 50)], ids=["80x24", "200x50"])
def size(request) -> tuple[int, int]:
    return request.param


@pytest.fixture
def spending(db, tmp_path, monkeypatch):
    """The story's fleet with three members: claude with a price and a budget it passed, pi of a
    model with no price, and codex whose conversation is not saved yet."""
    from cafleet.broker.members import attach_pane, register_member

    config = tmp_path / "config"
    (config / "cafleet").mkdir(parents=True)
    (config / "cafleet" / "prices.toml").write_text(
        '[models."claude-opus-5-5"]\ninput = 5.0\ncached_input = 0.5\noutput = 25.0\ncontext_window = 200000\n'
    )
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    forget()
    story = build_story()
    members = {}
    for name, backend, budget, pane in (
        ("coder", "claude", 50_000, "%7"),
        ("tester", "pi", None, "%8"),
        ("fixer", "codex", 10**6, "%9"),
    ):
        member = register_member(story.fleet_id, story.director_id, name, "Implements the steps", backend, budget=budget)
        installed = install(backend, tmp_path / name)
        if backend == "codex":
            installed.path.unlink()  # not saved yet
        session = SessionRecord(
            member.id, installed.session_id, "m", str(tmp_path), "2026-12-07T05:09:00.000000Z", f"/opt/{backend}",
            installed.environment, "p", None, {},
        )  # fmt: skip
        attach_pane(member.id, pane, session=session)
        members[name] = member.id
    freeze_times()
    yield story, members
    forget()


def test_the_roster_shows_each_members_tokens_cost_and_context(spending, snap_compare, size):
    story, _ = spending

    async def run(pilot):
        await until_loaded(pilot, lambda screen: len(screen.query_one("#roster")._usage) == 2)

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)


@pytest.mark.parametrize("member", ["coder", "tester", "fixer"])
def test_the_agent_detail_shows_the_usage_the_context_and_the_budget(spending, snap_compare, size, member):
    story, members = spending

    async def run(pilot):
        await open_agent(pilot, story.fleet_id, members[member])
        await until_loaded(pilot, lambda screen: screen.query_one("#agent-usage").has_class("visible"))

    assert snap_compare(app_for(story.fleet_id), terminal_size=size, run_before=run)


def test_the_roster_line_in_text():
    from cafleet.screens.usage_marks import UsageMark, tokens_short, usage_line

    assert [tokens_short(n) for n in (950, 12_345, 123_456, 4_560_000, 123_000_000)] == ["950", "12.3k", "123k", "4.56M", "123M"]
    assert usage_line(UsageMark(64_010, 0.2131, 10.6, 80.0)).plain == "64.0k tok $0.21 11%"
    assert usage_line(UsageMark(64_010, None, None, None)).plain == "64.0k tok $? ?%"
