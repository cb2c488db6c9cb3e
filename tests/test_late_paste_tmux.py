"""An agent that shows a paste late (gemini at a turn's start) and loses an Enter pressed
before it shows: the notice is submitted once it shows, never typed twice, and never recorded
delivered while it sits in the box.

The stand-in, described by a backend file with `paste_shows_late = true`, holds each paste
back for `--paste-delay` seconds and drops an Enter that lands on its empty box, as gemini
does."""

from __future__ import annotations

import pytest

from cafleet.core.domain import NOTICE_PASTE_NOT_SHOWN
from cafleet.panes.keystrokes import PASTE_SHOWN_SECONDS
from tests.panes_support import agents, create_panes_fleet, inputs, run, spawn, wait_for  # noqa: F401
from tests.test_backend_files import STANDIN_FILE


@pytest.fixture
def late_file(tmp_path, monkeypatch, agents):
    """Writes the stand-in's backend file with pastes shown `delay` seconds late."""
    directory = tmp_path / "backends"
    directory.mkdir()
    monkeypatch.setenv("CAFLEET_BACKENDS_DIR", str(directory))

    def write(delay: float) -> None:
        log = agents.logs / "standin-file.jsonl"
        text = STANDIN_FILE.replace('"--demo", ', f'"--paste-delay", "{delay}", "--log", "{log}", ').replace(
            'prompt = "positional"', 'prompt = "positional"\npaste_shows_late = true'
        )
        (directory / "standin-file.toml").write_text(text)

    return write


def _send(cli, fleet, member: int, text: str) -> int:
    sent = run(cli, fleet, "--json", "message", "send", "--agent-id", fleet.director_id, "--to", member, "--text", text)
    assert sent.code == 0, sent.err
    return sent.json()["task_id"]


def _status(cli, fleet, task: int) -> str:
    shown = run(cli, fleet, "--json", "message", "show", "--agent-id", fleet.director_id, "--task-id", task)
    return shown.json()["notify_status"]


def _typed(agents, task: int) -> list[str]:
    return [text for text in inputs(agents.log_of("lately")) if f"[cafleet msg {task} from " in text]


def test_a_paste_shown_within_the_wait_is_submitted_at_once(cli, tmux_server, agents, late_file):
    late_file(PASTE_SHOWN_SECONDS / 3)
    fleet = create_panes_fleet(cli, tmux_server, agents, "late")
    member = spawn(cli, fleet, "lately", "--coding-agent", "standin-file")
    task = _send(cli, fleet, member, "first")
    wait_for(lambda: _status(cli, fleet, task) == "delivered", timeout=30, what="the notice delivered")
    (typed,) = wait_for(lambda: _typed(agents, task), timeout=10, what="the stand-in to take the notice")
    assert typed.endswith("first")


def test_a_paste_shown_after_the_wait_is_submitted_once_it_shows(cli, tmux_server, agents, late_file):
    late_file(PASTE_SHOWN_SECONDS + 1.5)
    fleet = create_panes_fleet(cli, tmux_server, agents, "later")
    member = spawn(cli, fleet, "lately", "--coding-agent", "standin-file")
    task = _send(cli, fleet, member, "second")
    seen = []

    def delivered() -> bool:
        seen.append(_status(cli, fleet, task))
        return seen[-1] == "delivered"

    wait_for(delivered, timeout=60, what="the notice delivered", interval=0.2)
    # Enter was not pressed on the empty box (where it is lost): the notice waited for its paste.
    assert NOTICE_PASTE_NOT_SHOWN in seen
    (typed,) = wait_for(lambda: _typed(agents, task), timeout=10, what="the stand-in to take the notice")
    assert typed.endswith("second") and typed.count("[cafleet msg") == 1  # pasted once, submitted once
