"""Each real agent resumes its saved conversation after a SIGKILL, offline (marker `realagents`).

Two members of one backend start in the same directory within the same second, each with its
own marker in its first prompt; each takes one turn; both are SIGKILLed; the backend's
`find_session` tells their sessions apart (the model saw each marker under exactly that
conversation id) and its resume plan starts the first again, whose next request to the model
still carries its first turn. Set CAFLEET_REAL_AGENT_TIMINGS to a file to collect how long
each resume took.
"""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest

from cafleet.backends import BACKENDS
from tests.realagents.agent_pane import context, kill_agent, probe, start, type_turn, wait_for_state, wait_on_screen
from tests.realagents.harness import ROUTES, SHELL_TOOLS, pane_text, start_field, stop_field, wait_until
from tests.realagents.model_server import ModelServer
from tests.realagents.script import IDLE_TEXT
from tests.support import cafleet_command
from tests.test_real_agents import real_agents  # noqa: F401 (a fixture)

pytestmark = pytest.mark.realagents
TIMINGS = os.environ.get("CAFLEET_REAL_AGENT_TIMINGS")
RUNS = int(os.environ.get("CAFLEET_REAL_AGENT_RUNS", "1"))
# Agents that send the model no session id: the loopback model keys their conversations by
# their first prompt, which a resumed conversation sends again.
KEYED_BY_TEXT = ("gemini", "qwen", "pi")


@pytest.mark.parametrize("run", range(RUNS))
@pytest.mark.parametrize("backend", ["claude", "codex", "opencode", "gemini", "qwen", "pi"])
def test_a_killed_agent_resumes_its_own_conversation(real_agents, tmp_path, backend, run):
    spec = BACKENDS[backend]
    tool = SHELL_TOOLS[backend]
    with ModelServer(ROUTES, log_path=tmp_path / "model.jsonl") as server:
        field = start_field(tmp_path, backend, server, cafleet_command()[0])
        try:
            markers = {name: f"{name}-{uuid.uuid4().hex[:12]}" for name in ("ana", "bo")}
            chosen = {name: spec.chosen_session_id() for name in markers}
            panes = {
                name: start(
                    field,
                    backend,
                    context(field, backend, f"You are {name} ({marker}). Wait for instructions.", session_id=chosen[name]),
                )
                for name, marker in markers.items()
            }

            def turns_with(text):
                return [r for r in server.requests if r.is_agent_turn(tool) and text in r.last_text]

            for name, marker in markers.items():
                wait_on_screen(field, panes[name], lambda m=marker: turns_with(m), 180, f"{name}'s first prompt at the model")
                wait_for_state(field, panes[name], "ready")
            word = f"amber-{uuid.uuid4().hex[:8]}"
            type_turn(field, panes["ana"], f"first turn: remember the word {word}")
            (first,) = wait_on_screen(field, panes["ana"], lambda: turns_with(word), 60, "ana's first turn")
            wait_until(
                lambda: IDLE_TEXT in pane_text(field, panes["ana"].pane_id).rsplit(word, 1)[-1], 60, "the answer on screen"
            )
            wait_for_state(field, panes["ana"], "ready")  # the turn is over: the agent saved it
            for pane in panes.values():
                kill_agent(field, pane)

            found = {name: spec.find_session(probe(field, panes[name], marker)) for name, marker in markers.items()}
            seen = {name: {r.conversation for r in turns_with(marker)} for name, marker in markers.items()}
            assert found["ana"] != found["bo"] and all(found.values()), found
            if backend not in KEYED_BY_TEXT:
                assert seen == {name: {found[name]} for name in markers}  # the id the model saw each marker under
            if chosen["ana"] is not None:
                assert found == chosen

            resumed_at = time.monotonic()
            again = start(field, backend, context(field, backend, "", session_id=found["ana"], resume=True))
            wait_for_state(field, again, "ready")
            ready_s = time.monotonic() - resumed_at
            type_turn(field, again, "second turn: which word did I ask you to remember?")
            (later,) = wait_on_screen(field, again, lambda: turns_with("second turn:"), 60, "the resumed agent's next turn")
            answered_s = time.monotonic() - resumed_at
            assert later.conversation == first.conversation
            assert backend in KEYED_BY_TEXT or later.conversation == found["ana"]
            # it carries turn 1 (gemini's model router sees the history too: only turns count)
            assert [r for r in server.remembers(word, "second turn:") if r.is_agent_turn(tool)] == [later]
            assert not later.carries(markers["bo"])
            if TIMINGS:
                with open(TIMINGS, "a") as out:
                    record = {
                        "backend": backend,
                        "resume_to_ready_s": round(ready_s, 2),
                        "resume_to_next_turn_s": round(answered_s, 2),
                    }
                    out.write(json.dumps(record) + "\n")
        finally:
            stop_field(field)
