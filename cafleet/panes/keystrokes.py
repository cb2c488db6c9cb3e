"""Typing into an agent's pane: look, take the pane lock, look again, type under a guard that
tmux checks at the keystroke itself, and verify the input was submitted.

Measured with claude, codex and opencode: a bracketed paste followed 0.2-0.3 s later by a
separate Enter is submitted as exactly one turn; faster input is taken as a paste and the
Enter becomes a newline. The pane lock keeps two writers from interleaving their keys.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import NamedTuple, Protocol

from cafleet.backends import known_backend
from cafleet.core.agent_state import HELD, TYPEABLE, AgentState, Observation
from cafleet.core.domain import NOTICE_DEFERRED, NOTICE_PASTE_NOT_SHOWN, TUI_PANE_OPTION, NoticeStep
from cafleet.core.hosts import is_this_host
from cafleet.core.pane_problem import PaneProblem
from cafleet.core.records import PlacementRecord
from cafleet.panes.observe import observe_pane
from cafleet.panes.safety import clean, newlines_as_symbol
from cafleet.panes.tmux import Tmux, TmuxError
from cafleet.store.lock_files import LockTimeout, held

SETTLE_SECONDS = 0.25
# One typing holds a pane's lock for about a second (paste, settle, verify); a holder that
# keeps it far longer is stuck or hostile, and the input is deferred instead of waiting on it.
PANE_LOCK_TIMEOUT_SECONDS = 5.0
# How long an agent may take to move a submitted input out of its box (claude redraws in
# ~0.1 s); the box is looked at every SUBMIT_POLL_SECONDS until then.
SUBMIT_CHECK_SECONDS = 0.6
SUBMIT_POLL_SECONDS = 0.1
# How long an agent that shows a paste late may take to show it (gemini at a turn's start).
PASTE_SHOWN_SECONDS = 3.0
_GUARDABLE = re.compile(r"[A-Za-z0-9_.+-]+")


class Paste(NamedTuple):
    """Text pasted in one go; bracketed, an embedded newline does not submit it."""

    text: str
    bracketed: bool = True


class Key(NamedTuple):
    """One key, by tmux's name for it (`Enter`, `Right`, `2`)."""

    name: str


class Outcome(NamedTuple):
    """What happened to one input: `status` is what `notify_status` records."""

    status: str  # delivered | deferred:<state> | skipped:<why> | failed:<why>
    observation: Observation

    @property
    def delivered(self) -> bool:
        return self.status == "delivered"

    @property
    def final(self) -> bool:
        return not self.status.startswith(NOTICE_DEFERRED)


class StepLog(Protocol):
    """Where a typing records each step before taking it (the notice's claim)."""

    def mark(self, step: NoticeStep) -> bool:
        """Record `step`; False when typing must stop (the claim is no longer ours)."""
        ...


class _NoSteps:
    def mark(self, step: NoticeStep) -> bool:
        return True


def pane_lock_name(socket_path: str, pane_id: str) -> str:
    return f"pane-{hashlib.sha1(f'{socket_path}|{pane_id}'.encode()).hexdigest()[:16]}.lock"


def pane_lock(socket_path: str, pane_id: str, timeout: float = PANE_LOCK_TIMEOUT_SECONDS):
    """Exclusive across processes for one pane of one server; `LockTimeout` after `timeout` s."""
    return held(pane_lock_name(socket_path, pane_id), timeout)


def guard_for(observation: Observation) -> str | None:
    """A tmux format that is true only while the same program runs in the pane, out of copy
    mode and not showing cafleet's TUI."""
    if not _GUARDABLE.fullmatch(observation.command):
        return None
    return (
        f"#{{&&:#{{==:#{{pane_current_command}},{observation.command}}},"
        "#{&&:#{==:#{pane_in_mode},0},#{==:#{" + TUI_PANE_OPTION + "},}}}"
    )


def admits(observation: Observation, allowed, held_too: bool = False) -> bool:
    """Whether `observation` is in one of the `allowed` states, or, `held_too`, a held agent
    whose refused turn has ended with its input box empty."""
    return observation.state in allowed or (held_too and observation.state in HELD and observation.box_open)


def refusal(observation: Observation) -> str:
    """The outcome for an observation that may not be typed into: deferred (tried again later)
    while the agent may yet take input, skipped (final) when it is not there to take it."""
    waiting = (AgentState.STARTING, AgentState.ASKING, AgentState.DRAFT, AgentState.UNREADABLE)
    if observation.state in waiting or observation.state in HELD:
        return f"deferred:{observation.state}"
    return f"skipped:{observation.reason or observation.state}"


def submit(
    tmux: Tmux,
    placement: PlacementRecord,
    text: str,
    allowed=TYPEABLE,
    steps: StepLog | None = None,
    own_marker: str | None = None,
    held_too: bool = False,
) -> Outcome:
    """Paste `text` as one input line and submit it with Enter, verified.

    Always one line: a newline in a paste submits there when the program has bracketed paste
    off (and tmux before 3.7 cannot tell us whether it has), so a line break could split one
    input into two, the second perhaps in shell mode. `steps` records each step first. When
    the box already holds text containing `own_marker` (this very input, left there by a
    typing that died before its Enter), it is submitted instead of typed again. `held_too`:
    also into a held agent whose refused turn has ended with its box empty (the monitor's
    wake after a limit's reset; see `Observation.box_open`)."""
    parts: list[Paste | Key] = [Paste(clean(newlines_as_symbol(text)))]
    return _type(tmux, placement, allowed, parts, enter=True, steps=steps, own_marker=own_marker, held_too=held_too)


def type_line(tmux: Tmux, placement: PlacementRecord, text: str, lead: str = "", allowed=TYPEABLE) -> Outcome:
    """Type one line (`lead` first, e.g. `!` for shell mode) and submit it, verified."""
    # A plain paste arrives as if typed, with no quoting to get wrong.
    lead_keys = [Paste(lead, bracketed=False)] if lead else []
    return _type(tmux, placement, allowed, [*lead_keys, Paste(clean(text), bracketed=False)], enter=True)


def press(tmux: Tmux, placement: PlacementRecord, keys: list[str]) -> Outcome:
    """Keys (tmux key names) that answer a menu, only while the agent is asking."""
    return _type(tmux, placement, frozenset({AgentState.ASKING}), [Key(key) for key in keys], enter=False)


def _type(
    tmux: Tmux,
    placement: PlacementRecord,
    allowed,
    parts: list[Paste | Key],
    enter: bool,
    steps: StepLog | None = None,
    own_marker: str | None = None,
    held_too: bool = False,
) -> Outcome:
    if not is_this_host(placement.host):
        # Never even look: the socket and pane id would name a pane of this machine.
        return Outcome(f"skipped:{PaneProblem.OTHER_HOST}", Observation(AgentState.UNSEEN, PaneProblem.OTHER_HOST))
    assert placement.tmux_pane_id is not None  # observe() refuses a pending placement first
    try:
        with pane_lock(tmux.socket_path, placement.tmux_pane_id):
            return _type_locked(tmux, placement, allowed, parts, enter, steps or _NoSteps(), own_marker, held_too)
    except LockTimeout:
        observation, _ = observe_pane(tmux, placement)
        return Outcome("deferred:pane-locked", observation)


def _type_locked(
    tmux: Tmux,
    placement: PlacementRecord,
    allowed,
    parts: list[Paste | Key],
    enter: bool,
    steps: StepLog,
    own_marker: str | None = None,
    held_too: bool = False,
) -> Outcome:
    observation, pane = observe_pane(tmux, placement)
    if own_marker and observation.state == AgentState.DRAFT and own_marker in observation.draft and pane is not None:
        return _finish_own_draft(tmux, pane.pane_id, placement, observation, steps)
    if not admits(observation, allowed, held_too):
        return Outcome(refusal(observation), observation)
    assert pane is not None  # every state that allows typing was read from a live pane
    guard = guard_for(observation)
    if guard is None:
        return Outcome(f"skipped:unguardable-command:{observation.command}", observation)
    if not steps.mark(NoticeStep.PASTING):
        return Outcome("skipped:claim-lost", observation)
    try:
        if pane.in_mode:
            tmux.leave_mode(pane.pane_id)
        for index, part in enumerate(parts):
            if index:
                time.sleep(0.1)
            if isinstance(part, Key):
                typed = tmux.press_key(pane.pane_id, guard, part.name)
            else:
                typed = tmux.paste(pane.pane_id, part.text, guard, bracketed=part.bracketed)
            if not typed:
                return Outcome("skipped:pane-changed-before-typing", observation)
        if not enter:
            return Outcome("delivered", observation)
        time.sleep(SETTLE_SECONDS)
        if not _paste_shown(tmux, placement):
            # An Enter now would land on the empty box and be lost, and the paste would then sit
            # in the box for good. The next try finds it there (own_marker) and submits it.
            return Outcome(NOTICE_PASTE_NOT_SHOWN, observation)
        if not steps.mark(NoticeStep.ENTERING):
            return Outcome("failed:claim-lost-before-enter", observation)
        if not tmux.press_key(pane.pane_id, guard, _submit_key(placement, observation)):
            return Outcome("failed:pane-changed-before-enter", observation)
        return _verify_submitted(tmux, placement, guard)
    except TmuxError as exc:
        return Outcome(f"failed:{exc.message}", observation)


def _finish_own_draft(tmux: Tmux, pane_id: str, placement: PlacementRecord, observation: Observation, steps: StepLog) -> Outcome:
    """Press Enter on our own input that an earlier typing left in the box."""
    guard = guard_for(observation)
    if guard is None:
        return Outcome(f"skipped:unguardable-command:{observation.command}", observation)
    if not steps.mark(NoticeStep.ENTERING):
        return Outcome("failed:claim-lost-before-enter", observation)
    try:
        if not tmux.press_key(pane_id, guard, "Enter"):
            return Outcome("failed:pane-changed-before-enter", observation)
        return _verify_submitted(tmux, placement, guard)
    except TmuxError as exc:
        return Outcome(f"failed:{exc.message}", observation)


def _paste_shown(tmux: Tmux, placement: PlacementRecord) -> bool:
    """False when an agent that may show a paste late (`Backend.paste_shows_late`) has not shown
    it in its box within PASTE_SHOWN_SECONDS; any other agent shows it at once."""
    spec = known_backend(placement.coding_agent)
    if spec is None or not spec.paste_shows_late:
        return True
    deadline = time.monotonic() + PASTE_SHOWN_SECONDS
    while True:
        if observe_pane(tmux, placement)[0].state == AgentState.DRAFT:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(SUBMIT_POLL_SECONDS)


def _submit_key(placement: PlacementRecord, observation: Observation) -> str:
    spec = known_backend(placement.coding_agent)
    return spec.queue_key if spec is not None and observation.state == AgentState.BUSY else "Enter"


def _verify_submitted(tmux: Tmux, placement: PlacementRecord, guard: str) -> Outcome:
    """The box was empty before we typed: if text still sits in it, our Enter did not land."""
    for attempt in range(2):
        deadline = time.monotonic() + SUBMIT_CHECK_SECONDS
        while True:
            time.sleep(SUBMIT_POLL_SECONDS)
            after, pane = observe_pane(tmux, placement)
            if after.state != AgentState.DRAFT:
                return Outcome("delivered", after)
            if time.monotonic() >= deadline:
                break
        if attempt == 0 and (pane is None or not tmux.press_key(pane.pane_id, guard)):
            return Outcome("failed:pane-changed-before-enter", after)
    return Outcome("failed:not-submitted", after)
