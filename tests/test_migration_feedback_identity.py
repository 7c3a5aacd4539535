"""Revision 0004 on a store holding imported feedback: the entries keep matching their log rows.

Before 0004 an imported entry's source_key hashed customer, time received, kind, channel and
text, and closing dates were the day of the import. The upgrade recomputes the key without
the text, so importing the log again (now with a number and a close-date column) finds the
entries already there, corrects their close dates and adds nothing twice. On SQLite and on
a real PostgreSQL.
"""

import hashlib
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from feedback_fixtures import FEEDBACK_LOG
from sqlmodel import Session, select

from csat.feedback.intake import import_file
from csat.store.engine import engine_for, upgrade
from csat.store.migrations import HEAD, alembic_config
from csat.store.models import Customer, Feedback

IMPORT_DAY = datetime(2024, 12, 1, 8, 0)
# Rows 1 and 8 of examples/feedback-log.csv, as a 0002 import stored them (closed on the import day).
OLD_ROWS = [
    (1, "C-001", "quality", "email", "Two pump housings leaked at the pressure test (lot 2404-11)",
     datetime(2024, 4, 8, 9, 30), "closed", "Replacement housings shipped; 8D report started", datetime(2024, 4, 9, 16),
     "HX-200", "Wang Lei", "quality"),
    (2, "C-003", "service", "phone", "现场调试人员未带校准工具，延误一天", datetime(2024, 8, 12, 10, 30), "open", "", None,
     "", "张伟", "engineering"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


def old_key(code, received, kind, channel, text) -> str:
    identity = "\x1f".join([code, received.isoformat(), kind, channel, " ".join(text.split())])
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def fill_0002_store(url: str) -> None:
    with engine_for(url).begin() as connection:
        command.upgrade(alembic_config(connection), "0002")
    with engine_for(url).begin() as connection:
        connection.execute(sa.insert(Customer.__table__), [
            {"id": 1, "code": "C-001", "name": "One", "created_at": IMPORT_DAY, "updated_at": IMPORT_DAY},
            {"id": 3, "code": "C-003", "name": "Three", "created_at": IMPORT_DAY, "updated_at": IMPORT_DAY}])
        for _, code, kind, channel, text, received, status, reply, replied, product, owner, dept in OLD_ROWS:
            connection.execute(sa.text(
                "INSERT INTO feedback (customer_id, kind, complaint, channel, text, received_at, product, owner,"
                " dept, status, reply_text, replied_at, closed_at, source_key, created_at) VALUES (:customer,"
                " :kind, true, :channel, :text, :received, :product, :owner, :dept, :status, :reply, :replied, :closed, :key,"
                " :created)"), {
                "customer": int(code[-1]), "product": product, "owner": owner, "dept": dept, "kind": kind, "channel": channel, "text": text,
                "received": received, "status": status, "reply": reply, "replied": replied,
                "closed": IMPORT_DAY if status == "closed" else None,
                "key": old_key(code, received, kind, channel, text), "created": IMPORT_DAY})


def test_entries_imported_before_keep_matching_their_rows(database_url, workspace):
    fill_0002_store(database_url)
    assert upgrade(database_url) == ("0002", HEAD)
    engine = engine_for(database_url)
    with Session(engine) as session:
        entries = session.exec(select(Feedback).order_by(Feedback.id)).all()
        assert [(entry.source_number, entry.voided_at, entry.void_reason) for entry in entries] == [("", None, "")] * 2
        # Only customers C-001 and C-003 exist here: import the log's rows for them.
        lines = FEEDBACK_LOG.read_text(encoding="utf-8-sig").splitlines()
        log = workspace.root / "log.csv"
        log.write_text("\n".join([lines[0]] + [line for line in lines[1:] if ",C-001," in line or ",C-003," in line])
                       + "\n", encoding="utf-8")
        result = import_file(session, workspace.settings, log, now=datetime(2025, 1, 10))
        session.commit()
        assert result.updated == [1] and result.unchanged == [2] and len(result.added) == 5
        first = session.get(Feedback, 1)
        assert (first.closed_at, first.source_number) == (datetime(2024, 4, 15), "1")  # the log's close date now
        assert session.get(Feedback, 2).source_number == "8"
        assert len(session.exec(select(Feedback)).all()) == 7


def test_downgrade_puts_the_old_keys_back(database_url):
    fill_0002_store(database_url)
    upgrade(database_url)
    with engine_for(database_url).begin() as connection:
        command.downgrade(alembic_config(connection), "0002")
    with engine_for(database_url).connect() as connection:
        keys = [row[0] for row in connection.execute(sa.text("SELECT source_key FROM feedback ORDER BY id"))]
    assert keys == [old_key(code, received, kind, channel, text)
                    for _, code, kind, channel, text, received, *_ in OLD_ROWS]
