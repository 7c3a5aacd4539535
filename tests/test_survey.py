"""Sending a round into the outbox: invitations, re-runs, dry runs, interruptions."""

import os
import signal
from datetime import date
from email import message_from_bytes, policy

import pytest
from sqlmodel import select

from csat.errors import Conflict, NotFound
from csat.forms.xlsx import read_identity
from csat.registry import customers
from csat.store.models import Invitation, SurveyRound
from csat.survey import rounds
from csat.survey import send as survey


@pytest.fixture
def imported(store, customers_csv):
    with store.session() as session:
        customers.import_file(session, customers_csv)


def _eml(workspace):
    return {path.name: message_from_bytes(path.read_bytes(), policy=policy.default)
            for path in sorted(workspace.outbox.glob("*.eml"))}


def _invitations(store):
    with store.read_session() as session:
        return {invitation.email: invitation for invitation in session.exec(select(Invitation)).all()}


def test_send_to_outbox_with_zero_configuration(workspace, store, imported):
    report = survey.send_round(workspace, store, "2024H1", today=date(2024, 7, 1))
    assert report.opened and report.due_date == date(2024, 7, 31)
    assert report.destination == f"outbox {workspace.outbox}"
    assert len(report.sent) == 9 and report.failed == [] and report.skipped == []
    assert [recipient.code for recipient in report.no_email] == ["C-006"]
    messages = _eml(workspace)
    assert len(messages) == 9 and not list(workspace.outbox.glob(".*"))
    invitations = _invitations(store)
    assert all(invitation.status == "sent" and invitation.sent_at for invitation in invitations.values())
    message = next(m for m in messages.values() if m["To"].addresses[0].addr_spec == "liwei@huake.example")
    invitation = invitations["liwei@huake.example"]
    assert message["Message-ID"] == invitation.message_id
    assert message["From"].addresses[0].addr_spec == "quality@example.com"
    assert "客户满意度调查" in message["Subject"]
    assert "2024-07-31" in message.get_body(("plain",)).get_content()
    assert "李伟" in message.get_body(("html",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "survey-2024H1-C-003.xlsx"
    identity = read_identity(attachment.get_content(), workspace.secret())
    assert (identity.customer, identity.period, identity.token) == ("C-003", "2024H1", invitation.token)
    tokens = {invitation.token for invitation in invitations.values()}
    assert len(tokens) == 9 and all(len(token) >= 24 for token in tokens)


def test_rerun_never_sends_twice_unless_resend(workspace, store, imported):
    survey.send_round(workspace, store, "2024H1")
    first = _invitations(store)
    again = survey.send_round(workspace, store, "2024H1")
    assert again.sent == [] and len(again.skipped) == 9 and not again.opened
    assert _invitations(store)["anna.becker@acme-motors.example"].message_id == \
        first["anna.becker@acme-motors.example"].message_id
    with store.session() as session:
        answered = session.exec(select(Invitation).where(Invitation.email == "j.hall@northwind.example")).one()
        answered.responded_at = answered.sent_at
    resent = survey.send_round(workspace, store, "2024H1", resend=True)
    assert len(resent.sent) == 8 and resent.skipped == ["C-002"]
    after = _invitations(store)
    assert after["anna.becker@acme-motors.example"].message_id != first["anna.becker@acme-motors.example"].message_id
    assert after["anna.becker@acme-motors.example"].token == first["anna.becker@acme-motors.example"].token


def test_only_named_customers(workspace, store, imported):
    report = survey.send_round(workspace, store, "2024H1", customers=["C-001", "C-006", "C-001"])
    assert report.sent == ["C-001"] and [r.code for r in report.no_email] == ["C-006"]
    with pytest.raises(NotFound, match="unknown customer 'NOPE'"):
        survey.send_round(workspace, store, "2024H1", customers=["NOPE"])
    with store.session() as session:
        customers.set_active(session, "C-002", False)
    with pytest.raises(Conflict, match="deactivated"):
        survey.send_round(workspace, store, "2024H1", customers=["C-002"])
    later = survey.send_round(workspace, store, "2024H1")
    assert "C-002" not in later.sent and len(later.sent) == 7


def test_dry_run_writes_nothing(workspace, store, imported):
    report = survey.send_round(workspace, store, "2024H1", dry_run=True)
    assert len(report.planned) == 9 and report.sent == [] and report.opened
    with store.read_session() as session:
        assert session.exec(select(SurveyRound)).all() == []
        assert session.exec(select(Invitation)).all() == []
    assert not workspace.outbox.exists()


def test_closed_round_refuses_to_send(workspace, store, imported):
    survey.send_round(workspace, store, "2024H1", customers=["C-001"])
    with store.session() as session:
        rounds.close_round(session, "2024H1")
    with pytest.raises(Conflict, match="--reopen"):
        survey.send_round(workspace, store, "2024H1")
    with store.session() as session:
        rounds.reopen_round(session, "2024H1")
    assert len(survey.send_round(workspace, store, "2024H1").sent) == 8


def test_default_period_is_latest_open_round_else_current_half(workspace, store, imported):
    report = survey.send_round(workspace, store, customers=["C-001"], today=date(2025, 6, 20))
    assert report.period == "2025H1" and report.due_date == date(2025, 7, 20)
    assert survey.send_round(workspace, store, customers=["C-002"], today=date(2025, 7, 5)).period == "2025H1"
    with pytest.raises(Conflict, match="was due on 2025-07-20"):  # never a form asking for answers by a past date
        survey.send_round(workspace, store, customers=["C-003"], today=date(2025, 8, 1))


def test_hostile_customer_name_cannot_inject_headers_or_html(workspace, store):
    with store.session() as session:
        customers.add(session, code="X-1", name='Evil "Corp"\nBcc: all@victims.example <script>',
                      email="buyer@evil.example")
        contact = customers.add(session, code="X-2", name="Two", email="two@evil.example")
        contact.contact = 'Mr "X"\r\nBcc: more@victims.example'  # as an older store might hold it
    survey.send_round(workspace, store, "2024H1")
    by_code = {message["To"].addresses[0].addr_spec: message for message in _eml(workspace).values()}
    first, second = by_code["buyer@evil.example"], by_code["two@evil.example"]
    for message in (first, second):
        assert message["Bcc"] is None and len(message["To"].addresses) == 1
    assert first["To"].addresses[0].display_name == 'Evil "Corp" Bcc: all@victims.example <script>'
    html = first.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Mr &#34;X&#34; Bcc: more@victims.example" in second.get_body(("html",)).get_content()
    [attachment] = list(first.iter_attachments())
    identity = read_identity(attachment.get_content(), workspace.secret())
    assert identity.customer == "X-1"


def test_malformed_address_fails_that_invitation_only(workspace, store, imported):
    with store.session() as session:
        customer = customers.get(session, "C-001")
        customer.email = "two@@signs.example"  # slipped in around validation (e.g. an old store)
    report = survey.send_round(workspace, store, "2024H1")
    assert [code for code, _ in report.failed] == ["C-001"] and "malformed e-mail" in report.failed[0][1]
    assert len(report.sent) == 8
    status = _invitations(store)["two@@signs.example"]
    assert status.status == "failed" and "malformed" in status.error


def test_ctrl_c_stops_after_the_current_message_and_rerun_completes(workspace, store, imported):
    def interrupt_after_two(recipient, outcome, done, total):
        assert total == 9 and outcome == "sent"
        if recipient.code == "C-002":
            os.kill(os.getpid(), signal.SIGINT)

    # Whatever handler the test starts with (pytest started with SIGINT ignored has SIG_IGN) comes back.
    before = signal.getsignal(signal.SIGINT)
    report = survey.send_round(workspace, store, "2024H1", on_progress=interrupt_after_two)
    assert report.interrupted and report.sent == ["C-001", "C-002"] and len(report.pending) == 7
    statuses = sorted(invitation.status for invitation in _invitations(store).values())
    assert statuses == ["pending"] * 7 + ["sent"] * 2
    assert len(_eml(workspace)) == 2
    assert signal.getsignal(signal.SIGINT) is before
    rest = survey.send_round(workspace, store, "2024H1")
    assert len(rest.sent) == 7 and len(rest.skipped) == 2 and len(_eml(workspace)) == 9


def test_write_form_creates_an_invitation_for_phone_customers(workspace, store, imported, tmp_path):
    written = survey.write_form(workspace, store, "C-006", tmp_path / "c6.xlsx", "2024H1")
    identity = read_identity(written.path, workspace.secret())
    assert identity.customer == "C-006" and identity.token == written.token and written.opened
    page = survey.write_form(workspace, store, "C-006", tmp_path / "c6.html", "2024H1")
    assert page.token == written.token and not page.opened
    assert "宁波海天塑机配套厂" in (tmp_path / "c6.html").read_text(encoding="utf-8")
    with store.read_session() as session:
        status = rounds.round_status(session, rounds.get_round(session, "2024H1"))
    assert status["invited"] == 1 and status["customers"][0]["status"] == "pending"


def test_status_counts_and_rate(workspace, store, imported):
    survey.send_round(workspace, store, "2024H1")
    with store.session() as session:
        for invitation in session.exec(select(Invitation).limit(3)).all():
            invitation.responded_at = invitation.sent_at
    with store.read_session() as session:
        status = rounds.round_status(session, rounds.get_round(session, "2024H1"))
        listed = rounds.list_rounds(session)
    assert (status["invited"], status["sent"], status["failed"], status["responded"]) == (9, 9, 0, 3)
    assert status["response_rate"] == pytest.approx(3 / 9)
    assert set(status["customers"][0]) == {"code", "name", "contact", "status", "sent_at", "reminders", "responded", "error"}
    assert listed[0]["period"] == "2024H1" and listed[0]["responded"] == 3 and listed[0]["items"] == 8
