"""The courier's log, on its stderr (the log file): one line per event, but a line that
repeats (a database server down, retried every round by each thread) is written once a minute
with how often it came meanwhile, so a day's outage is a few thousand lines, not millions."""

from __future__ import annotations

import sys
import threading
import time

from cafleet.core.timestamps import utc_now

REPEAT_SECONDS = 60.0
# Lines remembered for counting repeats; past this the oldest are forgotten.
REMEMBERED = 256


class LogLines:
    def __init__(self, stream=None, clock=time.monotonic) -> None:
        self._stream = stream
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}  # line: (when last written, repeats since)

    def __call__(self, line: str) -> None:
        now = self._clock()
        with self._lock:
            written, repeats = self._seen.pop(line, (None, 0))
            if written is not None and now - written < REPEAT_SECONDS:
                self._seen[line] = (written, repeats + 1)
                return
            self._seen[line] = (now, 0)
            while len(self._seen) > REMEMBERED:
                del self._seen[next(iter(self._seen))]
            again = f" (and {repeats} more time{'s' if repeats != 1 else ''} since it was last logged)" if repeats else ""
            print(f"{utc_now()} {line}{again}", file=self._stream or sys.stderr, flush=True)
