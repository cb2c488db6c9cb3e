"""Each backend's screen reader on screens captured from the real agents (see
tests/fixtures/screens/<backend>/; captured with `tmux capture-pane -p -J -S -200`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cafleet.backends import BACKENDS
from cafleet.core.agent_state import TYPEABLE, AgentState

SCREENS = Path(__file__).parent / "fixtures" / "screens"

# What a person sees on each captured screen.
EXPECTED = {
    "claude/starting": "starting",
    "claude/starting-direct": "starting",
    "claude/ready": "ready",
    "claude/ready-after-turns": "ready",
    "claude/ready-manual-mode": "ready",
    "claude/after-approving-1": "ready",
    "claude/asking-answered-4": "ready",
    "claude/draft-cleared-with-ctrl-u": "ready",
    "claude/busy": "busy",
    "claude/busy-queued": "busy",
    "claude/busy-tool-running": "busy",
    "claude/draft": "draft",
    "claude/asking": "asking",
    "claude/asking-cafleet": "asking",
    "codex/starting": "starting",
    "codex/ready": "ready",
    "codex/busy": "busy",
    "codex/busy-queued": "busy",
    "codex/busy-steered": "busy",
    "codex/busy-draft": "draft",
    "codex/draft": "draft",
    "codex/asking": "asking",
    "opencode/starting": "starting",
    "opencode/starting-home": "starting",
    "opencode/ready": "ready",
    "opencode/after-notice": "ready",
    "opencode/busy": "busy",
    "opencode/busy-queued": "busy",
    "opencode/draft": "draft",
    "opencode/exit-typed": "draft",
    "opencode/asking": "asking",
    "opencode/asking-bash": "asking",
}
EXITED = ["claude/exited", "claude/exited-direct", "codex/exited", "codex/exited-shell", "codex/exited-daemon", "opencode/exited"]


def read(name: str):
    backend = name.split("/")[0]
    return BACKENDS[backend].read_screen((SCREENS / f"{name}.txt").read_text().split("\n"))


def test_every_fixture_has_an_expectation():
    on_disk = {f"{p.parent.name}/{p.stem}" for p in SCREENS.glob("*/*.txt")}
    assert on_disk == set(EXPECTED) | set(EXITED)


@pytest.mark.parametrize("name, state", sorted(EXPECTED.items()))
def test_screen_state(name, state):
    assert read(name).state == AgentState(state)


@pytest.mark.parametrize("name", EXITED)
def test_an_exited_agents_last_screen_is_never_typeable(name):
    # The process check says `exited` first; the screen alone must not invite typing either.
    assert read(name).state not in TYPEABLE


@pytest.mark.parametrize(
    "name, words",
    [
        ("claude/asking", "Do you want to proceed?"),
        ("codex/asking", "$ rm -rf"),
        ("opencode/asking-bash", "$ /tmp/ocx/fakecafleet --fleet-id 7 message ack"),
    ],
)
def test_a_question_carries_its_text(name, words):
    assert words in read(name).question


@pytest.mark.parametrize(
    "name, draft",
    [
        ("claude/draft", "a human draft, not sent yet"),
        ("codex/draft", "a human draft, not submitted"),
        ("opencode/draft", "a human draft, not sent yet"),
    ],
)
def test_a_draft_carries_its_text(name, draft):
    assert read(name).draft == draft
