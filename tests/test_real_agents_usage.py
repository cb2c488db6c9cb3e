"""Usage read from the real agents' own files (marker `realagents`), one spawn per agent.

A real member of each kind, created with a token budget, answers a message from the scripted
loopback model, whose every answer reports known, distinct token counts
(`tests.realagents.script.usage_of`). `member list --usage` must then show exactly the sums of
what the model reported to that member's agent (its turns: the requests offering its tools),
the latest answer's prompt as its context, the cost at the price the user's prices.toml gives
the model, and the Director must have been told of 80 % and of 100 % of the budget once each.
Set CAFLEET_CAPTURE_USAGE_FILES to a directory to keep the agents' files there (that is how
tests/fixtures/usage was made).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cafleet.core.usage import Tokens, sum_tokens
from tests.realagents.harness import FIRST_TURN_S, ROUTES, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.support import cafleet_command
from tests.test_real_agents import create_fleet, create_worker, fleet_json, real_agents, send, under_test  # noqa: F401
from tests.usage_support import MODELS

pytestmark = pytest.mark.realagents
CAPTURE = os.environ.get("CAFLEET_CAPTURE_USAGE_FILES")
AGENT_STATE = (
    ".claude/projects",
    ".codex/sessions",
    ".local/share/opencode",
    ".gemini/tmp",
    ".qwen/projects",
    ".pi/agent/sessions",
)
# Small enough that the spawn prompt's turn and one message's pass it whatever the agent.
BUDGET = 50_000
PRICE = (3.0, 0.3, 15.0, 200_000)  # input, cached input, output per million; context window


@pytest.mark.parametrize("backend", under_test(["claude", "codex", "opencode", "gemini", "qwen", "pi"]))
def test_member_list_usage_shows_what_the_model_reported_and_the_budget_is_told_once(real_agents, tmp_path, backend):
    cafleet = cafleet_command()[0]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet)
        try:
            prices = Path(field.env.get("XDG_CONFIG_HOME") or field.home / ".config") / "cafleet" / "prices.toml"
            prices.parent.mkdir(parents=True, exist_ok=True)
            prices.write_text(
                f'[models."{MODELS[backend]}"]\ninput = {PRICE[0]}\ncached_input = {PRICE[1]}\n'
                f"output = {PRICE[2]}\ncontext_window = {PRICE[3]}\n"
            )
            fleet, director = create_fleet(field, cafleet, backend)
            member, _ = create_worker(field, cafleet, fleet, director, backend, "--budget", str(BUDGET))

            def cli(*args):
                return fleet_json(cafleet, field, fleet, *args)

            task = send(cafleet, field, fleet, director, "hello there")
            wait_until(
                lambda: cli("message", "show", "--agent-id", str(director), "--task-id", str(task))["state"] == "completed",
                FIRST_TURN_S,
                "the answer",
            )

            def reported() -> list[Tokens]:
                return [Tokens(*r.usage) for r in server.requests if r.usage and r.tools]  # only the member talks to the model

            def shown() -> dict:
                (row,) = cli("member", "list", "--agent-id", str(director), "--usage", "--activity")
                return row

            def settled():
                row = shown()
                total = sum_tokens(reported())
                counts = {"input": total.fresh, "cached": total.cached, "output": total.output, "total": total.total}
                return row if row["activity"]["state"] == "ready" and row["usage"]["tokens"] == counts else None

            row = wait_until(settled, 90, f"{backend}'s files to show every answer the model gave it")
            answers = reported()
            total, last = sum_tokens(answers), answers[-1]
            cost = (total.fresh * PRICE[0] + total.cached * PRICE[1] + total.output * PRICE[2]) / 1e6
            window = 258_400 if backend == "codex" else PRICE[3]  # codex's own file says the window it works with
            assert row["usage"]["answers"] == len(answers)
            assert row["usage"]["model"] == MODELS[backend]
            assert row["usage"]["cost_usd"] == round(cost, 6)
            assert row["usage"]["context"] == {
                "used": last.prompt,
                "window": window,
                "percent": round(100 * last.prompt / window, 1),
            }
            assert total.total > BUDGET

            def budget_messages() -> list[str]:
                inbox = cli("message", "poll", "--agent-id", str(director), "--all", "--full")
                return [t["text"] for t in inbox if t["from_agent_id"] == member and t["text"].startswith("[budget]")]

            told = wait_until(
                lambda: len(budget_messages()) >= 2 and budget_messages(), 30, "the Director to be told of the budget"
            )
            assert len([t for t in told if "nothing was stopped" in t]) == 1, told
            assert len([t for t in told if "nothing was stopped" not in t]) == 1, told
            # Another turn: its answers add up, and the Director is told nothing more.
            again = send(cafleet, field, fleet, director, "and again")
            wait_until(
                lambda: cli("message", "show", "--agent-id", str(director), "--task-id", str(again))["state"] == "completed",
                180,
                "the second answer",
            )
            wait_until(settled, 90, "the second turn's answers in the files")
            assert budget_messages() == told
            if CAPTURE:
                target = Path(CAPTURE) / backend
                for part in AGENT_STATE:
                    if (field.home / part).exists():
                        shutil.copytree(
                            field.home / part, target / part, dirs_exist_ok=True, ignore=shutil.ignore_patterns("node_modules")
                        )
                shutil.copy(tmp_path / "model.jsonl", target / "model.jsonl")
        finally:
            stop_field(field)
