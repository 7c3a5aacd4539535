"""The schema is owned by migrations: empty store -> head, head == models, newer stores refused."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlmodel import SQLModel

import csat.store.models  # noqa: F401
from csat.store.engine import engine_for, schema_revision, upgrade
from csat.store.migrations import HEAD, alembic_config, known_revisions


def test_head_constant_matches_scripts():
    script = ScriptDirectory.from_config(alembic_config())
    assert script.get_heads() == [HEAD]
    assert known_revisions() == {revision.revision for revision in script.walk_revisions()}


def test_empty_store_upgrades_to_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert upgrade(url) == (None, HEAD)
    engine = engine_for(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert upgrade(url) == (HEAD, HEAD)


def test_newer_store_is_refused(workspace, store, cli):
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    result = cli("customer", "list")
    assert result.exit_code == 1 and "newer csat" in result.stderr
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 1 and "newer csat" in upgraded.stderr
    assert schema_revision(store.engine) == "9999"


def test_db_status(workspace, cli):
    cli("customer", "add", "C-1", "--name", "One")
    status = cli("db", "status")
    assert HEAD in status.stderr and "current" in status.stderr


@pytest.mark.sqlite_only("`csat db backup` copies the SQLite file with VACUUM INTO")
def test_db_backup(workspace, cli, tmp_path):
    cli("customer", "add", "C-1", "--name", "One")
    target = tmp_path / "backup.db"
    assert cli("db", "backup", target).exit_code == 0
    import sqlite3

    with sqlite3.connect(target) as copy:
        assert copy.execute("select code from customer").fetchall() == [("C-1",)]
    assert cli("db", "backup", target).exit_code == 1


@pytest.mark.sqlite_only("a bulk session turns SQLite's foreign_keys pragma off; PostgreSQL always checks them")
def test_bulk_session_turns_foreign_keys_back_on(workspace, store):
    with store.session(bulk=True) as session:
        assert session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
    with store.session() as session:
        assert session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert session.connection().exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
