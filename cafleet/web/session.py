"""One browser session's TUI: what `cafleet web` runs for each page that connects.

textual-serve starts this with its web driver selected in the environment and talks to it
over stdin and stdout (no terminal), so it skips `cafleet ui`'s terminal check.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str]) -> None:
    # Ctrl+C in the terminal of `cafleet web` reaches this process too (same process group);
    # the server ends each session itself, cleanly, when it stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fleet_id = int(argv[0]) if argv else None
    from cafleet.store.db import open_database

    open_database()
    from cafleet.screens.app import build_app

    build_app(fleet_id).run()


if __name__ == "__main__":
    main(sys.argv[1:])
