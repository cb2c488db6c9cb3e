"""Prices, `member list --usage`, `fleet usage`, `member create --budget` and the budget check,
over the files the real agents wrote (tests/fixtures/usage) and a real database."""

from __future__ import annotations

import pytest

from cafleet.backends.usage import forget
from cafleet.core.budget import Threshold
from cafleet.core.errors import InvalidInput
from cafleet.core.prices import BUILT_IN, load_prices
from cafleet.core.records import SessionRecord
from cafleet.core.usage import Answer, MemberUsage, Tokens, sum_tokens
from tests.support import FAKE_PANE
from tests.usage_support import MODELS, install, model_answers


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    forget()
    yield tmp_path / "config" / "cafleet"
    forget()


def write_prices(config_home, text: str) -> None:
    config_home.mkdir(parents=True, exist_ok=True)
    (config_home / "prices.toml").write_text(text)


# -- prices -------------------------------------------------------------------------------------


def test_a_dated_model_id_takes_the_price_of_its_family():
    prices = load_prices()
    assert prices.price("claude-sonnet-4-5-20250929") == BUILT_IN["claude-sonnet-4-5"]
    assert prices.price("anthropic/claude-haiku-4-5") == BUILT_IN["claude-haiku-4-5"]
    assert prices.price("gpt-5-mini") == BUILT_IN["gpt-5-mini"]  # its own entry, not gpt-5's
    assert prices.price("loop") is None and prices.price(None) is None


def test_cost_counts_cached_input_at_its_own_price_and_an_unknown_model_makes_it_unknown(config_home):
    write_prices(
        config_home, '[models."claude-opus-5-5"]\ninput = 2.0\ncached_input = 0.5\noutput = 10.0\ncontext_window = 100000\n'
    )
    prices = load_prices()
    known = MemberUsage((Answer(1.0, "claude-opus-5-5", Tokens(1_000_000, 2_000_000, 100_000)),))
    assert prices.cost(known) == pytest.approx(2.0 + 1.0 + 1.0)
    assert prices.context_window(known) == 100_000
    mixed = MemberUsage((*known.answers, Answer(2.0, "loop", Tokens(1, 1, 1))))
    assert prices.cost(mixed) is None
    assert prices.cost(mixed, since=1.5) is None
    assert prices.cost(mixed, since=3.0) == 0.0


def test_the_users_file_overrides_part_of_a_built_in_price(config_home):
    write_prices(config_home, '[models."gpt-5"]\noutput = 12.5\n')
    price = load_prices().price("gpt-5")
    assert price is not None and price.output == 12.5 and price.input == BUILT_IN["gpt-5"].input


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[models."x"]\ninput = "cheap"\noutput = 1\n', "input = 'cheap' is not a number of dollars"),
        ('[models."x"]\ninput = -1\noutput = 1\n', "input = -1 is not"),
        ('[models."x"]\ninput = 1\noutput = 1\ncontext_window = 1.5\n', "context_window = 1.5 is not a whole number"),
        ('[models."x"]\ninput = 1\n', "needs input and output"),
        ('[models."x"]\ninput = 1\noutput = 1\nprice = 3\n', "unknown key 'price'"),
        ("[prices]\n", "only [models"),
        ("[models\n", "cannot read the price file"),
    ],
)
def test_a_bad_price_file_is_refused_naming_the_file_and_the_value(config_home, text, said):
    write_prices(config_home, text)
    with pytest.raises(InvalidInput) as refused:
        load_prices()
    assert said in str(refused.value) and str(config_home / "prices.toml") in str(refused.value)


# -- the CLI over a member whose agent saved its conversation -----------------------------------


def _member(tmp_path, backend: str, budget: int | None = None):
    """A fleet whose member `worker` ran `backend` and saved the captured conversation."""
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.members import attach_pane, register_member

    created = create_fleet(FAKE_PANE, label="usage")
    fleet_id, director_id = created.fleet.id, created.director.id
    member = register_member(fleet_id, director_id, "worker", "works", backend, budget=budget)
    installed = install(backend, tmp_path / "agent-home")
    session = SessionRecord(
        agent_id=member.id,
        session_id=installed.session_id,
        marker="m",
        cwd=str(tmp_path),
        started_at="2026-12-07T05:09:00.000000Z",
        executable=f"/opt/agents/{backend}",
        state_environment=installed.environment,
        prompt="p",
        model=None,
        autonomy={},
    )
    attach_pane(member.id, "%7", session=session)
    return fleet_id, director_id, member.id, installed


@pytest.mark.parametrize("backend", ["claude", "codex", "opencode", "gemini", "qwen", "pi"])
def test_member_list_usage_shows_the_models_counts_cost_and_context(db, cli, tmp_path, config_home, backend):
    answers = model_answers(backend)
    total = sum_tokens(answers)
    write_prices(
        config_home, f'[models."{MODELS[backend]}"]\ninput = 3.0\ncached_input = 0.3\noutput = 15.0\ncontext_window = 200000\n'
    )
    fleet_id, director_id, member_id, _ = _member(tmp_path, backend, budget=1_000_000)
    listed = cli("--json", "--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage")
    assert listed.code == 0, listed.err
    (row,) = listed.json()
    cost = (total.fresh * 3.0 + total.cached * 0.3 + total.output * 15.0) / 1e6
    context = answers[-1].fresh + answers[-1].cached
    window = 258_400 if backend == "codex" else 200_000  # codex's own file says its window
    assert row["usage"] == {
        "model": MODELS[backend],
        "answers": len(answers),
        "tokens": {"input": total.fresh, "cached": total.cached, "output": total.output, "total": total.total},
        "cost_usd": round(cost, 6),
        "context": {"used": context, "window": window, "percent": round(100 * context / window, 1)},
        "budget": {"tokens": 1_000_000, "percent": round(100 * total.total / 1_000_000, 1)},
    }
    text = cli("--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage")
    assert text.code == 0, text.err
    assert f"usage: in {total.fresh:,} · out {total.output:,} · cached {total.cached:,} · ${cost:,.2f}" in text.out
    assert f"context {context:,}/{window:,} {100 * context / window:.0f} %" in text.out


def test_an_unknown_model_shows_its_tokens_and_an_unknown_cost(db, cli, tmp_path):
    fleet_id, director_id, _, _ = _member(tmp_path, "pi")
    total = sum_tokens(model_answers("pi"))
    (row,) = cli("--json", "--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage").json()
    assert row["usage"]["tokens"]["total"] == total.total
    assert row["usage"]["cost_usd"] is None and row["usage"]["context"]["window"] is None
    text = cli("--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage").out
    assert "· $? · context 21,033 (window ?) · loop" in text


def test_a_member_whose_file_vanished_shows_none_recorded(db, cli, tmp_path):
    fleet_id, director_id, _, installed = _member(tmp_path, "claude")
    installed.path.unlink()
    (row,) = cli("--json", "--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage").json()
    assert row["usage"]["answers"] == 0 and row["usage"]["model"] is None
    assert "usage: none recorded yet" in cli("--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage").out


def test_a_bad_price_file_is_an_error_and_plain_member_list_still_works(db, cli, tmp_path, config_home):
    fleet_id, director_id, _, _ = _member(tmp_path, "pi")
    write_prices(config_home, "[models\n")
    refused = cli("--fleet-id", fleet_id, "member", "list", "--agent-id", director_id, "--usage")
    assert refused.code != 0 and refused.err.startswith("Error: cannot read the price file") and "Traceback" not in refused.err
    assert cli("--fleet-id", fleet_id, "member", "list", "--agent-id", director_id).code == 0


def test_fleet_usage_totals_members_and_periods(db, cli, tmp_path):
    fleet_id, _, member_id, _ = _member(tmp_path, "pi")
    answers = model_answers("pi")
    total = sum_tokens(answers)
    shown = cli("--json", "fleet", "usage", fleet_id).json()
    tokens = {"input": total.fresh, "cached": total.cached, "output": total.output, "total": total.total}
    assert [(m["agent_id"], m["tokens"], m["answers"]) for m in shown["members"]] == [(member_id, tokens, 3)]
    assert shown["total"] == {"tokens": tokens, "cost_usd": None}
    assert shown["periods"] == [{"start": "2026-12-07T05:00Z", "answers": 3, "tokens": tokens, "cost_usd": None}]
    by_day = cli("--json", "fleet", "usage", fleet_id, "--by", "day").json()
    assert [p["start"] for p in by_day["periods"]] == ["2026-12-07"]
    later = cli("--json", "fleet", "usage", fleet_id, "--since", "2026-12-07T05:10:06.300Z").json()
    last_two = sum_tokens(answers[1:])
    assert later["total"]["tokens"]["total"] == last_two.total
    text = cli("fleet", "usage", fleet_id).out
    (total_line,) = [line for line in text.splitlines() if line.lstrip().startswith("total")]
    assert total_line.split() == ["total", *f"in {total.fresh:,} · out {total.output:,} · cached {total.cached:,} · $?".split()]
    assert "2026-12-07T05:00Z" in text


@pytest.mark.parametrize("since", ["yesterday", "5x", ""])
def test_fleet_usage_refuses_a_since_it_cannot_read(db, cli, tmp_path, since):
    fleet_id, _, _, _ = _member(tmp_path, "pi")
    refused = cli("fleet", "usage", fleet_id, "--since", since)
    assert refused.code in (1, 2) and refused.err.startswith("Error:") and "90m" in refused.err


@pytest.mark.parametrize("budget", ["0", "-5", "lots", "1000000000001"])
def test_member_create_refuses_a_budget_that_is_not_a_count_of_tokens(db, cli, fleet, budget):
    refused = cli(
        "--fleet-id", fleet.fleet_id, "member", "create", "--agent-id", fleet.director_id,
        "--name", "w", "--description", "d", "--budget", budget,
    )  # fmt: skip
    assert refused.code == 2 and "--budget" in refused.err and "Traceback" not in refused.err
    from cafleet.broker.agents import list_agents

    assert "w" not in [a.name for a in list_agents(fleet.fleet_id, fleet.director_id, include_deregistered=True)]


# -- budgets ------------------------------------------------------------------------------------


def test_crossing_80_and_100_percent_tells_the_director_once_each(db, tmp_path):
    from cafleet.broker.inbox import poll_inbox
    from cafleet.panes.budget_watch import BudgetWatch

    answers = model_answers("pi")
    budget = answers[0].total * 100 // 90  # the first answer is 90 % of it, the second passes 100 %
    fleet_id, director_id, member_id, installed = _member(tmp_path, "pi", budget=budget)
    lines = installed.path.read_bytes().splitlines(keepends=True)
    second = [i for i, line in enumerate(lines) if b'"usage"' in line][1]
    installed.path.write_bytes(b"".join(lines[:second]))
    watch = BudgetWatch()

    def budget_messages() -> list[str]:
        return [t.text for t in poll_inbox(fleet_id, director_id, include_read=True).tasks if t.text.startswith("[budget]")]

    assert [c.threshold for c in watch.look()] == [Threshold.WARNED]
    assert watch.look() == [] and BudgetWatch().look() == []  # recorded: never again, whoever looks
    (warned,) = budget_messages()
    assert f"worker#{member_id} (pi) has used {answers[0].total:,} of its {budget:,}-token budget (90 %)" in warned
    assert "nothing was stopped" not in warned

    installed.path.write_bytes(b"".join(lines))
    assert [c.threshold for c in watch.look()] == [Threshold.EXHAUSTED]
    assert watch.look() == []
    warned_again, exhausted = budget_messages()
    assert warned_again == warned
    assert "nothing was stopped" in exhausted and f"member delete --agent-id {director_id} --member-id {member_id}" in exhausted


def test_a_member_far_past_its_budget_at_the_first_look_gets_both_messages_once(db, tmp_path):
    from cafleet.broker.inbox import poll_inbox
    from cafleet.panes.budget_watch import BudgetWatch

    fleet_id, director_id, _, _ = _member(tmp_path, "claude", budget=1000)
    assert [c.threshold for c in BudgetWatch().look()] == [Threshold.WARNED, Threshold.EXHAUSTED]
    assert BudgetWatch().look() == []
    texts = [t.text for t in poll_inbox(fleet_id, director_id, include_read=True).tasks]
    assert len([t for t in texts if t.startswith("[budget]")]) == 2
    # The human's notifiers get one event per threshold too, recorded with the message.
    from cafleet.store.models import NotifyEventRow

    events = NotifyEventRow.select().where(NotifyEventRow.kind == "budget").order_by(NotifyEventRow.id)
    assert [e.title.split(" used ")[1].split(" %")[0] for e in events] == ["80", "100"]


def test_fleet_usage_counts_a_deleted_member_by_the_agent_that_ran_it(db, cli, tmp_path):
    from cafleet.broker.members import retire_member

    fleet_id, director_id, member_id, _ = _member(tmp_path, "gemini")
    retire_member(fleet_id, director_id, member_id)  # its pane and placement are gone; its conversation stays
    total = sum_tokens(model_answers("gemini"))
    shown = cli("--json", "fleet", "usage", fleet_id).json()
    (member,) = shown["members"]
    assert (member["coding_agent"], member["status"], member["tokens"]["total"]) == ("gemini", "deregistered", total.total)
    assert (
        f"worker#{member_id}" in cli("fleet", "usage", fleet_id).out and "gemini (deleted)" in cli("fleet", "usage", fleet_id).out
    )
