"""Settings read from the environment: where the database lives and how much text to show."""

from __future__ import annotations

import os
from pathlib import Path

from cafleet.errors import InvalidInput

DEFAULT_MAX_TEXT_LEN = 200
# Largest message body accepted, in UTF-8 bytes. Big enough for a pasted diff or log,
# small enough that a runaway `--text-file` cannot bloat every poll.
MAX_MESSAGE_BYTES = 1024 * 1024


def database_path() -> Path:
    """The SQLite file to use: `CAFLEET_DATABASE_URL` if set, else the XDG data directory."""
    url = os.environ.get("CAFLEET_DATABASE_URL", "").strip()
    if not url:
        data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
        return Path(data_home) / "cafleet" / "cafleet.db"
    if url.startswith("sqlite:///"):
        raw = url[len("sqlite:///"):]
    elif "://" in url:
        raise InvalidInput(
            f"CAFLEET_DATABASE_URL={url!r} is not supported; "
            "use sqlite:////absolute/path.db or a plain file path"
        )
    else:
        raw = url
    if not raw or raw == ":memory:":
        raise InvalidInput(
            f"CAFLEET_DATABASE_URL={url!r} names no file; "
            "use sqlite:////absolute/path.db or a plain file path"
        )
    return Path(raw).expanduser()


def max_text_len() -> int:
    """Codepoints of message text shown by default and in inline previews."""
    raw = os.environ.get("CAFLEET_MAX_TEXT_LEN", "").strip()
    if not raw:
        return DEFAULT_MAX_TEXT_LEN
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise InvalidInput(f"CAFLEET_MAX_TEXT_LEN={raw!r} must be a positive integer (default {DEFAULT_MAX_TEXT_LEN})")
    return value
