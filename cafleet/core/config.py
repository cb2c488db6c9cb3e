"""Settings read from the environment: where the database lives and how much text to show."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from cafleet.core.errors import InvalidInput

DEFAULT_MAX_TEXT_LEN = 200
# Largest message body accepted, in UTF-8 bytes. Big enough for a pasted diff or log,
# small enough that a runaway `--text-file` cannot bloat every poll.
MAX_MESSAGE_BYTES = 1024 * 1024


def default_database_path() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data_home) / "cafleet" / "cafleet.store.db"


POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_QUERY_PASSWORD = re.compile(r"(^|&)password=[^&]*")


class PostgresServer(NamedTuple):
    """A PostgreSQL database named by a libpq URL (credentials may also come from PGPASSFILE
    or the PG* environment, which libpq reads itself)."""

    url: str

    def shown(self) -> str:
        """The URL without its password (in the user part or `?password=`), for messages and `doctor`."""
        parts = urlsplit(self.url)
        if parts.password is not None:
            user = parts.username or ""
            host = parts.netloc.rpartition("@")[2]
            parts = parts._replace(netloc=f"{user}:***@{host}")
        return urlunsplit(parts._replace(query=_QUERY_PASSWORD.sub(r"\1password=***", parts.query)))

    def local_directory(self) -> Path:
        """This machine's private directory for this database: locks, the courier's log."""
        digest = hashlib.sha256(self.shown().encode()).hexdigest()[:12]
        return default_database_path().parent / f"postgres-{digest}"


DatabaseTarget = Path | PostgresServer


def database_target() -> DatabaseTarget:
    """The database to use: `CAFLEET_DATABASE_URL` if set (a SQLite file or a PostgreSQL
    URL), else the SQLite file in the XDG data directory."""
    url = os.environ.get("CAFLEET_DATABASE_URL", "").strip()
    if url.startswith(POSTGRES_SCHEMES):
        return PostgresServer(url)
    return database_path()


def local_directory() -> Path:
    """Where this machine keeps its files for the database in use: beside a SQLite file, or a
    private directory of its own for a PostgreSQL server."""
    target = database_target()
    if isinstance(target, PostgresServer):
        return target.local_directory()
    # Beside the real file, symbolic links followed: processes that reach one database through
    # different links still share its locks (and so one courier).
    return Path(os.path.realpath(target)).parent


def shown_target(target: DatabaseTarget) -> str:
    """The database in words for messages: the file, or the server URL without its password."""
    return f"PostgreSQL {target.shown()}" if isinstance(target, PostgresServer) else str(target)


def database_setting() -> str:
    """`CAFLEET_DATABASE_URL` as a child process must see it: an absolute path or the URL."""
    target = database_target()
    return target.url if isinstance(target, PostgresServer) else str(target)


def database_path() -> Path:
    """The SQLite file to use: `CAFLEET_DATABASE_URL` if set, else the XDG data directory."""
    url = os.environ.get("CAFLEET_DATABASE_URL", "").strip()
    if not url:
        return default_database_path()
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///") :]
    elif "://" in url:
        raise InvalidInput(
            f"CAFLEET_DATABASE_URL={PostgresServer(url).shown()!r} is not supported; use "
            "sqlite:////absolute/path.db, a plain file path or postgresql://user@host/database"
        )
    else:
        raw = url
    if not raw or raw == ":memory:":
        raise InvalidInput(f"CAFLEET_DATABASE_URL={url!r} names no file; use sqlite:////absolute/path.db or a plain file path")
    try:
        path = Path(raw).expanduser()
    except RuntimeError:  # `~someone` for a user that does not exist
        raise InvalidInput(
            f"CAFLEET_DATABASE_URL={url!r} starts with an unknown user's home (~name); use an absolute path"
        ) from None
    if not path.is_absolute():
        # Each process would resolve it against its own working directory: a member that
        # starts elsewhere would silently get an empty database of its own.
        try:
            absolute = Path.cwd() / path
        except OSError:  # the working directory was removed
            absolute = Path("/absolute/path/to") / path
        fixed = f"sqlite:///{absolute}" if url.startswith("sqlite:///") else str(absolute)
        raise InvalidInput(
            f"CAFLEET_DATABASE_URL={url!r} is a relative path, which every process would resolve against "
            f"its own working directory; use an absolute one, e.g. CAFLEET_DATABASE_URL={shlex.quote(fixed)}"
        )
    return path


def worktrees_directory() -> Path | None:
    """`CAFLEET_WORKTREES_DIR`: where members' worktrees go (one directory per repository
    under it), or None for the default beside each repository."""
    raw = os.environ.get("CAFLEET_WORKTREES_DIR", "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"CAFLEET_WORKTREES_DIR={raw!r} is a relative path; use an absolute one")
    return path


def max_text_len() -> int:
    """Codepoints of message text shown by default and in inline previews."""
    raw = os.environ.get("CAFLEET_MAX_TEXT_LEN", "").strip()
    if not raw:
        return DEFAULT_MAX_TEXT_LEN
    # ASCII digits only: int() also reads `٣` or `1_0`, which no user means as a length.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else 0
    if value < 1:
        raise InvalidInput(f"CAFLEET_MAX_TEXT_LEN={raw!r} must be a positive integer (default {DEFAULT_MAX_TEXT_LEN})")
    return value
