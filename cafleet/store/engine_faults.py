"""Mixed into the engines' peewee classes: a statement or transaction that meets a fault of the
database itself (`cafleet.store.db_faults`) raises it as a `DatabaseFault`.

Its own small module, loaded with every database: the classifier and its messages are loaded
only when something fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cafleet.core.config import PostgresServer
    from cafleet.store.orm import Database as _Engine
else:
    _Engine = object


class NamesFaults(_Engine):
    """Mixed in before an engine's peewee class: an engine error that is a fault of the
    database leaves its statements and transactions as a `DatabaseFault`; anything else leaves
    as it was. (Connecting is each engine's own: PostgreSQL's refusals name more fixes.)"""

    def fault_target(self) -> Path | PostgresServer:
        raise NotImplementedError

    def execute_sql(self, *args, **kwargs):
        try:
            return super().execute_sql(*args, **kwargs)
        except Exception as exc:
            self._raise_fault(exc)
            raise

    def begin(self, *args, **kwargs):
        try:
            return super().begin(*args, **kwargs)
        except Exception as exc:
            self._raise_fault(exc)
            raise

    def commit(self, *args, **kwargs):
        try:
            return super().commit(*args, **kwargs)
        except Exception as exc:
            self._raise_fault(exc)
            raise

    def _raise_fault(self, exc: Exception) -> None:
        from cafleet.store.db_faults import fault_of

        fault = fault_of(exc, self.fault_target())
        if fault is not None:
            raise fault from exc
