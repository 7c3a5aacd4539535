"""Safe upgrades: serialised across machines, a backup first on SQLite, status words that say what to do,
and a csat version that moves with the schema."""

import os
import sqlite3
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import text

from csat import __version__
from csat.store.engine import engine_for, schema_revision
from csat.store.locking import lock_key
from csat.store.migrations import HEAD, alembic_config, csat_release_for


def test_the_version_moves_with_the_schema(cli):
    """csat 0.N.x ships schema N: a new migration without a version bump fails here."""
    major, minor, _patch = (int(part) for part in __version__.split("."))
    assert (major, minor) == (0, int(HEAD)), f"schema {HEAD} needs csat 0.{int(HEAD)}.0; set csat.__version__"
    assert csat_release_for(HEAD) == f"0.{int(HEAD)}"
    assert cli("--version").stdout.strip() == f"csat {__version__} (store schema {HEAD})"


def _sqlite_store_at(workspace, revision: str) -> str:
    """Replace the workspace's store by one at an older revision holding one customer."""
    url = workspace.database_url
    path = url[len("sqlite:///"):]
    from csat.store.engine import dispose_engines

    dispose_engines()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    with engine_for(url).begin() as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.execute(text("INSERT INTO customer (code, name, contact, email, phone, segment, language, active, "
                                "created_at, updated_at) VALUES ('C-1', 'One', '', 'one@example.com', '', '', 'en', "
                                "1, '2024-01-01', '2024-01-01')"))
    return path


@pytest.mark.sqlite_only("the pre-upgrade copy and `csat db backup` are for SQLite stores")
def test_an_older_sqlite_store_is_backed_up_then_upgraded(workspace, cli):
    path = _sqlite_store_at(workspace, "0004")
    status = cli("db", "status")
    assert f"schema     0004 (older than this csat {__version__} (schema {HEAD}): run `csat db upgrade`)" \
        in status.stderr.replace("\n", " ").replace("  csat", " csat")
    refused = cli("customer", "list")
    assert refused.exit_code == 1 and "older schema (0004); run `csat db upgrade`" in refused.stderr

    backup = cli("db", "backup", workspace.root / "backups" / "old.db")
    assert backup.exit_code == 0, backup
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded
    kept = f"{path}.before-0004"
    assert f"Backed up the store to {kept}" in upgraded.stderr.replace("\n", "")
    assert f"Store upgraded from schema 0004 to schema {HEAD}" in upgraded.stderr
    for copy in (kept, workspace.root / "backups" / "old.db"):
        with sqlite3.connect(copy) as connection:
            assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0004",)
            assert connection.execute("SELECT code FROM customer").fetchall() == [("C-1",)]
        connection.close()
    assert "C-1" in cli("customer", "list").stdout
    again = cli("db", "upgrade")
    assert again.exit_code == 0 and f"Store already at schema {HEAD}" in again.stderr
    assert "Backed up" not in again.stderr
    assert "(current)" in cli("db", "status").stderr


@pytest.mark.sqlite_only("two processes upgrading one SQLite file")
def test_two_sqlite_upgrades_at_once(workspace, tmp_path):
    path = _sqlite_store_at(workspace, "0001")
    from csat.store.engine import dispose_engines

    dispose_engines()
    results = _upgrade_twice({"CSAT_HOME": str(workspace.root)})
    assert sorted(_outcome(result) for result in results) == ["already", "upgraded"], results
    copies = sorted(name for name in os.listdir(os.path.dirname(path)) if ".before-" in name)
    assert copies and all(name.startswith("csat.db.before-0001") for name in copies), copies
    assert schema_revision(engine_for(workspace.database_url)) == HEAD


def test_status_of_a_store_from_a_newer_csat_says_to_upgrade_csat(workspace, store, cli):
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    status = cli("db", "status").stderr.replace("\n", " ")
    assert f"newer than this csat {__version__} knows (schema {HEAD}): written by csat 0.42 or newer; upgrade " \
           "csat on this machine, do not run `csat db upgrade`" in " ".join(status.split())
    assert f"to {HEAD}" not in status
    refused = cli("db", "upgrade")
    assert refused.exit_code == 1 and "written by a newer csat (0.42 or later" in refused.stderr
    assert schema_revision(store.engine) == "0042"


@pytest.mark.sqlite_only("`csat db backup` copies SQLite stores")
def test_a_store_from_a_newer_csat_can_still_be_backed_up(workspace, store, cli):
    cli("customer", "add", "C-1", "--name", "One")
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0042'"))
    target = workspace.root / "backups" / "newer.db"
    assert cli("db", "backup", target).exit_code == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT version_num FROM alembic_version").fetchone() == ("0042",)
        assert copy.execute("SELECT code FROM customer").fetchall() == [("C-1",)]
    copy.close()


def _upgrade_twice(environment: dict) -> list[subprocess.CompletedProcess]:
    env = {key: value for key, value in os.environ.items() if key not in ("CSAT_HOME", "CSAT_DATABASE_URL")}
    runs = [subprocess.Popen([sys.executable, "-m", "csat", "db", "upgrade"], env=env | environment,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = []
    for run in runs:
        stdout, stderr = run.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr))
    return results


def _outcome(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result
    for text_ in ("Traceback", "database error", "duplicate key", "UNIQUE constraint", "already exists"):
        assert text_ not in result.stderr, result
    if f"Store already at schema {HEAD}" in result.stderr:
        return "already"
    if f"Store created at schema {HEAD}" in result.stderr:   # the first upgrade of an empty database
        return "upgraded"
    assert "Store upgraded from " in result.stderr and f"to schema {HEAD}" in result.stderr, result
    return "upgraded"


def test_two_postgres_upgrades_at_once_run_one_after_the_other(tmp_path, monkeypatch, cli, postgres_url):
    import psycopg

    monkeypatch.delenv("CSAT_DATABASE_URL", raising=False)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0          # a folder; its store is the empty PostgreSQL database below
    environment = {"CSAT_HOME": str(root), "CSAT_DATABASE_URL": postgres_url}
    # A third upgrade (another machine) holds the lock while both start, so they surely meet.
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                         application_name="csat 777@quality-server anna db upgrade") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_key("upgrade"),))
        env = {key: value for key, value in os.environ.items() if key not in ("CSAT_HOME",)} | environment
        runs = [subprocess.Popen([sys.executable, "-m", "csat", "db", "upgrade"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for run in runs:
            said = run.stderr.readline()
            assert said.startswith("waiting for another `csat db upgrade` of this store to finish: held by "
                                   "`csat db upgrade` (pid 777 on quality-server, user anna, "), said
        other.execute("SELECT pg_advisory_unlock(%s)", (lock_key("upgrade"),))
        results = []
        for run in runs:
            stdout, stderr = run.communicate(timeout=120)
            results.append(subprocess.CompletedProcess(run.args, run.returncode, stdout, stderr))
    assert sorted(_outcome(result) for result in results) == ["already", "upgraded"], results
    assert schema_revision(engine_for(postgres_url)) == HEAD
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    monkeypatch.setenv("CSAT_HOME", str(root))
    status = cli("db", "status")
    assert f"schema     {HEAD} (current)" in status.stderr
    assert cli("customer", "add", "C-1", "--name", "One").exit_code == 0


def test_a_postgres_upgrade_waits_for_a_suspended_import_and_names_it(tmp_path, monkeypatch, cli, postgres_url):
    """An upgrade takes the writers' locks before its ALTER TABLEs: it names a suspended import and gives up."""
    from tests.test_locks import HOST, suspended_holder

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    root = tmp_path / "ws"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    assert cli("config", "set", "store.lock_timeout", "2").exit_code == 0
    environment = {key: value for key, value in os.environ.items() if key != "CSAT_HOME"} | {"CSAT_HOME": str(root)}
    with suspended_holder(postgres_url, "responses", "import") as holder:
        with engine_for(postgres_url).begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0004'"))  # pretend an older store
        result = subprocess.run([sys.executable, "-m", "csat", "db", "upgrade"], env=environment,
                                capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result
    assert f"held by `csat import` (pid {holder} on {HOST}" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: gave up after 2 s waiting for the writers")
    assert schema_revision(engine_for(postgres_url)) == "0004"           # nothing half done
