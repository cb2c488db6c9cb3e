"""A throwaway PostgreSQL cluster for the tests: `initdb` + `pg_ctl` in a temporary directory,
listening only on a Unix socket there, stopped and removed when the test session ends.

The suite runs on PostgreSQL when `CAFLEET_TEST_ENGINE=postgresql`; each test then gets a
database of its own in the cluster of its pytest worker. As root (CI), the server runs as
`nobody`: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

ENGINE_VARIABLE = "CAFLEET_TEST_ENGINE"
POSTGRES = "postgresql"
SUPERUSER = "cafleet"


def engine() -> str:
    return os.environ.get(ENGINE_VARIABLE, "sqlite") or "sqlite"


def _bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in versions:
        if (directory / name).exists():
            return str(directory / name)
    raise RuntimeError(f"{name} not found: install PostgreSQL (apt install postgresql)")


def postgres_installed() -> bool:
    try:
        return all(_bin(name) for name in ("initdb", "pg_ctl", "psql"))
    except RuntimeError:
        return False


class Cluster:
    """One running PostgreSQL server on a private socket directory."""

    def __init__(self) -> None:
        self._admin = None  # a psycopg connection to `postgres`, for making and dropping databases
        self._migrated: str | None = None
        self.root = Path(tempfile.mkdtemp(prefix="cafleet-pg-"))
        # Others may pass through to the socket, as to /run/postgresql: a sandboxed codex
        # member runs without root's right to enter any directory.
        os.chmod(self.root, 0o711)
        self.data = self.root / "data"
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            os.chown(self.root, _nobody_uid(), -1)
            self._as_user = ["runuser", "-u", "nobody", "--"]
        self._run(
            _bin("initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c max_connections=200"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"), "-w", "start")

    def _run(self, *argv: str) -> None:
        subprocess.run([*self._as_user, *argv], check=True, capture_output=True, timeout=60)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@/{database}?host={self.root}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        result = subprocess.run(
            [_bin("psql"), "-h", str(self.root), "-U", SUPERUSER, "-d", database, "-qAtc", statement],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout

    def _execute(self, statement: str) -> None:
        """Run `statement` on the server's own database, over one connection kept open: a psql
        process for each test's CREATE and DROP cost more than either."""
        if self._admin is None:
            import psycopg

            self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
        self._admin.execute(statement)

    def new_database(self, template: str = "template0") -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        self._execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def migrated_template(self) -> str:
        """A database migrated to the newest schema and never used since, to copy: a test's
        database starts as cafleet leaves a new one, without running every migration again."""
        if self._migrated is None:
            from cafleet.core.config import PostgresServer
            from cafleet.store.db import close_database, open_database

            name = self.new_database()
            open_database(PostgresServer(self.url(name)))
            close_database()  # a template may have no connection while it is copied
            self._migrated = name
        return self._migrated

    def drop_database(self, name: str) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _nobody_uid() -> int:
    import pwd

    return pwd.getpwnam("nobody").pw_uid
