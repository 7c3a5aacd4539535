"""Each send's outcome is committed on its own with its audit entry, on SQLite and on PostgreSQL."""

from datetime import datetime

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from csat.config import Workspace
from csat.mail.outcomes import OutcomeLog, record_outcome
from csat.periods import Half
from csat.registry import customers
from csat.store import auditlog
from csat.store.engine import open_store
from csat.store.models import Invitation
from csat.survey import rounds
from csat.survey import send as survey
from csat.workspace import create


def _invitations(store, count: int = 2) -> list[int]:
    with store.session() as session:
        round_ = rounds.open_round(session, Half.parse("2024H1"))
        ids = []
        for number in range(count):
            customer = customers.add(session, code=f"C-{number}", name=f"Customer {number}",
                                     email=f"buyer{number}@example.com")
            ids.append(survey.ensure_invitation(session, round_, customer).id)
    return ids


def _row(store, invitation_id: int) -> Invitation:
    with store.read_session() as session:
        return session.exec(select(Invitation).where(Invitation.id == invitation_id)).one()


def _trail(store, invitation_id: int) -> list[dict]:
    with store.read_session() as session:
        return [entry for entry in auditlog.entries(session, table="invitation", limit=1000)
                if entry["record_id"] == invitation_id and entry["action"] == "update"]


def test_outcomes_are_committed_one_by_one_with_old_and_new_values(store):
    first, second = _invitations(store)
    with OutcomeLog(store) as log:
        log.record(first, "buyer0@example.com", error="550 mailbox unavailable")
        assert _row(store, first).status == "failed"  # committed before the next message
        log.record(first, "new0@example.com", message_id="<1@maker.example>")
        log.record(second, "buyer1@example.com", message_id="<2@maker.example>")
        log.record(second, "buyer1@example.com", message_id="<2@maker.example>")  # the same again: no entry
    sent = _row(store, first)
    assert (sent.status, sent.error, sent.message_id, sent.email) == ("sent", "", "<1@maker.example>",
                                                                       "new0@example.com")
    assert isinstance(sent.sent_at, datetime) and sent.sent_at.microsecond == 0
    later, earlier = _trail(store, first)
    assert earlier["changes"] == {"status": ["pending", "failed"], "error": ["", "550 mailbox unavailable"]}
    assert later["key"] == f"#{first}" and later["actor"]
    assert later["changes"] == {"email": ["buyer0@example.com", "new0@example.com"], "status": ["failed", "sent"],
                                "error": ["550 mailbox unavailable", ""], "message_id": ["", "<1@maker.example>"],
                                "sent_at": [None, sent.sent_at.isoformat()]}
    [only] = _trail(store, second)
    assert set(only["changes"]) == {"status", "message_id", "sent_at"}


def test_a_failed_write_leaves_the_invitation_as_it_was_and_raises_a_store_error(store, workspace):
    [invitation_id] = _invitations(store, 1)
    with OutcomeLog(store) as log:
        with store.engine.begin() as other:  # another connection, as another user would
            other.exec_driver_sql("DROP TABLE audit_log")
        with pytest.raises(DBAPIError, match="audit_log"):
            log.record(invitation_id, "buyer0@example.com", message_id="<1@maker.example>")
    row = _row(store, invitation_id)
    assert (row.status, row.message_id, row.sent_at) == ("pending", "", None)


def test_record_outcome_on_its_own(store):
    [invitation_id] = _invitations(store, 1)
    record_outcome(store, invitation_id, "buyer0@example.com", error="timed out")
    assert (_row(store, invitation_id).status, _row(store, invitation_id).error) == ("failed", "timed out")


def test_a_gone_invitation_is_an_error_not_a_silent_success(store):
    with OutcomeLog(store) as log, pytest.raises(LookupError, match="#999"):
        log.record(999, "x@example.com", message_id="<1@x>")


def test_send_round_records_outcomes_on_postgresql(tmp_path, monkeypatch, postgres_url):
    monkeypatch.setenv("CSAT_DATABASE_URL", postgres_url)
    create(tmp_path / "pg", company="Test Precision Co.", lang="en")
    workspace = Workspace.open(tmp_path / "pg")
    store = open_store(workspace)
    with store.session() as session:
        customers.add(session, code="C-1", name="Acme", contact="李伟", email="li@acme.example")
        broken = customers.add(session, code="C-2", name="Broken", email="two@x.example")
        broken.email = "two@@x.example"  # as an older store might hold it: the message cannot be built
    report = survey.send_round(workspace, store, "2024H1")
    assert report.sent == ["C-1"] and [code for code, _ in report.failed] == ["C-2"]
    with store.read_session() as session:
        rows = {row.email: row for row in session.exec(select(Invitation)).all()}
        entries = auditlog.entries(session, table="invitation", limit=100)
    assert rows["li@acme.example"].status == "sent" and rows["li@acme.example"].message_id
    assert isinstance(rows["li@acme.example"].sent_at, datetime)
    assert rows["two@@x.example"].status == "failed" and "malformed" in rows["two@@x.example"].error
    updates = {entry["record_id"]: entry["changes"] for entry in entries if entry["action"] == "update"}
    assert updates[rows["li@acme.example"].id]["status"] == ["pending", "sent"]
    assert updates[rows["two@@x.example"].id]["status"] == ["pending", "failed"]


def test_invitations_created_in_bulk_are_audited_as_the_orm_would(store):
    with store.session() as session:
        round_ = rounds.open_round(session, Half.parse("2024H1"))
        one = customers.add(session, code="C-1", name="One", email="one@example.com")
        two = customers.add(session, code="C-2", name="Two", email="two@example.com")
    with store.session() as session:
        by_orm = survey.ensure_invitation(session, round_, one)
    with store.session() as session:
        [(bulk_id, bulk_token)] = survey._create_invitations(session, round_, [two]).values()
    with store.read_session() as session:
        entries = {entry["record_id"]: entry for entry in auditlog.entries(session, table="invitation")
                   if entry["action"] == "insert"}
        bulk = session.exec(select(Invitation).where(Invitation.id == bulk_id)).one()
    orm_entry, bulk_entry = entries[by_orm.id], entries[bulk_id]
    assert bulk_entry["key"] == f"#{bulk_id}" and orm_entry["key"] == f"#{by_orm.id}"
    orm_new, bulk_new = orm_entry["changes"]["new"], bulk_entry["changes"]["new"]
    assert list(bulk_new) == list(orm_new) and "token" not in bulk_new
    differing = {name for name in orm_new if orm_new[name] != bulk_new[name]}
    assert differing <= {"id", "customer_id", "email", "created_at"}
    assert bulk_new["email"] == "two@example.com" and bulk_new["status"] == "pending"
    assert (bulk.token, bulk.status, bulk.reminders, bulk.round_id) == (bulk_token, "pending", 0, round_.id)
    assert len(bulk_token) >= 24 and bulk_token != by_orm.token
