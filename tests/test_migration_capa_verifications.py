"""Revision 0005 on a store holding CAPAs: every verification moves to capa_verification, nothing lost.

Each check runs on SQLite and on a real PostgreSQL: a store is migrated to 0002, filled
the way 0002 stores were (the verification in four capa columns), upgraded, downgraded and
upgraded again; what a person sees (`capa show`) is checked after the upgrade.
"""

import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel
from test_migration_answer_key import migrate, schema

from csat.store.engine import engine_for, schema_revision, upgrade
from csat.store.migrations import HEAD

OPENED = datetime(2024, 7, 1, 9, 0)
# number, status, verified_by, verified_at, result, note
CAPAS = [
    ("CAPA-2024-001", "closed", "Zhou Li", datetime(2024, 9, 1, 10, 30), "effective", "No cracks in 3 lots\n第二行"),
    ("CAPA-2024-002", "in_progress", "Li Na", datetime(2024, 8, 2, 14, 0), "not-effective", "Missed once"),
    ("CAPA-2024-003", "open", "", None, "", ""),
    ("CAPA-2024-004", "verified", "QA", None, "effective", ""),  # a hand-edited row: no time; updated_at stands in
]
OLD_COLUMNS = ("verified_by", "verified_at", "verification_result", "verification_note")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def fill_0002_store(url: str) -> None:
    text_columns = ", ".join(("number", "source_kind", "title", "description", "dept", "root_cause", "correction",
                              "corrective_action", "preventive_action", "status", "cancel_reason", "created_at",
                              "updated_at", "closed_at", *OLD_COLUMNS))
    marks = ", ".join(f":{name.strip()}" for name in text_columns.split(","))
    rows = []
    for number, status, by, at, result, note in CAPAS:
        rows.append({"number": number, "source_kind": "other", "title": f"Title {number}", "description": "",
                     "dept": "quality", "root_cause": "cause", "correction": "", "corrective_action": "action",
                     "preventive_action": "", "status": status, "cancel_reason": "", "created_at": OPENED,
                     "updated_at": datetime(2024, 9, 5, 8, 0), "closed_at": datetime(2024, 9, 2) if status == "closed"
                     else None, "verified_by": by, "verified_at": at, "verification_result": result,
                     "verification_note": note})
    with engine_for(url).begin() as connection:
        connection.execute(sa.text(f"INSERT INTO capa ({text_columns}) VALUES ({marks})"), rows)


def old_columns(url: str) -> list[tuple]:
    with engine_for(url).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            f"SELECT number, status, {', '.join(OLD_COLUMNS)} FROM capa ORDER BY number")
            .columns(verified_at=sa.DateTime()))]


def verifications(url: str) -> list[tuple]:
    with engine_for(url).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(
            "SELECT capa.number, v.verified_at, v.verified_by, v.result, v.note, v.entered_at"
            " FROM capa_verification v JOIN capa ON capa.id = v.capa_id ORDER BY v.id")
            .columns(verified_at=sa.DateTime(), entered_at=sa.DateTime()))]


def test_upgrade_moves_every_verification(database_url):
    migrate(database_url, "0002")
    fill_0002_store(database_url)
    before = old_columns(database_url)

    assert upgrade(database_url) == ("0002", HEAD)

    assert verifications(database_url) == [
        ("CAPA-2024-001", datetime(2024, 9, 1, 10, 30), "Zhou Li", "effective", "No cracks in 3 lots\n第二行",
         datetime(2024, 9, 1, 10, 30)),
        ("CAPA-2024-002", datetime(2024, 8, 2, 14, 0), "Li Na", "not-effective", "Missed once",
         datetime(2024, 8, 2, 14, 0)),
        ("CAPA-2024-004", datetime(2024, 9, 5, 8, 0), "QA", "effective", "", datetime(2024, 9, 5, 8, 0)),
    ]
    tables = schema(database_url)
    assert not set(OLD_COLUMNS) & {column[0] for column in tables["capa"]["columns"]}
    assert tables["capa_verification"]["foreign_keys"] == [(("capa_id",), "capa", ("id",))]
    with engine_for(database_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                SQLModel.metadata) == []

    migrate(database_url, "0002", down=True)
    assert schema_revision(engine_for(database_url)) == "0002"
    stood_in = ("CAPA-2024-004", "verified", "QA", datetime(2024, 9, 5, 8, 0), "effective", "")
    assert old_columns(database_url) == before[:3] + [stood_in]  # the missing time stays filled in
    assert "capa_verification" not in schema(database_url)

    assert upgrade(database_url) == ("0002", HEAD)
    assert len(verifications(database_url)) == 3


def test_capa_show_after_the_upgrade(workspace, cli, monkeypatch, tmp_path):
    """What the quality manager sees of an old store's CAPAs: the same verification, now in the history."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setenv("CSAT_DATABASE_URL", url)
    migrate(url, "0002")
    fill_0002_store(url)
    assert cli("db", "upgrade").exit_code == 0
    shown = json.loads(cli("capa", "show", "CAPA-2024-001", "--format", "json").stdout)
    assert (shown["verified_by"], shown["verified_at"], shown["verification_result"], shown["verification_note"]) == (
        "Zhou Li", "2024-09-01T10:30:00", "effective", "No cracks in 3 lots\n第二行")
    assert shown["verifications"] == [{"date": "2024-09-01", "verified_at": "2024-09-01T10:30:00", "by": "Zhou Li",
                                       "result": "effective", "note": "No cracks in 3 lots\n第二行",
                                       "entered_at": "2024-09-01T10:30:00", "result_label": "Effective"}]
    never = json.loads(cli("capa", "show", "CAPA-2024-003", "--format", "json").stdout)
    assert (never["verifications"], never["verified_by"], never["verified_at"]) == ([], "", None)
    # A CAPA the old machine sent back to in_progress keeps its not-effective check and can be verified again.
    assert cli("capa", "verify", "CAPA-2024-002", "--by", "Li Na", "--result", "effective").exit_code == 0
    again = json.loads(cli("capa", "show", "CAPA-2024-002", "--format", "json").stdout)
    assert [(v["date"], v["result"]) for v in again["verifications"]] == [
        ("2024-08-02", "not-effective"), (date.today().isoformat(), "effective")]
    assert again["status"] == "verified"


def test_downgrade_puts_back_the_last_verification(database_url):
    migrate(database_url, "0002")
    fill_0002_store(database_url)
    upgrade(database_url)
    with engine_for(database_url).begin() as connection:
        capa_id = connection.execute(sa.text("SELECT id FROM capa WHERE number = 'CAPA-2024-002'")).scalar()
        connection.execute(sa.text("INSERT INTO capa_verification (capa_id, verified_at, verified_by, result, note,"
                                   " entered_at) VALUES (:capa, :at, 'Li Na', 'not-effective', 'Again', :entered)"),
                           {"capa": capa_id, "at": datetime(2024, 9, 20), "entered": datetime(2024, 10, 1, 8)})
        connection.execute(sa.text("UPDATE capa SET status = 'verified_not_effective' WHERE id = :capa"),
                           {"capa": capa_id})
    migrate(database_url, "0002", down=True)
    assert old_columns(database_url)[1] == ("CAPA-2024-002", "in_progress", "Li Na", datetime(2024, 9, 20),
                                            "not-effective", "Again")
