"""The same store on PostgreSQL through a database URL."""

import json

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from csat.store.engine import engine_for, schema_revision
from csat.store.migrations import HEAD
from tests.conftest import EXAMPLES


def test_workspace_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    engine = engine_for(postgres_url)
    assert schema_revision(engine) == HEAD
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []
    assert not (tmp_path / "ws" / "csat.db").exists()
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("customer", "edit", "C-003", "--contact", "李娜").exit_code == 0
    listed = json.loads(cli("customer", "list", "--format", "json").stdout)
    assert len(listed) == 10 and listed[2]["contact"] == "李娜"
    assert cli("items", "load", EXAMPLES / "items.toml", "--replace").exit_code == 0
    trail = json.loads(cli("audit", "list", "--table", "customer", "--key", "C-003", "--format", "json").stdout)
    assert trail[0]["changes"] == {"contact": ["李伟", "李娜"]}
    assert cli("db", "upgrade").exit_code == 0


def test_survey_loop_and_reminders_on_postgres(tmp_path, monkeypatch, cli, postgres_url):
    from datetime import date, timedelta

    from csat.config import Workspace
    from csat.store.engine import open_store
    from csat.store.locking import AlreadyRunning, exclusive

    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    assert cli("init", tmp_path / "ws").exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(tmp_path / "ws"))
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("survey", "send", "--half", "2024H1").exit_code == 0
    answers = cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1")
    assert answers.exit_code == 0, answers
    later = (date.today() + timedelta(days=10)).isoformat()
    reminded = cli("remind", "--today", later)
    assert reminded.exit_code == 0 and "reminder(s) sent" in reminded.stderr
    assert len(list((tmp_path / "ws" / "outbox").glob("*reminder1*.eml"))) == 2  # C-009 and C-010 did not answer
    report = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    assert report["responses"] == 8
    workspace = Workspace.open(tmp_path / "ws")
    store = open_store(workspace)
    with exclusive(workspace.root, "remind", store):
        (workspace.root / ".csat-remind.lock").unlink()  # another machine: only the server lock is shared
        try:
            with exclusive(workspace.root, "remind", store):
                raise AssertionError("the server-side lock did not hold")
        except AlreadyRunning:
            pass
