"""`cafleet db init`: create or migrate the database explicitly (every command also does it)."""

from __future__ import annotations

import click

from cafleet.cli.output import emit
from cafleet.cli.settings import CafleetCommand, CafleetSubgroup, FleetScope


@click.group("db", cls=CafleetSubgroup)
def db_group():
    """Manage the SQLite database."""


@db_group.command("init", cls=CafleetCommand, fleet_scope=FleetScope.OUTSIDE)
def init_command():
    """Create the database or bring it to the current schema. Safe to repeat."""
    from cafleet.config import database_path
    from cafleet.db import current_version, open_database
    from cafleet.migrations import LATEST_VERSION

    path = database_path()
    before = current_version(path)
    open_database(path)
    if before is None or before == 0:
        message = f"Created database {path} at schema version {LATEST_VERSION}."
    elif before < LATEST_VERSION:
        message = f"Migrated database {path} from schema version {before} to {LATEST_VERSION}."
    else:
        message = f"Database {path} is up to date (schema version {LATEST_VERSION})."
    emit(
        {"database": str(path), "schema_version_before": before or 0, "schema_version": LATEST_VERSION},
        lambda: message,
    )
