"""Where the database may live and what cafleet may open: directories and files others can
reach, another application's SQLite file, a damaged cafleet file, and paths the file system
rejects. Every refusal is one `Error:` line naming the path and the fix, and changes nothing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from cafleet.store.migrations import LATEST_VERSION

pytestmark = pytest.mark.sqlite_only

COMMANDS = [("fleet", "list"), ("db", "init"), ("--fleet-id", "1", "message", "poll", "--agent-id", "1")]
ids = " ".join


def _refused(result, code: int = 1) -> str:
    assert (result.code, result.out) == (code, ""), result
    assert result.err.startswith("Error: ") and len(result.err.splitlines()) == 1, result.err
    assert "Traceback" not in result.err and "cafleet bug" not in result.err
    return result.err.removeprefix("Error: ").rstrip("\n")


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every entry under `root` with its bytes (None for a directory)."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o7777


def _url(path: Path) -> dict:
    return {"CAFLEET_DATABASE_URL": str(path)}


# --------------------------------------------------------------------------- the directory


@pytest.mark.parametrize("args", COMMANDS, ids=ids)
def test_a_shared_sticky_directory_like_tmp_is_refused(cli, tmp_path, args):
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    result = cli(*args, env=_url(shared / "cafleet.store.db"))
    assert _refused(result) == (
        f"database directory {shared} is writable by other users (mode 1777); keep the database in a private "
        f"directory (e.g. CAFLEET_DATABASE_URL={tmp_path / 'xdg-data' / 'cafleet' / 'cafleet.store.db'})"
    )
    assert list(shared.iterdir()) == []  # no database, no locks/


@pytest.mark.parametrize(
    "mode, who", [(0o750, "readable by"), (0o770, "writable by"), (0o755, "readable by"), (0o711, "open to")]
)
def test_a_directory_others_can_reach_is_refused_with_chmod_as_a_fix(cli, tmp_path, mode, who):
    directory = tmp_path / "project"
    directory.mkdir()
    directory.chmod(mode)
    result = cli("fleet", "list", env=_url(directory / "cafleet.store.db"))
    message = _refused(result)
    assert message.startswith(
        f"database directory {directory} is {who} other users (mode {mode:04o}); run chmod 700 {directory}, or "
    )
    assert list(directory.iterdir()) == []
    directory.chmod(0o700)  # the fix the message gives works
    assert cli("fleet", "list", env=_url(directory / "cafleet.store.db")).code == 0


def test_an_existing_database_in_a_directory_that_became_shared_is_refused_and_left_alone(cli, tmp_path):
    directory = tmp_path / "was-private"
    directory.mkdir(mode=0o700)
    env = _url(directory / "cafleet.store.db")
    assert cli("db", "init", env=env).code == 0
    directory.chmod(0o777)
    before = _tree(directory)
    message = _refused(cli("fleet", "list", env=env))
    assert f"database directory {directory} is writable by other users (mode 0777)" in message
    assert _tree(directory) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_directory_of_another_user_is_refused(cli, tmp_path):
    directory = tmp_path / "theirs"
    directory.mkdir(mode=0o700)
    os.chown(directory, 65534, 65534)
    message = _refused(cli("fleet", "list", env=_url(directory / "cafleet.store.db")))
    assert message.startswith(
        f"database directory {directory} belongs to another user (uid 65534); keep the database in a private directory"
    )
    assert list(directory.iterdir()) == []


def test_a_new_default_directory_is_private(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    assert cli("db", "init").code == 0
    directory = tmp_path / "xdg-data" / "cafleet"
    assert _mode(directory) == 0o700 and _mode(directory / "cafleet.store.db") == 0o600


def test_a_default_directory_that_others_can_reach_is_refused_without_pointing_back_at_itself(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("CAFLEET_DATABASE_URL")
    directory = tmp_path / "xdg-data" / "cafleet"
    directory.mkdir(parents=True)
    directory.chmod(0o755)
    assert _refused(cli("fleet", "list")) == (
        f"database directory {directory} is readable by other users (mode 0755); run chmod 700 {directory}, "
        "or keep the database in a private directory"
    )


# --------------------------------------------------------------------------- the file


def test_a_cafleet_database_file_others_may_read_is_made_private_with_a_note(cli, db_path):
    assert cli("db", "init").code == 0
    db_path.chmod(0o644)
    result = cli("fleet", "list")
    assert result.code == 0, result
    assert result.err == (
        f"Note: made {db_path}, {db_path}-wal, {db_path}-shm private (mode 0644 -> 0600): only you may read cafleet's messages\n"
    )
    assert _mode(db_path) == 0o600  # (the side files went when the command closed the database)
    assert cli("fleet", "list").err == ""  # once


def test_doctor_reports_a_loose_database_file_without_changing_it(cli, db_path):
    assert cli("db", "init").code == 0
    db_path.chmod(0o640)
    report = cli("--json", "doctor").json()
    assert (
        f"database file {db_path} is readable by other users (mode 0640); the next cafleet command makes it private, "
        f"or run chmod 600 {db_path}"
    ) in report["problems"]
    assert _mode(db_path) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_database_file_of_another_user_is_refused(cli, db_path):
    assert cli("db", "init").code == 0
    os.chown(db_path, 65534, 65534)
    before = db_path.read_bytes()
    message = _refused(cli("fleet", "list"))
    assert message.startswith(f"database file {db_path} belongs to another user (uid 65534); use your own database")
    assert db_path.read_bytes() == before


def _other_application(path: Path, journal: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE bookmarks (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("CREATE TABLE tags (bookmark_id INTEGER, tag TEXT)")
    conn.execute("INSERT INTO bookmarks (url) VALUES ('https://example.org')")
    conn.commit()
    conn.close()


@pytest.mark.parametrize("journal", ["delete", "wal"])
@pytest.mark.parametrize("args", COMMANDS, ids=ids)
def test_another_applications_sqlite_file_is_never_touched(cli, tmp_path, journal, args):
    directory = tmp_path / "apps"
    directory.mkdir(mode=0o700)
    theirs = directory / "bookmarks.db"
    _other_application(theirs, journal)
    theirs.chmod(0o644)  # not cafleet's to tighten either
    before = _tree(directory)
    message = _refused(cli(*args, env=_url(theirs)))
    assert message == (
        f"{theirs} is an SQLite database of another application (tables: bookmarks, tags); cafleet left it "
        "untouched: point CAFLEET_DATABASE_URL at a new file"
    )
    assert _tree(directory) == before  # same bytes, no -wal or -shm, no locks/
    assert _mode(theirs) == 0o644


def test_doctor_names_another_applications_file(cli, tmp_path):
    theirs = tmp_path / "other.db"
    _other_application(theirs, "delete")
    before = theirs.read_bytes()
    report = cli("--json", "doctor", env=_url(theirs)).json()
    assert any(p.startswith(f"{theirs} is an SQLite database of another application") for p in report["problems"])
    assert report["database"]["exists"] is False
    assert theirs.read_bytes() == before


@pytest.mark.parametrize("args", COMMANDS, ids=ids)
def test_a_version_without_its_tables_is_called_damaged_with_the_way_out(cli, db_path, args):
    assert cli("db", "init").code == 0
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DROP TABLE agent_states")
    conn.execute("DROP TABLE tasks")
    conn.close()
    before = db_path.read_bytes()
    message = _refused(cli(*args))
    assert message == (
        f"database {db_path} has cafleet schema version {LATEST_VERSION} but lacks the tables agent_states, tasks: "
        f"it is damaged or belongs to another application; move it aside (mv {db_path} {db_path}.broken) and cafleet "
        "creates a new one on the next command, or point CAFLEET_DATABASE_URL at another file"
    )
    assert db_path.read_bytes() == before
    db_path.rename(f"{db_path}.broken")  # the way out the message gives
    recovered = cli("fleet", "list")
    assert (recovered.code, recovered.err) == (0, ""), recovered


def test_another_application_that_sets_user_version_is_not_migrated(cli, tmp_path):
    theirs = tmp_path / "versioned.db"
    _other_application(theirs, "delete")
    conn = sqlite3.connect(theirs, isolation_level=None)
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    before = theirs.read_bytes()
    message = _refused(cli("db", "init", env=_url(theirs)))
    assert message.startswith(
        f"database {theirs} has cafleet schema version 2 but lacks the tables agents, fleets, monitor_config"
    )
    assert theirs.read_bytes() == before


# --------------------------------------------------------------------------- paths the file system rejects


@pytest.mark.parametrize("where", ["file", "directory"])
@pytest.mark.parametrize("args", COMMANDS, ids=ids)
def test_a_path_component_too_long_is_a_clear_error(cli, tmp_path, where, args):
    long = "x" * 300
    path = tmp_path / f"{long}.db" if where == "file" else tmp_path / long / "cafleet.store.db"
    before = _tree(tmp_path)
    message = _refused(cli(*args, env=_url(path)))
    assert message == (
        f"cannot use database {path}: File name too long; set CAFLEET_DATABASE_URL to a writable path in a private directory"
    )
    assert _tree(tmp_path) == before


def test_doctor_reports_a_path_too_long(cli, tmp_path):
    path = tmp_path / ("y" * 300) / "cafleet.store.db"
    result = cli("--json", "doctor", env=_url(path))
    assert result.code == 1, result  # the whole report, then: the database cannot be used
    assert (
        f"cannot use database {path}: File name too long; set CAFLEET_DATABASE_URL to a writable path in a private directory"
    ) in result.json()["problems"]


def test_a_file_where_the_directory_should_be_is_a_clear_error(cli, tmp_path):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("hello")
    message = _refused(cli("fleet", "list", env=_url(blocker / "cafleet.store.db")))
    assert message == (
        f"database directory {blocker} is not a directory; set CAFLEET_DATABASE_URL to a path in a private directory"
    )
    assert blocker.read_text() == "hello"


def test_a_directory_where_the_file_should_be_is_a_clear_error(cli, tmp_path):
    (tmp_path / "cafleet.store.db").mkdir()
    assert _refused(cli("fleet", "list")) == (
        f"database {tmp_path / 'cafleet.store.db'} is not a file; set CAFLEET_DATABASE_URL to a file path"
    )


def test_an_unknown_users_home_is_a_usage_error(cli, tmp_path):
    message = _refused(cli("fleet", "list", env={"CAFLEET_DATABASE_URL": "~nosuchuser12345/x.db"}), code=2)
    assert (
        message == "CAFLEET_DATABASE_URL='~nosuchuser12345/x.db' starts with an unknown user's home (~name); use an absolute path"
    )


def test_doctor_reports_a_database_directory_others_can_reach(cli, tmp_path):
    directory = tmp_path / "team"
    directory.mkdir()
    directory.chmod(0o770)
    result = cli("--json", "doctor", env=_url(directory / "cafleet.store.db"))
    assert result.code == 1, result  # every database command refuses it
    assert (
        f"database directory {directory} is writable by other users (mode 0770); run chmod 700 {directory}, or keep "
        f"the database in a private directory (e.g. CAFLEET_DATABASE_URL={tmp_path / 'xdg-data' / 'cafleet' / 'cafleet.store.db'})"
    ) in result.json()["problems"]
    assert list(directory.iterdir()) == []


# --------------------------------------------------------------------------- racing a first migration


@pytest.mark.parametrize("before_statement", [1, 2, 3])
def test_a_first_migration_committed_while_the_file_is_checked_is_seen_whole(tmp_path, before_statement):
    """Several agents start on a brand-new file: one migrates while another checks what the file
    is. Whenever the migration commits, the checker must not mistake the file for another
    application's (version 0 read before the commit, tables read after it)."""
    from cafleet.store.migrations import check_is_cafleet, migrate

    path = tmp_path / "cafleet.store.db"
    checker = sqlite3.connect(path, isolation_level=None)
    statements = 0

    def migrate_from_another_process(_sql: str) -> None:
        nonlocal statements
        statements += 1
        if statements == before_statement:
            other = sqlite3.connect(path, isolation_level=None)
            migrate(other, str(path))
            other.close()

    checker.set_trace_callback(migrate_from_another_process)
    check_is_cafleet(checker, str(path))
    checker.set_trace_callback(None)
    checker.close()


def test_a_directory_another_process_makes_first_is_used(tmp_path, monkeypatch):
    """Agents starting together on a new database race to make its directory: the one that
    loses finds it made, instead of refusing the database."""
    from cafleet.store.db import close_database, open_database

    db_file = tmp_path / "fresh" / "nested" / "cafleet.store.db"
    real_mkdir = Path.mkdir

    def another_process_first(self, *args, **kwargs):
        if self == db_file.parent and not self.exists():
            os.makedirs(self, mode=0o700)  # the other agent wins the race
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", another_process_first)
    open_database(db_file)
    close_database()
    assert db_file.is_file() and _mode(db_file.parent) == 0o700
