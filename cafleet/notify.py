"""Hand inline previews to a background process so `message send` never waits on tmux.

This module must stay light (no libtmux): it runs on every send.
"""

from __future__ import annotations

import os
import subprocess
import sys

from cafleet.config import database_path


def schedule_previews(task_ids: list[int]) -> bool:
    """Decide what needs no tmux now; start one detached deliverer for the rest.

    Returns True when a background delivery was started.
    """
    from cafleet.broker.notifications import plan_previews

    jobs = plan_previews(task_ids)
    if not jobs:
        return False
    env = dict(os.environ, CAFLEET_DATABASE_URL=str(database_path()))
    subprocess.Popen(
        [sys.executable, "-m", "cafleet.panes.delivery", *(str(job.task_id) for job in jobs)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives the CLI call and ignores the caller's Ctrl-C
        close_fds=True,
    )
    return True
