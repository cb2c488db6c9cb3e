"""Each host's courier, as the `couriers` table knows it: a row per host, stamped while the
courier runs, so the TUI and `doctor` can tell a host whose notices nobody types (its courier
was killed, or never started) from one that is served.

The courier checks in when it starts, stamps `seen_at` every `cafleet.panes.courier`
liveness round (5 s), and checks out when it leaves cleanly; a killed one leaves its row
behind with an old `seen_at`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cafleet.broker.dialect import upsert
from cafleet.core.records import CourierRecord
from cafleet.core.timestamps import parse_stamp, utc_now
from cafleet.store.models import Courier, database

# Three missed stamps: a courier seen longer ago than this is taken for gone.
ALIVE_WITHIN_SECONDS = 15.0


def stamp(host: str, pid: int, started_at: str) -> None:
    """Record that this host's courier (pid) runs; its first stamp is its check-in."""
    with database.atomic():
        upsert(Courier, host=host, pid=pid, started_at=started_at, seen_at=utc_now())


def check_out(host: str, pid: int) -> None:
    """Remove the host's row, if it still is this courier's (a successor may have taken it)."""
    with database.atomic():
        Courier.delete().where((Courier.host == host) & (Courier.pid == pid)).execute()


def couriers(now: datetime | None = None) -> list[CourierRecord]:
    """Every host's courier row, by host, with whether it was seen in the last 15 s."""
    moment = now or datetime.now(UTC)
    return [
        CourierRecord(
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            seen_at=row.seen_at,
            alive=(moment - parse_stamp(row.seen_at)).total_seconds() <= ALIVE_WITHIN_SECONDS,
        )
        for row in Courier.select().order_by(Courier.host)
    ]
