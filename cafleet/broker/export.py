"""Reading every message of a fleet in order, a batch at a time, for `cafleet fleet export`."""

from __future__ import annotations

from collections.abc import Iterator

from cafleet.broker.convert import task_query
from cafleet.broker.guards import any_fleet
from cafleet.broker.reads import TIMELINE_KINDS, with_deliveries
from cafleet.core.records import FleetRecord, TaskRecord
from cafleet.store.models import Task, database

BATCH = 1000


def fleet_messages(fleet_id: int, batch: int = BATCH) -> tuple[FleetRecord, Iterator[TaskRecord]]:
    """The fleet (a deleted one too) and an iterator over its messages, oldest first: each
    unicast, and each broadcast once as its summary with its deliveries.

    The iterator reads one batch at a time inside one read transaction, so memory stays flat
    however long the history is, the export is one consistent snapshot, and writers are never
    blocked (WAL readers do not block writers).
    """
    from cafleet.broker.convert import fleet_record

    fleet = fleet_record(any_fleet(fleet_id))

    def messages() -> Iterator[TaskRecord]:
        with database.atomic(lock_type="DEFERRED"):
            after = 0
            while True:
                rows = list(
                    task_query()
                    .where((Task.fleet == fleet_id) & Task.kind.in_(TIMELINE_KINDS) & (Task.id > after))
                    .order_by(Task.id)
                    .limit(batch)
                )
                if not rows:
                    return
                yield from with_deliveries(rows)
                after = rows[-1]["id"]

    return fleet, messages()
