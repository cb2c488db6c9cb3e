"""The commands that look at the database itself, on PostgreSQL: `doctor` shows the server
(never a password) and its schema and says what is wrong, `db init` creates cafleet's tables,
the in-pane check connects and takes the writers' lock, and this machine's files for the server
(locks, the courier's log, the demo) live in a private directory of their own. A server out of
reach, a missing driver or another application's tables are one `Error:` line each."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cafleet.store.migrations import LATEST_VERSION

SECRETS = ("url-secret-1", "query-secret-2", "passfile-secret-3")


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _with_password(url: str) -> str:
    """`url` with a password in its user part and in its query (trust auth accepts any)."""
    parts = urlsplit(url)
    return parts._replace(netloc=f"cafleet:{SECRETS[0]}@", query=f"{parts.query}&password={SECRETS[1]}").geturl()


def _one_error_line(result) -> str:
    assert (result.code, result.out) == (1, ""), result
    assert result.err.startswith("Error: ") and len(result.err.splitlines()) == 1, result.err
    assert "Traceback" not in result.err
    return result.err


def _user_tables(cluster, url: str) -> set[str]:
    listed = cluster.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", _database_name(url))
    return set(listed.split())


@pytest.fixture
def pg(postgres_url, monkeypatch):
    monkeypatch.setenv("CAFLEET_DATABASE_URL", postgres_url)
    return postgres_url


# --------------------------------------------------------------------------- doctor


def test_doctor_shows_the_server_and_schema_but_never_a_password(cli, pg, tmp_path):
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"*:*:*:*:{SECRETS[2]}\n")
    passfile.chmod(0o600)
    env = {"CAFLEET_DATABASE_URL": _with_password(pg), "PGPASSFILE": str(passfile)}

    before = cli("--json", "doctor", env=env)
    assert before.code == 0, before.err
    assert any("has no cafleet tables yet" in p for p in before.json()["problems"])
    assert cli("db", "init", env=env).code == 0

    for args in (("--json", "doctor"), ("doctor",)):
        result = cli(*args, env=env)
        assert result.code == 0, result.err
        for secret in SECRETS:
            assert secret not in result.out + result.err
    report = cli("--json", "doctor", env=env).json()
    database = report["database"]
    assert database["engine"] == "postgresql" and database["path"] is None
    assert database["server"].startswith("postgresql://cafleet:***@/") and "password=***" in database["server"]
    assert (database["exists"], database["schema_version"]) == (True, LATEST_VERSION)
    assert not [p for p in report["problems"] if "database" in p or "PostgreSQL" in p]
    text = cli("doctor", env=env).out
    assert f"database: PostgreSQL {database['server']} schema {LATEST_VERSION} (this cafleet: {LATEST_VERSION})" in text


def test_doctor_reports_an_older_and_a_newer_schema(cli, pg, postgres_cluster):
    assert cli("db", "init").code == 0
    name = _database_name(pg)
    postgres_cluster.sql(f"UPDATE cafleet_schema SET version = {LATEST_VERSION - 1}", name)
    older = cli("--json", "doctor").json()
    assert older["database"]["schema_version"] == LATEST_VERSION - 1
    assert (
        f"database schema {LATEST_VERSION - 1} is older than {LATEST_VERSION}; any command upgrades it, or run `cafleet db init`"
        in older["problems"]
    )

    postgres_cluster.sql(f"UPDATE cafleet_schema SET version = {LATEST_VERSION + 1}", name)
    newer = cli("--json", "doctor").json()
    assert newer["database"]["schema_version"] == LATEST_VERSION + 1
    assert any(f"database schema {LATEST_VERSION + 1} is newer than this cafleet" in p for p in newer["problems"])
    assert f"schema version {LATEST_VERSION + 1}" in _one_error_line(cli("fleet", "list"))


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("args", [("fleet", "list"), ("db", "init"), ("--fleet-id", "1", "message", "poll", "--agent-id", "1")])
def test_a_server_out_of_reach_is_one_error_line(cli, tmp_path, args):
    empty = tmp_path / "no-server"  # a socket directory nothing listens in
    empty.mkdir()
    url = f"postgresql://cafleet:{SECRETS[0]}@/cafleet?host={empty}"
    error = _one_error_line(cli(*args, env={"CAFLEET_DATABASE_URL": url}))
    assert error.startswith(f"Error: cannot reach PostgreSQL at postgresql://cafleet:***@/cafleet?host={empty}: ")
    assert "check that the server runs" in error and SECRETS[0] not in error

    report = cli("--json", "doctor", env={"CAFLEET_DATABASE_URL": url})
    assert report.code == 1 and SECRETS[0] not in report.out  # unusable: the report, then exit 1
    assert any(p.startswith("cannot reach PostgreSQL at") for p in report.json()["problems"])


def test_a_missing_driver_names_the_extra_to_install(cli, pg, tmp_path):
    blocker = tmp_path / "no-driver" / "psycopg2"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('psycopg2 is not installed (test)')\n")
    env = {"PYTHONPATH": str(blocker.parent)}
    error = _one_error_line(cli("fleet", "list", env=env))
    assert error.endswith("but its driver is not installed: pip install 'cafleet[postgres]'\n")
    report = cli("--json", "doctor", env=env).json()
    assert any(p.endswith("pip install 'cafleet[postgres]'") for p in report["problems"])


@pytest.mark.parametrize("args", [("db", "init"), ("fleet", "list"), ("doctor",)])
def test_another_applications_tables_are_refused_and_left_untouched(cli, pg, postgres_cluster, args):
    name = _database_name(pg)
    postgres_cluster.sql("CREATE TABLE invoices (id integer); INSERT INTO invoices VALUES (7)", name)
    result = cli(*args)
    expected = "holds another application's tables (invoices); cafleet left it untouched"
    if args == ("doctor",):
        assert result.code == 1 and expected in result.out
    else:
        assert expected in _one_error_line(result)
    assert _user_tables(postgres_cluster, pg) == {"invoices"}
    assert postgres_cluster.sql("SELECT id FROM invoices", name).split() == ["7"]


# --------------------------------------------------------------------------- db init


def test_db_init_creates_cafleets_tables_then_finds_them_current(cli, pg, postgres_cluster):
    created = cli("--json", "db", "init")
    assert created.code == 0, created.err
    assert created.json() == {"database": f"PostgreSQL {pg}", "schema_version_before": 0, "schema_version": LATEST_VERSION}
    assert "cafleet_schema" in _user_tables(postgres_cluster, pg)
    again = cli("db", "init")
    assert again.out == f"Database PostgreSQL {pg} is up to date (schema version {LATEST_VERSION}).\n"


# --------------------------------------------------------------------------- this machine's files


def test_the_servers_local_directory_is_private_with_its_parents(cli, pg, tmp_path):
    from cafleet.core.config import local_directory

    directory = local_directory()
    data_home = Path(os.environ["XDG_DATA_HOME"])
    assert directory.is_relative_to(data_home) and not data_home.exists()
    assert cli("db", "init").code == 0
    for made in (directory, *directory.parents):
        if made == data_home.parent:
            break
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    report = cli("--json", "doctor").json()
    assert report["files"]["lock_directory"] == str(directory / "locks")
    assert not [p for p in report["problems"] if "lock" in p or "directory" in p]


def test_a_local_directory_others_can_reach_is_refused_with_chmod_as_the_fix(cli, pg):
    from cafleet.core.config import local_directory

    assert cli("db", "init").code == 0
    directory = local_directory()
    directory.chmod(0o755)
    error = _one_error_line(cli("fleet", "list"))
    assert error == f"Error: cafleet's directory {directory} is readable by other users (mode 0755); run chmod 700 {directory}\n"
    assert error[len("Error: ") :].strip() in cli("--json", "doctor").json()["problems"]


def test_child_processes_and_demo_files_follow_the_server(pg):
    from cafleet.core.config import database_setting, local_directory
    from cafleet.demo import session as demo
    from cafleet.store.lock_files import courier_log_path

    assert database_setting() == pg
    assert demo.state_file().parent == local_directory() == courier_log_path().parent.parent
    assert demo._pane_environment() == ["-e", f"CAFLEET_DATABASE_URL={pg}"]


# --------------------------------------------------------------------------- in-pane check and codex


def test_the_in_pane_check_connects_and_takes_the_writers_lock(pg, monkeypatch, tmp_path):
    from cafleet.setup.agent_check import _database_writable

    reached = _database_writable()
    assert reached.ok and reached.detail.endswith("is writable from here"), reached
    empty = tmp_path / "no-server"
    empty.mkdir()
    monkeypatch.setenv("CAFLEET_DATABASE_URL", f"postgresql://cafleet:{SECRETS[0]}@/cafleet?host={empty}")
    failed = _database_writable()
    assert not failed.ok and "is not writable from here (cannot reach PostgreSQL" in failed.detail
    assert "needs network access" in failed.fix and "sandbox_workspace_write.network_access=true" in failed.fix
    assert SECRETS[0] not in failed.detail + failed.fix


@pytest.mark.parametrize("over_network", [False, True])
def test_codex_members_get_network_access_only_for_a_server(tmp_path, over_network):
    from cafleet.backends import Autonomy
    from cafleet.backends.base import SpawnContext
    from cafleet.backends.codex import Codex

    plan = Codex().plan(
        SpawnContext(
            executable="codex",
            name="ann",
            prompt="hi",
            model=None,
            fleet_id=1,
            database_dir=tmp_path,
            autonomy=Autonomy(),
            environment={},
            database_over_network=over_network,
        )
    )
    assert ("-c" in plan.argv) is over_network
    assert ("sandbox_workspace_write.network_access=true" in plan.argv) is over_network
    assert any("network access" in g for g in plan.grants) is over_network
