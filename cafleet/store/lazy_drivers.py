"""peewee without the PostgreSQL drivers a process will not use.

`import peewee` imports every PostgreSQL driver it can find (psycopg 3 alone costs ~80 ms,
most of a CLI call), even in a process that only ever opens SQLite. cafleet talks to
PostgreSQL through psycopg2 (a C extension, a few ms to import), so peewee is loaded with
psycopg 3 hidden always, and psycopg2 hidden too unless CAFLEET_DATABASE_URL names a
PostgreSQL database.
"""

from __future__ import annotations

import os
import sys
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import PathFinder

UNUSED_DRIVERS = ("psycopg", "psycopg2cffi")
DRIVER = "psycopg2"


def hidden_drivers() -> tuple[str, ...]:
    from cafleet.core.config import POSTGRES_SCHEMES

    if os.environ.get("CAFLEET_DATABASE_URL", "").strip().startswith(POSTGRES_SCHEMES):
        return UNUSED_DRIVERS
    return (*UNUSED_DRIVERS, DRIVER)


class _HidingLoader(Loader):
    def __init__(self, inner: Loader) -> None:
        self._inner = inner

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module) -> None:
        hidden = [name for name in hidden_drivers() if name not in sys.modules]
        for name in hidden:
            sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
        try:
            self._inner.exec_module(module)
        finally:
            for name in hidden:
                sys.modules.pop(name, None)


class PeeweeWithoutDrivers(MetaPathFinder):
    @staticmethod
    def find_spec(fullname, path=None, target=None):
        if fullname != "peewee":
            return None
        spec = PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _HidingLoader(spec.loader)
        return spec


def install() -> None:
    """Load peewee, whenever it is first imported, without the drivers this process won't use."""
    if "peewee" not in sys.modules and PeeweeWithoutDrivers not in sys.meta_path:
        sys.meta_path.insert(0, PeeweeWithoutDrivers)
