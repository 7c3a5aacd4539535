"""Sending a round over real SMTP (aiosmtpd on 127.0.0.1) and every way it can go wrong."""

import io
import time

import pytest
from openpyxl import load_workbook
from smtp_fixtures import (
    AUTH_WITHOUT_TLS,
    PASSWORD,
    USER,
    Handler,
    closed_port,
    running_smtp,
    silent_server,
    smtp_server,  # noqa: F401
    use_smtp,
)
from sqlmodel import select

from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.i18n import shown, use_language
from csat.registry import customers
from csat.store.models import Invitation
from csat.survey import rounds
from csat.survey import send as survey

pytestmark = AUTH_WITHOUT_TLS
EXPECTED = {"anna.becker@acme-motors.example", "j.hall@northwind.example", "liwei@huake.example",
            "wangfang@jinggong.example", "c.ruiz@bluewater.example", "priya.nair@orion-med.example",
            "zhangmin@shunda.example", "liam@kestrel.example", "liuyang@beifang.example"}


@pytest.fixture
def imported(store, customers_csv):
    with store.session() as session:
        customers.import_file(session, customers_csv)


def _status(store):
    with store.read_session() as session:
        return rounds.round_status(session, rounds.get_round(session, "2024H1"))


def _by_email(store):
    with store.read_session() as session:
        return {invitation.email: invitation for invitation in session.exec(select(Invitation)).all()}


def test_round_over_smtp(workspace, store, imported, smtp_server):
    use_smtp(workspace, smtp_server.port)
    report = survey.send_round(workspace, store, "2024H1")
    assert len(report.sent) == 9 and report.destination == f"127.0.0.1:{smtp_server.port}"
    assert sorted(smtp_server.recipients()) == sorted(EXPECTED)
    assert not workspace.outbox.exists()
    invitations = _by_email(store)
    for received in smtp_server.received:
        message = received.message
        [recipient] = received.rcpt_tos
        invitation = invitations[recipient]
        assert received.mail_from == "quality@example.com"
        assert message["To"].addresses[0].addr_spec == recipient
        assert message["Message-ID"] == invitation.message_id and invitation.status == "sent"
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
        [attachment] = list(message.iter_attachments())
        workbook = load_workbook(io.BytesIO(attachment.get_content()))
        identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
        assert identity.token == invitation.token and identity.period == "2024H1"
    assert survey.send_round(workspace, store, "2024H1").sent == []
    assert len(smtp_server.received) == 9


def test_rejected_recipient_fails_with_the_server_reason_and_rerun_completes(workspace, store, imported):
    handler = Handler(reject=lambda rcpt: rcpt == "liwei@huake.example")
    with running_smtp(handler) as server:
        use_smtp(workspace, server.port)
        report = survey.send_round(workspace, store, "2024H1")
        assert len(report.sent) == 8 and [code for code, _ in report.failed] == ["C-003"]
        failed = _by_email(store)["liwei@huake.example"]
        assert failed.status == "failed" and shown(failed.error).startswith("liwei@huake.example refused: 550 5.1.1")
        status = _status(store)
        assert (status["sent"], status["failed"]) == (8, 1)
        assert next(c for c in status["customers"] if c["code"] == "C-003")["error"] == shown(failed.error)
        with use_language("zh"):   # the stored reason is shown in the reader's language, whoever sent
            chinese = next(c for c in _status(store)["customers"] if c["code"] == "C-003")["error"]
        assert chinese.startswith("liwei@huake.example 被拒收：550 5.1.1") and "refused" not in chinese
        handler.reject = lambda rcpt: False
        again = survey.send_round(workspace, store, "2024H1")
    assert again.sent == ["C-003"] and len(again.skipped) == 8
    assert sorted(server.recipients()) == sorted(EXPECTED)
    assert _by_email(store)["liwei@huake.example"].error == ""


def test_no_server_fails_everything_quickly_and_a_rerun_sends(workspace, store, imported):
    use_smtp(workspace, closed_port())
    report = survey.send_round(workspace, store, "2024H1")
    assert report.sent == [] and len(report.failed) == 9
    assert all("connection refused" in reason for _, reason in report.failed)
    assert {invitation.status for invitation in _by_email(store).values()} == {"failed"}
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        assert len(survey.send_round(workspace, store, "2024H1").sent) == 9
    assert sorted(server.recipients()) == sorted(EXPECTED)


def test_silent_server_costs_one_timeout_not_one_per_customer(workspace, store, imported):
    with silent_server() as port:
        use_smtp(workspace, port, timeout=0.5)
        started = time.monotonic()
        report = survey.send_round(workspace, store, "2024H1")
        elapsed = time.monotonic() - started
    assert len(report.failed) == 9 and all("timed out" in reason for _, reason in report.failed)
    assert elapsed < 4


def test_login_refused_marks_all_failed(workspace, store, imported, monkeypatch):
    with running_smtp(auth=True) as server:
        use_smtp(workspace, server.port, username=USER)
        monkeypatch.setenv("CSAT_SMTP_PASSWORD", "wrong")
        report = survey.send_round(workspace, store, "2024H1")
        assert len(report.failed) == 9 and "535" in report.failed[0][1] and "wrong" not in report.failed[0][1]
        monkeypatch.setenv("CSAT_SMTP_PASSWORD", PASSWORD)
        assert len(survey.send_round(workspace, store, "2024H1").sent) == 9
    assert len(server.received) == 9


def test_connection_dropped_mid_run_is_reopened(workspace, store, imported):
    handler = Handler(drop_every=4)
    with running_smtp(handler) as server:
        use_smtp(workspace, server.port)
        report = survey.send_round(workspace, store, "2024H1")
    assert len(report.sent) == 9 and handler.drops == 2
    assert sorted(server.recipients()) == sorted(EXPECTED)
