"""PostgreSQL: the shared store of a fleet whose agents run on several machines.

The same peewee models and broker functions as on SQLite, with SQLite's guarantees kept:
writers queue one behind another (every write transaction first takes one transaction-level
advisory lock, as SQLite's BEGIN IMMEDIATE takes its write lock), so a broker function sees
the rows it read unchanged until it commits and no serialization failure can reach a caller;
a read-only snapshot (`atomic(lock_type="DEFERRED")`) is a REPEATABLE READ transaction.
The schema version lives in `cafleet_schema`, migrated under the same lock.
"""

from __future__ import annotations

from contextlib import contextmanager

from cafleet.core.config import PostgresServer
from cafleet.core.errors import Refused
from cafleet.store.migrations import LATEST_VERSION, MIGRATIONS, check_not_newer, listed, tables_at

# "cafe" in ASCII: the advisory lock every cafleet writer of a database queues on.
WRITE_LOCK = 0x63616665
VERSION_TABLE = "cafleet_schema"
CONNECT_TIMEOUT_SECONDS = 10


def _database_class():
    from cafleet.store.engine_faults import NamesFaults
    from cafleet.store.orm import PostgresqlDatabase

    class CafleetPostgres(NamesFaults, PostgresqlDatabase):
        engine = "postgresql"

        def fault_target(self) -> PostgresServer:
            return PostgresServer(self.database)

        def cursor(self, named_cursor=None):
            # A connection the server dropped (restarted, or ended this backend) stays "open"
            # to peewee for good: every later statement would fail with "connection already
            # closed". Outside a transaction, forget it and connect afresh.
            dropped = self._state.conn is not None and self._state.conn.closed
            if dropped and not self.in_transaction():
                self._state.reset()
            return super().cursor(named_cursor)

        def begin(self, lock_type: str | None = None, isolation_level=None):  # type: ignore[override]
            cursor = self.cursor()
            if lock_type == "DEFERRED":
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            else:
                cursor.execute("BEGIN")
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))

    return CafleetPostgres


def require_driver(server: PostgresServer) -> None:
    """Refuse, with the install command, when psycopg2 is missing."""
    try:
        import psycopg2  # noqa: F401  (peewee picks the driver it finds)
    except ImportError:
        raise Refused(
            f"CAFLEET_DATABASE_URL names a PostgreSQL database ({server.shown()}) but its driver is not "
            "installed: pip install 'cafleet[postgres]'"
        ) from None


def open_postgres(server: PostgresServer):
    """A connected, migrated peewee database for `server`; refused with the reason and the fix
    when the driver is missing, the server cannot be reached, or the database is not cafleet's."""
    with _connected(server) as database:
        check_and_migrate(database, server.shown())
    return database


def current_version(server: PostgresServer) -> int | None:
    """The schema version without migrating (None: no cafleet tables yet); refused like
    `open_postgres` when the server cannot be reached or the database is another application's."""
    with _connected(server) as database:
        try:
            tables = user_tables(database)
            if VERSION_TABLE not in tables:
                _version_of(database, tables, server.shown())  # refuses another application's tables
                return None
            return schema_version(database)
        finally:
            database.close()


def check_writable(server: PostgresServer) -> None:
    """Connect on a connection of its own and take the writers' lock, as every write does;
    refused with the reason when this process cannot (a sandbox without network access)."""
    with _connected(server) as database:
        try:
            with database.atomic():
                pass
        finally:
            database.close()


@contextmanager
def _connected(server: PostgresServer):
    """A connected peewee database; database errors inside the block become one refusal."""
    require_driver(server)
    from cafleet.store.orm import DatabaseError, InterfaceError, OperationalError

    url = "postgresql://" + server.url.split("://", 1)[1]  # libpq takes both schemes, peewee the long one
    database = _database_class()(
        url,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        application_name="cafleet",
    )
    try:
        database.connect()
        yield database
    except (OperationalError, InterfaceError) as exc:
        database.close()
        raise Refused(f"cannot reach PostgreSQL at {server.shown()}: {_reason(exc)}; {_fix(exc)}") from None
    except DatabaseError as exc:
        database.close()
        raise Refused(f"cannot use PostgreSQL database {server.shown()}: {_reason(exc)}") from None
    except BaseException:
        database.close()
        raise


def _reason(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _fix(exc: Exception) -> str:
    text = str(exc)
    if "password" in text:
        return "give the password in PGPASSFILE (~/.pgpass) or PGPASSWORD, never on a command line"
    if "does not exist" in text:
        return "create it first (createdb, see docs/multi-host.md) or fix the name in CAFLEET_DATABASE_URL"
    return "check that the server runs and CAFLEET_DATABASE_URL names it (host, port, database, sslmode)"


def user_tables(database) -> set[str]:
    rows = database.execute_sql("SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()").fetchall()
    return {row[0] for row in rows}


def schema_version(database) -> int:
    """0 for a database cafleet never migrated."""
    if VERSION_TABLE not in user_tables(database):
        return 0
    row = database.execute_sql(f"SELECT version FROM {VERSION_TABLE}").fetchone()
    return row[0] if row else 0


def check_and_migrate(database, where: str) -> None:
    """Refuse another application's database; bring cafleet's to the latest schema, all or
    nothing, exactly one process migrating when several start at once."""
    # One statement, one snapshot: the first migration creates its tables and the version
    # table together, so they are seen together or not at all.
    tables = user_tables(database)
    version = _version_of(database, tables, where)
    if version == LATEST_VERSION:
        return
    with database.atomic():  # takes the write lock: the others wait, then find it migrated
        tables = user_tables(database)
        version = _version_of(database, tables, where)
        pending = [m for m in MIGRATIONS if m.version > version]
        if not pending:
            return
        if VERSION_TABLE not in tables:
            database.execute_sql(f"CREATE TABLE {VERSION_TABLE} (version INTEGER NOT NULL)")
            database.execute_sql(f"INSERT INTO {VERSION_TABLE} (version) VALUES (0)")
        cursor = database.cursor()
        for migration in pending:
            for statement in migration.postgres_statements():
                cursor.execute(statement)  # no parameters: a "%" in the DDL is just text
        database.execute_sql(f"UPDATE {VERSION_TABLE} SET version = %s", (pending[-1].version,))


def _version_of(database, tables: set[str], where: str) -> int:
    if VERSION_TABLE not in tables:
        if tables:
            raise Refused(
                f"PostgreSQL database {where} holds another application's tables ({listed(tables)}); cafleet left it "
                "untouched: create a database of its own (createdb cafleet) and point CAFLEET_DATABASE_URL at it"
            )
        return 0
    version = schema_version(database)
    check_not_newer(version, where)
    missing = sorted(tables_at(version) - tables)
    if missing:
        raise Refused(
            f"PostgreSQL database {where} has cafleet schema version {version} but lacks the tables "
            f"{', '.join(missing)}: it is damaged; restore it from a backup or point CAFLEET_DATABASE_URL at a new database"
        )
    return version
