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

    def new_database(self) -> str:
        name = "t_" + uuid.uuid4().hex[:16]
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return name

    def drop_database(self, name: str) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        try:
            self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _nobody_uid() -> int:
    import pwd

    return pwd.getpwnam("nobody").pw_uid
