"""peewee as cafleet loads it: without the PostgreSQL drivers this process will not use.

`import peewee` imports every PostgreSQL driver it can find (psycopg 3 alone costs ~80 ms,
most of a CLI call), even in a process that only ever opens SQLite. cafleet talks to
PostgreSQL through psycopg2 (a C extension, a few ms to import), so peewee is loaded here
with psycopg 3 hidden always, and psycopg2 hidden too unless CAFLEET_DATABASE_URL names a
PostgreSQL database. Every cafleet module takes peewee's names from this module, never from
`peewee` itself, so no import hook is needed and import order does not matter.
"""

from __future__ import annotations

import importlib
import os
import sys

UNUSED_DRIVERS = ("psycopg", "psycopg2cffi")
DRIVER = "psycopg2"


def hidden_drivers() -> tuple[str, ...]:
    from cafleet.core.config import POSTGRES_SCHEMES

    if os.environ.get("CAFLEET_DATABASE_URL", "").strip().startswith(POSTGRES_SCHEMES):
        return UNUSED_DRIVERS
    return (*UNUSED_DRIVERS, DRIVER)


def _load_peewee():
    if "peewee" in sys.modules:
        return sys.modules["peewee"]  # someone loaded it first (a test opening both engines)
    hidden = [name for name in hidden_drivers() if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # makes `import name` fail
    try:
        return importlib.import_module("peewee")
    finally:
        for name in hidden:
            sys.modules.pop(name, None)


_load_peewee()

from peewee import (  # noqa: E402  (after the drivers are hidden)
    JOIN,
    SQL,
    AutoField,
    BooleanField,
    Case,
    CompositeKey,
    Database,
    DatabaseError,
    DatabaseProxy,
    Field,
    FloatField,
    ForeignKeyField,
    IntegerField,
    InterfaceError,
    Model,
    OperationalError,
    PostgresqlDatabase,
    SqliteDatabase,
    TextField,
    fn,
)

__all__ = [
    "JOIN",
    "SQL",
    "AutoField",
    "BooleanField",
    "Case",
    "CompositeKey",
    "Database",
    "DatabaseError",
    "DatabaseProxy",
    "Field",
    "FloatField",
    "ForeignKeyField",
    "IntegerField",
    "InterfaceError",
    "Model",
    "OperationalError",
    "PostgresqlDatabase",
    "SqliteDatabase",
    "TextField",
    "fn",
]
