"""Typing one claimed notice into its pane, and finishing one whose courier died typing it.

The claim's step (`cafleet.core.domain.NoticeStep`) is recorded before each step is taken, so a
successor knows how far a dead courier got:

- `claimed`: nothing was typed; type it.
- `pasting`: the paste may have reached the input box. If the box holds this notice, press
  Enter; if the pane shows it submitted, it was delivered; otherwise it never arrived: type it.
- `entering`: the paste landed and Enter may have been pressed. If the box still holds this
  notice, press Enter; otherwise the agent took it: delivered.

So a notice interrupted between paste and Enter never stays in the box as a draft that blocks
the pane, and one interrupted after Enter is never typed again.
"""

from __future__ import annotations

from cafleet.broker import agent_states, notifications
from cafleet.broker.notifications import PreviewJob
from cafleet.core.agent_state import TYPEABLE, AgentState
from cafleet.core.domain import LOST_PANE_SKIPS, NOTICE_DEFERRED, NOTICE_DELIVERED, NOTICE_HELD, NoticeStep
from cafleet.core.pane_problem import PaneProblem
from cafleet.panes import keystrokes
from cafleet.panes.observe import observe_pane
from cafleet.panes.preview import notice_marker, preview_text
from cafleet.panes.tmux import Tmux, TmuxError

MOVED = f"{NOTICE_DEFERRED}moved"
# Enough scrollback to find a notice that was submitted a moment before a courier died.
SUBMITTED_HISTORY_LINES = 200


class ClaimSteps:
    """Records each typing step under the notice's claim (`keystrokes.StepLog`)."""

    def __init__(self, task_id: int, claimer: str):
        self.task_id, self.claimer = task_id, claimer

    def mark(self, step: NoticeStep) -> bool:
        return notifications.advance(self.task_id, self.claimer, step)


def deliver(tmux: Tmux, job: PreviewJob, claimer: str) -> str:
    """Type the notice of `job`, which `claimer` holds; the outcome to record. If the agent's
    box already holds this notice (an earlier typing died before Enter), it is submitted."""
    if not job.unread or not notifications.still_unread(job.task_id):
        return "skipped:no-longer-unread"
    placement = job.placement
    if placement is None:
        return f"skipped:{PaneProblem.NO_PLACEMENT}"
    if placement.tmux_pane_id is None:
        return "deferred:starting"
    text = preview_text(job.task_id, job.sender_name, job.sender_id, job.created_at, job.text)
    steps = ClaimSteps(job.task_id, claimer)
    # While a hold lasts, a busy agent's turn may yet be refused, and a notice it queued would
    # be lost with it: the notice waits until the agent shows its empty box again.
    held = agent_states.in_hold(job.recipient_id)
    allowed = frozenset({AgentState.READY}) if held else TYPEABLE
    try:
        outcome = keystrokes.submit(tmux, placement, text, allowed, steps=steps, own_marker=notice_marker(job.task_id))
    except TmuxError as exc:
        return f"failed:{exc.message}"
    if held and outcome.observation.state == AgentState.BUSY and not outcome.delivered:
        return NOTICE_HELD
    if outcome.status in LOST_PANE_SKIPS and notifications.pane_moved(job.recipient_id, placement):
        return MOVED  # restored meanwhile: its new pane gets it
    return outcome.status


def recover(tmux: Tmux, job: PreviewJob, claimer: str) -> str:
    """Finish `job`, whose claim `claimer` took over from a courier that died holding it."""
    placement = job.placement
    if job.step in (None, NoticeStep.CLAIMED) or placement is None or placement.tmux_pane_id is None:
        return deliver(tmux, job, claimer)
    observation, _ = observe_pane(tmux, placement)
    if observation.state not in (AgentState.READY, AgentState.BUSY, AgentState.ASKING):
        return deliver(tmux, job, claimer)  # its own draft is finished there; anything else refused
    if job.step == NoticeStep.ENTERING or _shown_submitted(tmux, placement.tmux_pane_id, job.task_id):
        return NOTICE_DELIVERED  # the paste landed and the box no longer holds it
    return deliver(tmux, job, claimer)  # it never reached the box


def _shown_submitted(tmux: Tmux, pane_id: str, task_id: int) -> bool:
    try:
        lines = tmux.capture(pane_id, SUBMITTED_HISTORY_LINES)
    except TmuxError:
        return False
    marker = notice_marker(task_id)
    return any(marker in line for line in lines)
