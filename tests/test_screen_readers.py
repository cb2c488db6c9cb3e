"""Each backend's screen reader on screens captured from the real agents (see
tests/fixtures/screens/<backend>/; captured with `tmux capture-pane -p -J -S -200`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cafleet.backends import BACKENDS
from cafleet.core.agent_state import HELD, SHELL_MODE_QUESTION, TYPEABLE, AgentState
from cafleet.core.reset_time import reset_at

pytestmark = pytest.mark.engine_neutral  # pure readers of captured screens: no database

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
    "claude/asking-usage-limit-days-away": "asking",
    "claude/limited-usage": "limited",
    "claude/limited-usage-overnight": "limited",
    "claude/limited-rejected-429": "limited",
    "claude/limited-credit": "limited",
    "claude/limited-overloaded-gave-up": "limited",
    "claude/retrying-rate-limit": "retrying",
    "claude/retrying-overloaded": "retrying",
    "claude/auth-expired": "auth-expired",
    "claude/auth-expired-retrying": "auth-expired",
    "claude/auth-expired-gave-up": "auth-expired",
    "claude/context-full": "context-full",
    "claude/context-full-after-429": "context-full",
    "codex/starting": "starting",
    "codex/ready": "ready",
    "codex/busy": "busy",
    "codex/busy-queued": "busy",
    "codex/busy-steered": "busy",
    "codex/busy-draft": "draft",
    "codex/draft": "draft",
    "codex/asking": "asking",
    "codex/busy-compacting": "busy",
    "codex/limited-usage": "limited",
    "codex/limited-usage-days-away": "limited",
    "codex/limited-quota": "limited",
    "codex/limited-rate-limit-gave-up": "limited",
    "codex/limited-overloaded-gave-up": "limited",
    "codex/retrying-rate-limit": "retrying",
    "codex/retrying-overloaded": "retrying",
    "codex/auth-expired": "auth-expired",
    "codex/context-full": "context-full",
    "opencode/starting": "starting",
    "opencode/starting-home": "starting",
    "opencode/starting-prompt-not-sent": "starting",  # the spawn prompt shown, its turn not begun (no ▣)
    "opencode/ready": "ready",
    "opencode/ready-long-directory": "ready",  # the directory wraps in the box's right panel
    "opencode/after-notice": "ready",
    "opencode/ready-resumed-lost-turn": "ready",  # resumed after a kill lost its first turn: the home screen's hints
    "opencode/busy": "busy",
    "opencode/busy-queued": "busy",
    "opencode/draft": "draft",
    "opencode/exit-typed": "draft",
    "opencode/asking": "asking",
    "opencode/asking-bash": "asking",
    "opencode/retrying-rate-limit": "retrying",
    "opencode/retrying-overloaded": "retrying",
    "opencode/limited-usage-retrying": "limited",
    "opencode/limited-quota-retrying": "limited",
    "opencode/limited-quota-retrying-80-columns": "limited",
    "opencode/auth-expired": "auth-expired",
    "opencode/context-full": "context-full",
    "gemini/starting": "starting",
    "gemini/starting-box-before-prompt": "starting",  # its spawn prompt is not submitted yet
    "gemini/starting-box-after-redraw": "starting",
    "gemini/starting-box-with-a-warning": "starting",
    "gemini/ready": "ready",
    "gemini/ready-80-columns": "ready",
    "gemini/starting-no-prompt-yet": "starting",  # started without a prompt: the banner alone
    "gemini/after-approving-1": "ready",
    "gemini/busy": "busy",
    "gemini/busy-queued": "busy",
    "gemini/busy-draft": "draft",
    "gemini/draft": "draft",
    "gemini/draft-wrapped-80-columns": "draft",
    "gemini/exit-typed": "draft",  # the command pop-up under the box is no input
    "gemini/asking": "asking",
    "gemini/asking-trust": "asking",
    "gemini/asking-usage-limit": "asking",
    "gemini/shell-mode-empty": "asking",  # typed text would run in the shell
    "gemini/shell-mode-after-command": "asking",
    "gemini/limited-quota": "limited",
    "gemini/auth-expired": "auth-expired",
    "gemini/context-full": "context-full",
    "qwen/starting-before-the-prompt-shows": "starting",  # the banner, and no turn under it yet
    "qwen/ready": "ready",
    "qwen/after-approving-1": "ready",
    "qwen/busy": "busy",
    "qwen/busy-queued": "busy",  # Ctrl+Q queued a notice above the box
    "qwen/busy-retrying-quota": "busy",  # qwen retries a 429 without a word
    "qwen/busy-draft": "draft",
    "qwen/draft": "draft",
    "qwen/draft-in-shell-mode": "draft",
    "qwen/asking": "asking",
    "qwen/shell-mode-empty": "asking",  # typed text would run in the shell
    "qwen/shell-command-running": "asking",  # and is taken unseen while a command runs
    "qwen/auth-expired": "auth-expired",
    "qwen/context-full": "context-full",
    "pi/starting": "starting",
    "pi/ready": "ready",
    "pi/after-shell-command": "ready",  # `!cmd` ends with its command: no shell mode stays on
    "pi/busy": "busy",
    "pi/busy-first-turn": "busy",  # no token counts in the footer yet
    "pi/busy-queued": "busy",  # Enter steered the notice into the running turn
    "pi/busy-followup-queued": "busy",  # Alt+Enter queued it as a follow-up
    "pi/busy-draft": "draft",
    "pi/draft": "draft",
    "pi/draft-shell-mark": "draft",
    "pi/exit-typed": "draft",
    "pi/asking": "asking",  # cafleet's gate asks
    "pi/retrying-rate-limit": "retrying",
    "pi/limited-rate-limit-gave-up": "limited",
    "pi/auth-expired": "auth-expired",
    "pi/context-full": "context-full",
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
        ("gemini/asking", "touch /tmp/vx/gwork/x"),
        ("gemini/asking-trust", "Do you trust the files in this folder?"),
        ("gemini/asking-usage-limit", "Usage limit reached for all Pro models."),
        ("qwen/asking", "Allow execution of: 'touch'?"),
        ("pi/asking", "Allow this? (cafleet member) run: touch /tmp/vx/pwork/x"),
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
        ("gemini/draft", "a human draft, not sent yet"),
        ("gemini/busy-draft", "a draft while busy"),
        ("gemini/exit-typed", "/exit"),
        ("qwen/draft", "a human draft, not sent yet"),
        ("pi/draft", "a human draft, not sent yet"),
        ("pi/exit-typed", "/exit"),
        ("qwen/busy-draft", "[cafleet msg 5 from director#1 2026] queued notice"),
        (
            "gemini/draft-wrapped-80-columns",
            "a long human draft that goes on and on past the edge of this narrow pane so that it wraps onto a second line",
        ),
    ],
)
def test_a_draft_carries_its_text(name, draft):
    assert read(name).draft == draft


@pytest.mark.parametrize(
    "name, resets",
    [
        ("claude/limited-usage", "11:32pm"),
        ("claude/limited-usage-overnight", "12:59am"),
        ("claude/asking-usage-limit-days-away", "Dec 9, 10:59pm (UTC)"),
        ("claude/retrying-rate-limit", "in 34s"),
        ("claude/limited-rejected-429", ""),  # an API key's refusal names no time
        ("codex/limited-usage", "11:38 PM"),
        ("codex/limited-usage-days-away", "Dec 9th, 2026 10:49 PM"),
        ("codex/retrying-rate-limit", ""),  # codex shows how long it has waited, not when it tries again
        ("opencode/retrying-rate-limit", "in 39s"),
        ("opencode/retrying-overloaded", "in 11s"),
        # Retrying a limit, opencode counts down to its next attempt, not to the limit's reset.
        ("opencode/limited-quota-retrying-80-columns", ""),
        ("pi/retrying-rate-limit", "in 1s"),
    ],
)
def test_a_limit_carries_its_reset_time_as_shown(name, resets):
    assert read(name).resets == resets


@pytest.mark.parametrize(
    "name, words",
    [
        ("claude/limited-usage", "You've hit your 5-hour limit"),
        ("claude/asking-usage-limit-days-away", "You've hit your 5-hour limit"),
        ("claude/retrying-overloaded", "529 Overloaded"),
        ("claude/context-full-after-429", "Context limit reached"),
        ("codex/limited-usage", "You’ve hit your usage limit"),
        ("codex/retrying-overloaded", "Selected model is at capacity"),
        ("codex/auth-expired", "401 Unauthorized"),
        ("opencode/limited-usage-retrying", "The usage limit has been reached"),
        ("opencode/auth-expired", "Incorrect API key provided"),
        ("gemini/limited-quota", "You have exhausted your daily quota on this model."),
        ("gemini/asking-usage-limit", "Usage limit reached for all Pro models."),
        ("gemini/auth-expired", "API key expired. Please renew the API key."),
        ("gemini/context-full", "exceeds the maximum number of tokens"),
        ("qwen/auth-expired", "401 Incorrect API key provided"),
        ("qwen/context-full", "maximum context length is 128000 tokens"),
        ("pi/retrying-rate-limit", "429 Rate limit reached"),
        ("pi/limited-rate-limit-gave-up", "Retry failed after 3 attempts"),
        ("pi/auth-expired", "401 Incorrect API key provided"),
        ("pi/context-full", "Context overflow recovery failed"),
    ],
)
def test_a_held_agent_says_why(name, words):
    assert words in read(name).detail


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shown_reset_time_reads_as_a_time(name):
    shown = read(name).resets
    since = datetime(2026, 12, 6, 22, 50, tzinfo=UTC)  # when these screens were captured
    assert not shown or reset_at(shown, since) is not None, shown


# Held screens on which the agent goes on by itself (it retries, or continues at the reset):
# nothing may be typed there, not even the monitor's wake. On every other held screen the
# refused turn has ended and the empty box takes a new one.
GOES_ON_BY_ITSELF = {
    "claude/auth-expired-retrying",
    "claude/limited-usage",
    "claude/limited-usage-overnight",
    "claude/retrying-overloaded",
    "claude/retrying-rate-limit",
    "codex/retrying-overloaded",
    "codex/retrying-rate-limit",
    "opencode/limited-quota-retrying",
    "opencode/limited-quota-retrying-80-columns",
    "opencode/limited-usage-retrying",
    "opencode/retrying-overloaded",
    "opencode/retrying-rate-limit",
    "pi/retrying-rate-limit",
}


@pytest.mark.parametrize("name", sorted(n for n, state in EXPECTED.items() if AgentState(state) in HELD))
def test_a_held_agents_box_is_open_only_once_its_refused_turn_ended(name):
    assert read(name).box_open is (name not in GOES_ON_BY_ITSELF)


def test_a_draft_under_a_refusal_closes_the_box():
    lines = (SCREENS / "claude/limited-rejected-429.txt").read_text().split("\n")
    box = max(i for i, line in enumerate(lines) if line.startswith("❯"))
    lines[box] = "❯ someone is typing here"
    reading = BACKENDS["claude"].read_screen(lines)
    assert (reading.state, reading.box_open) == (AgentState.LIMITED, False)


@pytest.mark.parametrize("name", ["gemini/shell-mode-empty", "gemini/shell-mode-after-command", "qwen/shell-mode-empty"])
def test_gemini_shell_mode_is_never_typed_into(name):
    """Gemini keeps shell mode on after a command: a notice typed then would run in the shell."""
    reading = read(name)
    assert reading.state not in TYPEABLE and reading.question == SHELL_MODE_QUESTION


def test_every_backend_names_the_versions_its_reader_was_built_from():
    for name, spec in BACKENDS.items():
        assert spec.verified_versions, name
        assert (SCREENS / name).is_dir(), name


def test_gemini_reads_a_long_answer_scrolled_past_its_start_as_ready():
    """Only notes seen from their first line count as gemini's start-up screen: a long answer
    whose `✦` scrolled out of the captured lines is a said turn, not the start."""
    screen = (SCREENS / "gemini" / "ready.txt").read_text().split("\n")
    rule = max(i for i, line in enumerate(screen) if line.startswith("─" * 10))
    scrolled = ["  the model's answer goes on, line after line"] * 60 + screen[rule - 1 :]
    assert BACKENDS["gemini"].read_screen(scrolled).state == AgentState.READY
