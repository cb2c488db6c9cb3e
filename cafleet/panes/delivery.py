"""The background deliverer: `python -m cafleet.panes.delivery TASK_ID...`.

Started detached by `cafleet.notify` after the message is committed. Types each preview
into its recipient's pane (one thread per pane, so a broadcast reaches every pane at once
while keystrokes into any one pane stay serialized by the pane lock) and records the
outcome on the task.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict

from cafleet.backends import ready_after
from cafleet.broker.notifications import PreviewJob, preview_jobs, record_outcomes
from cafleet.panes.keystrokes import submit
from cafleet.panes.preview import preview_text
from cafleet.panes.safety import target_problem
from cafleet.panes.tmux import Tmux, TmuxError
from cafleet.timestamps import parse_stamp


def deliver(task_ids: list[int]) -> dict[int, str]:
    """Deliver the previews of `task_ids`; returns and records each task's outcome."""
    jobs, outcomes = preview_jobs(task_ids)
    by_pane: dict[tuple[str, str], list[PreviewJob]] = defaultdict(list)
    for job in jobs:
        by_pane[(job.placement.tmux_socket, job.placement.tmux_pane_id)].append(job)
    servers = {socket: Tmux(socket) for socket, _ in by_pane}
    lock = threading.Lock()

    def deliver_to_pane(socket: str, pane_jobs: list[PreviewJob]) -> None:
        for job in pane_jobs:
            outcome = _deliver_one(servers[socket], job)
            with lock:
                outcomes[job.task_id] = outcome

    threads = [
        threading.Thread(target=deliver_to_pane, args=(socket, pane_jobs))
        for (socket, _), pane_jobs in by_pane.items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record_outcomes(outcomes)
    return outcomes


def _deliver_one(tmux: Tmux, job: PreviewJob) -> str:
    try:
        _wait_until_ready(job)
        state = tmux.pane(job.placement.tmux_pane_id) if tmux.server_pid else None
        problem = target_problem(job.placement, tmux, state)
        if problem:
            return f"skipped:{problem}"
        submit(tmux, state, preview_text(job.task_id, job.sender_name, job.sender_id, job.created_at, job.text))
        return "delivered"
    except TmuxError as exc:
        return f"failed:{exc.message}"
    except Exception as exc:  # the outcome must be recorded whatever happened
        return f"failed:{type(exc).__name__}: {exc}"


def _wait_until_ready(job: PreviewJob) -> None:
    """A freshly spawned agent drops input for a moment; wait out its start-up."""
    ready_at = parse_stamp(job.placement.created_at).timestamp() + ready_after(job.placement.coding_agent)
    delay = ready_at - time.time()
    if delay > 0:
        time.sleep(delay)


def main(argv: list[str]) -> int:
    from cafleet.db import open_database

    task_ids = [int(arg) for arg in argv if arg.isdigit()]
    open_database()
    deliver(task_ids)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
