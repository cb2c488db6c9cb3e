"""`cafleet db init`: create or migrate the database explicitly (every command also does it)."""

from __future__ import annotations

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, FleetScope


@click.group("db", cls=CafleetSubgroup)
def db_group():
    """Manage the database (a SQLite file, or a PostgreSQL server's database)."""


@db_group.command("init", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
def init_command():
    """Create the database or bring it to the current schema. Safe to repeat."""
    from cafleet.core.config import database_target, shown_target
    from cafleet.store.db import current_version, open_database
    from cafleet.store.migrations import LATEST_VERSION

    target = database_target()
    where = shown_target(target)
    before = current_version(target)
    open_database(target)
    if before is None or before == 0:
        message = f"Created database {where} at schema version {LATEST_VERSION}."
    elif before < LATEST_VERSION:
        message = f"Migrated database {where} from schema version {before} to {LATEST_VERSION}."
    else:
        message = f"Database {where} is up to date (schema version {LATEST_VERSION})."
    emit(
        {"database": where, "schema_version_before": before or 0, "schema_version": LATEST_VERSION},
        lambda: message,
    )
