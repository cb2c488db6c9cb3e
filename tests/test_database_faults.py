"""Faults of the database itself: a full disk, a file, directory or filesystem made read-only
after the database was created, a damaged, empty, vanished or locked file, a database linked
into a shared directory, a PostgreSQL database that refuses writes. Each ends in one `Error:`
line naming the file (or server) and the fix, exit 1, no traceback, and the database unchanged;
`doctor` reports the unusable ones and exits 1."""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import NamedTuple

import pytest

from cafleet.store.migrations import LATEST_VERSION
from tests.support import FAKE_PANE, Fleet, cafleet_command, database_dump

sqlite_only = pytest.mark.sqlite_only
BIG = 400 * 1024  # a message body that needs more room than the full disk leaves
SLACK = 256 * 1024  # room left on the "full" disk: enough to open the database, not to write BIG


class Result(NamedTuple):
    code: int
    out: str
    err: str


def _run(*args, env: dict | None = None, preexec=None) -> Result:
    proc = subprocess.run(
        cafleet_command() + [str(a) for a in args],
        capture_output=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        preexec_fn=preexec,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def _refused(result: Result) -> str:
    """The one `Error:` line of a refused command, without its prefix."""
    assert (result.code, result.out) == (1, ""), result
    assert result.err.startswith("Error: ") and len(result.err.splitlines()) == 1, result.err
    assert "Traceback" not in result.err and "cafleet bug" not in result.err, result.err
    return result.err.removeprefix("Error: ").rstrip("\n")


def _fleet(path: Path) -> Fleet:
    """A database at `path` holding a fleet with alice and bob and one unread message for
    alice (task 1 after the fleet's rows), closed again so no connection of this process
    keeps its -wal and -shm files open."""
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet
    from cafleet.broker.messages import send_message
    from cafleet.store.db import close_database, open_database

    open_database(path)
    try:
        created = create_fleet(FAKE_PANE, label="faults")
        alice = register_agent(created.fleet.id, "alice", "writes code")
        bob = register_agent(created.fleet.id, "bob", "reviews code")
        send_message(created.fleet.id, created.director.id, "alice", "first")
    finally:
        close_database()
    return Fleet(created.fleet.id, created.director.id, created.administrator.id, alice.id, bob.id)


def _writes(fleet: Fleet, text_file: Path | None = None) -> list[tuple]:
    """Commands that each write one transaction."""
    body = ("--text-file", text_file) if text_file else ("--text", "hello")
    by_director = ("--fleet-id", fleet.fleet_id)
    return [
        (*by_director, "message", "send", "--agent-id", fleet.director_id, "--to", "alice", *body),
        (*by_director, "message", "broadcast", "--agent-id", fleet.director_id, *body),
        (*by_director, "message", "ack", "--agent-id", fleet.alice_id, "--task-id", _first_task(fleet)),
        (*by_director, "agent", "register", "--name", "carol", "--description", "tests"),
    ]


def _first_task(fleet: Fleet) -> int:
    url = os.environ["CAFLEET_DATABASE_URL"]
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute("SELECT min(id) FROM tasks WHERE owner_id = ?", (fleet.alice_id,)).fetchone()[0]


def _bound_by_file_modes() -> None:
    """preexec_fn: a child of root loses the capabilities that let it ignore file modes
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so chmod binds it as it binds any other user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _listing(directory: Path) -> dict[str, bytes | None]:
    return {p.name: (None if p.is_dir() else p.read_bytes()) for p in sorted(directory.iterdir())}


# --------------------------------------------------------------------------- a full disk


class SmallDisk(NamedTuple):
    directory: Path
    how: str  # "tmpfs": a small filesystem mounted here; "file-size limit": RLIMIT_FSIZE in the child

    def fill(self, leave: int) -> None:
        """Take the filesystem's free space down to about `leave` bytes."""
        if self.how != "tmpfs":
            return
        info = os.statvfs(self.directory)
        free = info.f_bavail * info.f_frsize
        with open(self.directory / "filler", "wb") as filler:
            chunk = b"\0" * (64 * 1024)
            remaining = max(free - leave, 0)
            try:
                while remaining > 0:
                    remaining -= filler.write(chunk[:remaining])
                    filler.flush()
            except OSError:  # full already: that is what was asked
                pass

    def free(self) -> None:
        (self.directory / "filler").unlink(missing_ok=True)

    def limited(self, limit: int):
        """preexec_fn for the child: under the file-size limit when there is no small filesystem."""
        if self.how == "tmpfs":
            return None
        return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@contextmanager
def _small_disk(directory: Path) -> Iterator[SmallDisk]:
    """A 4 MiB tmpfs mounted at `directory` where this process may mount one; elsewhere the
    test's children run under a file-size limit (RLIMIT_FSIZE) instead. Says which ran."""
    directory.mkdir(mode=0o700)
    try:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "cafleet-test", str(directory)],
                capture_output=True,
                timeout=30,
            ).returncode
            == 0
        )
    except FileNotFoundError:
        mounted = False
    disk = SmallDisk(directory, "tmpfs" if mounted else "file-size limit")
    print(f"full disk simulated with: {disk.how}")
    try:
        yield disk
    finally:
        if mounted:
            from cafleet.store.db import close_database

            close_database()
            _unmount(directory)


def _unmount(directory: Path) -> None:
    """Unmount, detaching it lazily if something still holds it: never leave a mount behind."""
    if subprocess.run(["umount", str(directory)], capture_output=True, timeout=30).returncode != 0:
        subprocess.run(["umount", "-l", str(directory)], check=True, timeout=30)
        pytest.fail(f"{directory} was still in use when the test ended (a file left open)")


def _full_message(disk: SmallDisk, path: Path, limit: int) -> str:
    if disk.how == "tmpfs":
        return (
            f"cannot write database {path}: database or disk is full; free space on the filesystem holding {disk.directory} "
            f"(df -h {disk.directory}), then retry"
        )
    return (
        f"cannot write database {path}: disk I/O error while this process may write files of at most {limit} bytes "
        "(ulimit -f); raise the limit (ulimit -f unlimited), then retry"
    )


@sqlite_only
def test_a_full_disk_is_named_with_the_fix_and_changes_nothing(tmp_path, monkeypatch):
    with _small_disk(tmp_path / "disk") as disk:
        path = disk.directory / "cafleet.store.db"
        monkeypatch.setenv("CAFLEET_DATABASE_URL", str(path))
        fleet = _fleet(path)
        text = tmp_path / "big.txt"
        text.write_text("x" * BIG)
        disk.fill(leave=SLACK)
        limit = path.stat().st_size + SLACK
        before = database_dump()
        for args in _writes(fleet, text)[:2]:  # the two that need room for BIG
            message = _refused(_run(*args, preexec=disk.limited(limit)))
            assert message == _full_message(disk, path, limit)
            assert database_dump() == before
        disk.free()
        sent = _run(*_writes(fleet, text)[0], preexec=disk.limited(4 * BIG + path.stat().st_size))
        assert (sent.code, sent.err) == (0, ""), sent  # the fix the message gives


@sqlite_only
def test_a_new_database_on_a_full_disk_leaves_nothing_at_its_path(tmp_path):
    with _small_disk(tmp_path / "disk") as disk:
        path = disk.directory / "cafleet.store.db"
        disk.fill(leave=0)
        before = _listing(disk.directory)
        limit = 16 * 1024
        message = _refused(_run("db", "init", env={"CAFLEET_DATABASE_URL": str(path)}, preexec=disk.limited(limit)))
        assert message == _full_message(disk, path, limit)
        assert _listing(disk.directory) == before  # no empty file, no half-built one, no temp files
        disk.free()
        created = _run("db", "init", env={"CAFLEET_DATABASE_URL": str(path)})
        assert created.out == f"Created database {path} at schema version {LATEST_VERSION}.\n", created


# --------------------------------------------------------------------------- read-only after creation


@sqlite_only
def test_a_database_file_made_read_only_is_named_with_chmod(db_path):
    fleet = _fleet(db_path)
    db_path.chmod(0o400)
    before = database_dump()
    for args in _writes(fleet):
        # SQLite gives the -wal and -shm files it creates the file's mode, and a reader that may
        # not write cannot remove them: the fix names them too.
        assert _refused(_run(*args, preexec=_bound_by_file_modes)) == (
            f"cannot write database {db_path}: the file is read-only (mode 0400); restore its permissions "
            f"(chmod 600 {db_path} {db_path}-wal {db_path}-shm), then retry"
        )
        assert database_dump() == before
    # The fix it gives (this test's dumps, as root, removed the -wal and -shm files meanwhile).
    subprocess.run(["chmod", "600", *(p for p in (db_path, f"{db_path}-wal", f"{db_path}-shm") if os.path.exists(p))], check=True)
    registered = _run(*_writes(fleet)[3], preexec=_bound_by_file_modes)
    assert (registered.code, registered.err) == (0, ""), registered


@sqlite_only
def test_a_database_directory_made_read_only_is_named_with_chmod(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    path = directory / "cafleet.store.db"
    monkeypatch.setenv("CAFLEET_DATABASE_URL", str(path))
    fleet = _fleet(path)
    poll = ("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.alice_id)
    commands = [*_writes(fleet), poll]
    before = database_dump()
    directory.chmod(0o500)
    try:
        listing = _listing(directory)
        for args in commands:  # SQLite cannot even read a WAL database without its -shm file
            assert _refused(_run(*args, preexec=_bound_by_file_modes)) == (
                f"cannot write database {path}: its directory {directory} is read-only (mode 0500) and SQLite keeps the "
                f"database's -wal and -shm files there; restore its permissions (chmod 700 {directory}), then retry"
            )
            assert _listing(directory) == listing
    finally:
        directory.chmod(0o700)
    assert database_dump() == before
    assert _run(*poll, preexec=_bound_by_file_modes).code == 0


@sqlite_only
@pytest.mark.skipif(os.geteuid() != 0, reason="remounting a directory read-only needs root")
def test_a_filesystem_remounted_read_only_is_named(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    directory.mkdir(mode=0o700)
    path = directory / "cafleet.store.db"
    monkeypatch.setenv("CAFLEET_DATABASE_URL", str(path))
    writes = _writes(_fleet(path))
    before = database_dump()
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True, timeout=30)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True, timeout=30)
        for args in writes:
            assert _refused(_run(*args)) == (
                f"cannot write database {path}: the filesystem holding {directory} is mounted read-only; remount it "
                "read-write, or set CAFLEET_DATABASE_URL to a file on a writable filesystem"
            )
    finally:
        _unmount(directory)
    assert database_dump() == before


# --------------------------------------------------------------------------- damaged, empty, vanished, locked


def _damage_the_tasks_table(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()[0]
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


@sqlite_only
def test_a_damaged_database_is_named_with_the_way_out(cli, db_path):
    fleet = _fleet(db_path)
    _damage_the_tasks_table(db_path)
    damaged = db_path.read_bytes()
    poll = ("--fleet-id", fleet.fleet_id, "message", "poll", "--agent-id", fleet.alice_id)
    for args in [poll, *_writes(fleet)[:2]]:
        assert _refused(cli(*args)) == (
            f"database {db_path} is damaged (database disk image is malformed); move it aside (mv {db_path} "
            f"{db_path}.broken, and {db_path}-wal to {db_path}.broken-wal if it is there) and run `cafleet db init` to "
            "start a new one, or restore it from a backup"
        )
        assert db_path.read_bytes() == damaged
    assert sorted(p.name for p in db_path.parent.glob("cafleet.store.db*")) == ["cafleet.store.db"]

    report = cli("--json", "doctor")
    assert report.code == 1
    assert any(p.startswith(f"database {db_path} is damaged (") for p in report.json()["problems"]), report.json()["problems"]

    db_path.rename(f"{db_path}.broken")  # the way out the message gives
    assert cli("db", "init").out == f"Created database {db_path} at schema version {LATEST_VERSION}.\n"


@sqlite_only
def test_a_file_that_is_no_database_says_so_without_calling_it_cafleets(cli, db_path):
    db_path.write_bytes(b"meeting notes\n" * 200)
    assert _refused(cli("fleet", "list")) == (
        f"{db_path} is not a cafleet database (file is not a database); if it is a damaged one, move it aside "
        f"(mv {db_path} {db_path}.broken, and {db_path}-wal to {db_path}.broken-wal if it is there) and run "
        "`cafleet db init` to start a new one; otherwise set CAFLEET_DATABASE_URL to your cafleet database"
    )
    assert db_path.read_bytes() == b"meeting notes\n" * 200


@sqlite_only
@pytest.mark.parametrize(
    "args",
    [
        ("fleet", "list"),
        ("db", "init"),
        ("--fleet-id", "1", "message", "poll", "--agent-id", "1"),
        ("--fleet-id", "1", "message", "send", "--agent-id", "1", "--to", "2", "--text", "hi"),
    ],
    ids=" ".join,
)
def test_an_empty_file_is_refused_not_initialised(cli, db_path, args):
    db_path.touch(mode=0o600)
    expected = (
        f"database {db_path} is an empty file (0 bytes), not a cafleet database; cafleet left it untouched: remove it "
        f"(rm {db_path}) and the next command creates a new database there, or set CAFLEET_DATABASE_URL to another file"
    )
    before = _listing(db_path.parent)
    assert _refused(cli(*args)) == expected
    assert _listing(db_path.parent) == before  # still empty, no -wal, no locks/

    report = cli("--json", "doctor")
    assert report.code == 1 and report.json()["problems"].count(expected) == 1, report
    db_path.unlink()  # the fix the message gives
    assert cli("fleet", "list").code == 0


@sqlite_only
def test_a_new_database_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    """The schema is built in a file of its own and linked into place, so a process starting on
    the same new database never finds an empty or half-built file at the path."""
    import cafleet.store.db_create
    from cafleet.store.db import close_database, open_database

    path = tmp_path / "new" / "cafleet.store.db"
    seen_while_building = []
    real_migrate = cafleet.store.db_create.migrate

    def watching(conn, where, *args, **kwargs):
        seen_while_building.append(os.path.lexists(path))
        return real_migrate(conn, where, *args, **kwargs)

    monkeypatch.setattr(cafleet.store.db_create, "migrate", watching)
    open_database(path)
    close_database()
    assert seen_while_building[0] is False  # the build; later calls find the database current
    assert sorted(p.name for p in path.parent.iterdir()) == ["cafleet.store.db"]  # no temp file left
    assert path.stat().st_mode & 0o777 == 0o600 and path.stat().st_nlink == 1
    with closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@sqlite_only
def test_a_wal_left_without_its_database_is_not_replayed_into_a_new_one(cli, db_path):
    _fleet(db_path)
    orphan = Path(f"{db_path}-wal")
    orphan.write_bytes(b"changes of a database that was moved away" * 10)
    db_path.rename(f"{db_path}.moved")
    assert _refused(cli("fleet", "list")) == (
        f"database {db_path} does not exist, but {orphan} does: it holds changes of a database that was moved or deleted, "
        f"and SQLite would replay them into a new one; move it beside that database (mv {orphan} {db_path}.broken-wal) "
        "or remove it, then retry"
    )
    assert not db_path.exists()


@sqlite_only
def test_a_database_moved_away_while_open_is_gone_for_good(db_path):
    from cafleet.broker.agents import register_agent
    from cafleet.store.db import open_database
    from cafleet.store.db_faults import DatabaseFault, FaultKind

    fleet = _fleet(db_path)
    open_database(db_path)
    db_path.rename(f"{db_path}.moved")
    with pytest.raises(DatabaseFault) as caught:
        register_agent(fleet.fleet_id, "carol", "tests")
    assert caught.value.kind is FaultKind.GONE and caught.value.kind.permanent
    assert caught.value.message == (
        f"database {db_path} was moved or deleted while cafleet was using it; put it back, or run `cafleet db init` "
        "to start a new one"
    )


@sqlite_only
def test_a_thread_connecting_after_the_file_was_deleted_finds_it_gone_and_creates_nothing(db_path):
    from cafleet.broker.fleets import list_fleets
    from cafleet.store.db import open_database
    from cafleet.store.db_faults import FaultKind, fault_of

    _fleet(db_path)
    open_database(db_path)
    for name in ("cafleet.store.db", "cafleet.store.db-wal", "cafleet.store.db-shm"):
        (db_path.parent / name).unlink(missing_ok=True)
    failures: list[BaseException] = []

    def reader() -> None:
        try:
            list_fleets()
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join(timeout=30)
    assert len(failures) == 1
    fault = fault_of(failures[0])
    assert fault is not None and fault.kind is FaultKind.GONE
    assert not db_path.exists()  # a connection never creates the file: no empty database appears


@sqlite_only
def test_a_lock_held_past_the_busy_timeout_is_a_fault_that_may_pass(db_path):
    from cafleet.store.db_faults import FaultKind, fault_of

    _fleet(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    waiter = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    try:
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError) as caught:
            waiter.execute("BEGIN IMMEDIATE")
    finally:
        holder.close()
        waiter.close()
    fault = fault_of(caught.value, db_path)
    assert fault is not None and fault.kind is FaultKind.LOCKED and not fault.kind.permanent
    assert fault.message == (
        f"database {db_path} is locked by another process (cafleet waits for it up to 30 s); retry, or find the "
        f"process that holds it (fuser {db_path})"
    )


def test_which_faults_a_long_running_process_should_leave_on():
    from cafleet.store.db_faults import FaultKind

    assert {kind.value for kind in FaultKind if kind.permanent} == {"damaged", "gone"}
    assert {kind.value for kind in FaultKind if not kind.permanent} == {"full", "read-only", "locked", "unreachable", "io-error"}


def test_an_error_that_is_no_database_fault_stays_a_bug():
    from cafleet.store.db_faults import fault_of

    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("SELECT * FROM no_such_table")
    assert fault_of(caught.value, Path("/x/cafleet.store.db")) is None
    assert fault_of(ValueError("not a database error")) is None


# --------------------------------------------------------------------------- a symbolic link


@sqlite_only
def test_a_database_linked_into_a_shared_sticky_directory_is_refused_with_its_planted_wal(cli, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    real = shared / "cafleet.store.db"
    made = private / "made.db"
    _fleet(made)
    os.rename(made, real)  # a cafleet database moved where others can reach it
    planted = shared / "cafleet.store.db-wal"
    planted.write_bytes(b"written by another user" * 100)
    planted.chmod(0o666)
    foreign = ""
    if os.geteuid() == 0:
        os.chown(planted, 65534, 65534)
        foreign = f"; {planted} there belongs to uid 65534"
    link = private / "cafleet.store.db"
    link.symlink_to(real)
    env = {"CAFLEET_DATABASE_URL": str(link)}
    expected = (
        f"database {link} is a symbolic link to {real}, whose directory {shared} is writable by other users (mode 1777): "
        f"SQLite keeps the database's -wal and -shm files beside {real}, where other users can read or plant them{foreign}; "
        f"move the database into a private directory (mv {real} {link}), or set CAFLEET_DATABASE_URL to a file in one"
    )
    before = _listing(shared)
    for args in [("fleet", "list"), ("db", "init"), ("--fleet-id", "1", "message", "poll", "--agent-id", "4")]:
        assert _refused(cli(*args, env=env)) == expected
        assert _listing(shared) == before  # the planted WAL neither read into nor replaced; no -shm
    assert sorted(p.name for p in private.iterdir()) == ["cafleet.store.db"]  # no locks/ either

    report = cli("--json", "doctor", env=env)
    assert report.code == 1 and expected in report.json()["problems"], report

    os.rename(real, link)  # the fix the message gives: mv REAL LINK
    listed = cli("fleet", "list", env=env)
    assert listed.code == 0 and "faults" in listed.out, listed


@sqlite_only
def test_a_database_linked_into_another_private_directory_keeps_its_locks_beside_the_real_file(cli, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    here = tmp_path / "here"
    here.mkdir(mode=0o700)
    link = here / "cafleet.store.db"
    link.symlink_to(elsewhere / "cafleet.store.db")
    env = {"CAFLEET_DATABASE_URL": str(link)}
    assert cli("db", "init", env=env).code == 0
    assert (elsewhere / "cafleet.store.db").is_file() and link.is_symlink()
    report = cli("--json", "doctor", env=env)
    assert report.code == 0, report
    assert report.json()["files"]["lock_directory"] == str(elsewhere / "locks")


# --------------------------------------------------------------------------- doctor's exit status


@sqlite_only
@pytest.mark.parametrize(
    "state, code",
    [
        ("missing", 0),
        ("current", 0),
        ("older", 0),
        ("newer", 1),
        ("damaged", 1),
        ("read-only", 1),
    ],
)
def test_doctor_exits_1_only_when_the_database_cannot_be_used(db_path, state, code):
    if state != "missing":
        _fleet(db_path)
    if state in ("older", "newer"):
        with closing(sqlite3.connect(db_path)) as conn:
            conn.execute(f"PRAGMA user_version = {LATEST_VERSION + (1 if state == 'newer' else -1)}")
    if state == "damaged":
        _damage_the_tasks_table(db_path)
    if state == "read-only":
        db_path.chmod(0o400)
    result = _run("--json", "doctor", preexec=_bound_by_file_modes)
    assert result.code == code, result
    assert json.loads(result.out)["database"]["path"] == str(db_path)  # the whole report, whatever the status
    if state == "read-only":  # reading it left SQLite's -wal and -shm, with the file's mode
        names = " ".join(p for p in (str(db_path), f"{db_path}-wal", f"{db_path}-shm") if os.path.exists(p))
        assert (
            f"cannot write database {db_path}: the file is read-only (mode 0400); restore its permissions "
            f"(chmod 600 {names}), then retry"
        ) in json.loads(result.out)["problems"]


# --------------------------------------------------------------------------- PostgreSQL


def test_a_postgresql_database_that_refuses_writes_is_named_with_the_fix(postgres_url, postgres_cluster, monkeypatch):
    from urllib.parse import urlsplit

    from cafleet.core.config import PostgresServer

    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    from cafleet.store.db import close_database, open_database

    open_database()
    from cafleet.broker.agents import register_agent
    from cafleet.broker.fleets import create_fleet

    created = create_fleet(FAKE_PANE, label="faults")
    register_agent(created.fleet.id, "alice", "writes code")
    close_database()
    name = urlsplit(postgres_url).path.lstrip("/")
    postgres_cluster.sql(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    before = database_dump()
    result = _run(
        "--fleet-id", created.fleet.id, "message", "send", "--agent-id", created.director.id, "--to", "alice", "--text", "hello"
    )
    assert _refused(result) == (
        f"PostgreSQL {PostgresServer(postgres_url).shown()} refuses writes (cannot execute INSERT in a read-only "
        "transaction): it is a read-only standby, or default_transaction_read_only is on; point CAFLEET_DATABASE_URL "
        "at the primary, or turn it off (ALTER DATABASE … SET default_transaction_read_only = off)"
    )
    assert database_dump() == before


# --------------------------------------------------------------------------- the TUI


@sqlite_only
async def test_the_tui_composer_names_a_database_moved_away_and_stays_up(db, db_path):
    from cafleet.screens.app import build_app
    from tests.tui_support import build_story, settle

    story = build_story()
    app = build_app(story.fleet_id, watch_changes=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        db_path.rename(f"{db_path}.moved")
        field = app.screen.query_one("#composer-input")
        field.value = "@bob hello"
        await pilot.press("enter")
        await settle(pilot)
        error = str(app.screen.query_one("#composer-error").render())
        assert f"database {db_path} was moved or deleted while cafleet was using it" in error.replace("\n", ""), error
        assert field.value == "@bob hello"  # kept, to send again once the database is back
    assert not db_path.exists()  # nothing was created in its place
