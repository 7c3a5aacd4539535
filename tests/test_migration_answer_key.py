"""Revision 0002 on a store holding answers: every answer survives, keyed by (response, item).

Each check runs on SQLite and on a real PostgreSQL: a store is migrated to 0001, filled
the way 0001 stores were, upgraded, downgraded and upgraded again.
"""

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from csat.store.engine import engine_for, schema_revision, upgrade
from csat.store.migrations import HEAD, alembic_config
from csat.store.models import Answer, Customer, Item, Response, SurveyRound

ANSWER_VALUES = ("response_id", "item_id", "score", "not_applicable", "raw", "comment")
# (response, item, score, not applicable, raw, comment), deliberately not in key order.
ANSWERS = [
    (2, 3, 62.5, False, "", ""),
    (1, 1, 100.0, False, "", "交货准时 \"good\"\nsecond line"),
    (1, 2, None, True, "N/A", ""),
    (1, 3, None, False, "", ""),
    (3, 1, 0.0, False, "0", ""),
    (2, 1, 87.25, False, "87.25", "ok"),
    (3, 2, 80.0, False, "Good / 好", ""),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def migrate(url: str, revision: str, down: bool = False) -> None:
    """Move the store to `revision` the way `csat db upgrade` does: one transaction on one connection."""
    with engine_for(url).begin() as connection:
        (command.downgrade if down else command.upgrade)(alembic_config(connection), revision)


def fill_0001_store(url: str) -> None:
    """Customers, a round, items, three responses and their answers, as a 0001 store holds them."""
    moment = datetime(2024, 6, 1, 9, 30)
    with engine_for(url).begin() as connection:
        connection.execute(sa.insert(Customer.__table__), [
            {"id": 1, "code": "C-1", "name": "One", "created_at": moment, "updated_at": moment},
            {"id": 2, "code": "C-2", "name": "Two", "created_at": moment, "updated_at": moment}])
        connection.execute(sa.insert(SurveyRound.__table__).values(
            id=1, period="2024H1", status="open", opened_at=moment, due_date=date(2024, 7, 1), template_version=""))
        connection.execute(sa.insert(Item.__table__), [
            {"id": number, "code": f"item_{number}", "label_en": f"Item {number}"} for number in (1, 2, 3)])
        # Only the columns a 0001 response has (later revisions add more).
        response_0001 = sa.Table("response", sa.MetaData(), *(
            sa.Column(column.name, column.type, default=column.default) for column in Response.__table__.columns
            if column.name not in ("withdrawn_at", "withdraw_reason", "source_file_id", "source_sheet", "source_row")))
        connection.execute(sa.insert(response_0001), [
            {"id": 1, "round_id": 1, "customer_id": 1, "respondent": "", "created_at": moment, "updated_at": moment},
            {"id": 2, "round_id": 1, "customer_id": 2, "respondent": "", "created_at": moment, "updated_at": moment},
            {"id": 3, "round_id": 1, "customer_id": 2, "respondent": "Li Na", "created_at": moment,
             "updated_at": moment}])
        marks = ", ".join(f":{name}" for name in ANSWER_VALUES)
        connection.execute(sa.text(f"INSERT INTO answer ({', '.join(ANSWER_VALUES)}) VALUES ({marks})"),
                           [dict(zip(ANSWER_VALUES, answer)) for answer in ANSWERS])


def stored_answers(url: str) -> list[tuple]:
    table = Answer.__table__
    with engine_for(url).connect() as connection:
        return sorted(tuple(row) for row in connection.execute(sa.select(*(table.c[name] for name in ANSWER_VALUES))))


def schema(url: str) -> dict:
    """Everything the inspector sees of the store's tables, column order aside."""
    with engine_for(url).connect() as connection:
        inspector = sa.inspect(connection)
        return {table: {
            "columns": sorted((column["name"], str(column["type"]), column["nullable"], str(column.get("default")))
                              for column in inspector.get_columns(table)),
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign_keys": sorted((tuple(key["constrained_columns"]), key["referred_table"],
                                    tuple(key["referred_columns"])) for key in inspector.get_foreign_keys(table)),
            "unique": sorted(tuple(unique["column_names"]) for unique in inspector.get_unique_constraints(table)),
            "indexes": sorted((index["name"], tuple(index["column_names"]), bool(index["unique"]))
                              for index in inspector.get_indexes(table)),
        } for table in inspector.get_table_names()}


def assert_duplicate_refused(url: str) -> None:
    with pytest.raises(sa.exc.IntegrityError):
        with engine_for(url).begin() as connection:
            connection.execute(sa.text("INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment)"
                                       " VALUES (1, 1, 50, false, '', '')"))


def test_upgrade_keeps_every_answer_under_its_natural_key(database_url):
    migrate(database_url, "0001")
    fill_0001_store(database_url)
    before = stored_answers(database_url)
    assert len(before) == len(ANSWERS)

    assert upgrade(database_url) == ("0001", HEAD)

    assert stored_answers(database_url) == before
    tables = schema(database_url)
    answer = tables["answer"]
    assert answer["primary_key"] == ["response_id", "item_id"]
    assert "id" not in {column[0] for column in answer["columns"]}
    assert answer["unique"] == [] and answer["indexes"] == []
    assert answer["foreign_keys"] == [(("item_id",), "item", ("id",)), (("response_id",), "response", ("id",))]
    response_indexes = {index[0] for index in tables["response"]["indexes"]}
    assert "ix_response_customer_id" in response_indexes and "ix_response_round_id" not in response_indexes
    assert tables["response"]["unique"] == [("round_id", "customer_id", "respondent")]
    assert_duplicate_refused(database_url)
    engine = engine_for(database_url)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                SQLModel.metadata) == []
        if engine.dialect.name == "sqlite":
            definition = connection.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'answer'").scalar()
            assert "WITHOUT ROWID" in definition.upper()
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with pytest.raises(sa.exc.IntegrityError):  # foreign keys still hold
        with engine.begin() as connection:
            connection.execute(sa.text("INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment)"
                                       " VALUES (99, 1, 50, false, '', '')"))


def test_downgrade_restores_0001_and_upgrade_again(database_url):
    migrate(database_url, "0001")
    schema_0001 = schema(database_url)
    fill_0001_store(database_url)
    before = stored_answers(database_url)
    upgrade(database_url)

    migrate(database_url, "0001", down=True)
    assert schema_revision(engine_for(database_url)) == "0001"
    assert schema(database_url) == schema_0001
    assert stored_answers(database_url) == before
    with engine_for(database_url).connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM answer")).scalars().all()
    assert sorted(ids) == list(range(1, len(ANSWERS) + 1))
    assert_duplicate_refused(database_url)
    with engine_for(database_url).begin() as connection:  # a new answer gets a fresh id, as before 0002
        connection.execute(sa.text("INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment)"
                                   " VALUES (2, 2, 70, false, '', '')"))
        assert connection.execute(sa.text("SELECT id FROM answer WHERE response_id = 2 AND item_id = 2")).scalar() \
            > max(ids)

    assert upgrade(database_url) == ("0001", HEAD)
    assert stored_answers(database_url) == sorted(before + [(2, 2, 70.0, False, "", "")])
    assert schema(database_url)["answer"]["primary_key"] == ["response_id", "item_id"]
    with engine_for(database_url).connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), SQLModel.metadata) == []


def test_dangling_answer_stops_the_upgrade_with_nothing_changed(workspace, cli, monkeypatch, tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    monkeypatch.setenv("CSAT_DATABASE_URL", url)
    migrate(url, "0001")
    fill_0001_store(url)
    with sqlite3.connect(path) as raw:  # foreign keys are off by default: an old tool, a hand edit
        raw.execute("INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment)"
                    " VALUES (42, 1, 90, 0, '', '')")
    raw.close()
    before = stored_answers(url)

    result = cli("db", "upgrade")

    assert result.exit_code == 1
    assert "1 answer(s) whose response or item no longer exists" in result.stderr
    assert schema_revision(engine_for(url)) == "0001"
    assert stored_answers(url) == before
    assert "id" in {column[0] for column in schema(url)["answer"]["columns"]}
