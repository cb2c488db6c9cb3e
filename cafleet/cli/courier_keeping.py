"""After a command that keeps the courier: start this host's courier if it should run and does not.

Each host's panes get their notices only from that host's courier, and only a process on the
host can start it: a message sent from another host cannot. So the commands an agent runs to
join a fleet and talk in it (`keeps_courier` in `cafleet.cli.settings`) start it, which makes a
courier that was never started, or that died, come back with the next of them.
"""

from __future__ import annotations

from cafleet.cli.output import note


def keep_courier() -> None:
    """`ensure_courier(always=True)`, after the command did its work: a courier that cannot be
    started is a note, not a failure, since what the command did stands (a send that then
    reported an error would be sent again)."""
    from cafleet.core.errors import CafleetError
    from cafleet.services.courier_launcher import ensure_courier
    from cafleet.store.db import is_open

    if not is_open():
        return  # the command had no database to use (e.g. run outside every fleet's pane)
    try:
        ensure_courier(always=True)
    except CafleetError as exc:
        _not_started(exc.message)
    except Exception as exc:
        from cafleet.store.db_faults import fault_of

        fault = fault_of(exc)
        if fault is None:
            raise
        _not_started(fault.message)


def _not_started(why: str) -> None:
    note(f"Note: this host's courier was not started ({why}); notices for its panes wait until it runs")
