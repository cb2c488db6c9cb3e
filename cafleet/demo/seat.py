"""The human's seat in `cafleet demo`: the TUI (which sends as the Administrator), and once it
quits, what to do next. The pane stays (dead) with these lines on it, so quitting the TUI is
never a dead end.

    python -m cafleet.demo.seat FLEET_ID
"""

from __future__ import annotations

import os
import subprocess
import sys

# A session option `cafleet demo` sets to how the terminal showing the demo leaves it (it
# depends on where that terminal is: plain, inside tmux on the same server, or nested).
LEAVE_OPTION = "@cafleet_demo_leave"


def after_tui(fleet_id: int, leave: str) -> str:
    """What the seat's pane shows once the TUI quits; `leave` is "keys<TAB>what they do"."""
    rows = [("cafleet demo", "brings the TUI back (from any shell)"), ("cafleet demo --stop", "stops the demo")]
    if "\t" in leave:
        keys, effect = leave.split("\t", 1)
        rows.append((keys, effect))
    lines = [
        "",  # tmux scrolls a dead pane one line up to write its status line at the bottom
        f"The cafleet TUI has quit; the demo keeps running (fleet {fleet_id}).",
        *(f"  {keys:<20}  {effect}" for keys, effect in rows),
    ]
    return "\n".join(lines) + "\n"


def _leave() -> str:
    pane = os.environ.get("TMUX_PANE")
    if not pane:
        return ""
    shown = subprocess.run(
        ["tmux", "display-message", "-p", "-t", pane, "#{" + LEAVE_OPTION + "}"], capture_output=True, text=True, timeout=10
    )
    return shown.stdout.rstrip("\n") if shown.returncode == 0 else ""


def main(argv: list[str]) -> int:
    fleet_id = int(argv[0])
    subprocess.run([sys.executable, "-m", "cafleet", "--fleet-id", str(fleet_id), "ui"])
    sys.stdout.write(after_tui(fleet_id, _leave()))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
