"""Large rounds build their messages in a forked builder process: same results as in line."""

import email
import io
import multiprocessing
import os
import signal
from email import policy

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert

from csat.errors import Conflict
from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.mail import builder
from csat.store.models import Customer
from csat.survey import rounds
from csat.survey import send as survey


def test_large_round_builds_in_parallel_and_every_message_is_right(workspace, store):
    count = survey.PARALLEL_BUILD_MIN + 6
    rows = [{"code": f"C-{number:03d}", "name": f"Customer {number}", "contact": f"联系人 {number}",
             "email": f"buyer{number}@example.com", "language": "zh" if number % 2 else "en"}
            for number in range(count)]
    rows[5]["email"] = "broken@@example.com"  # stored by an old import: the builder reports it, the run goes on
    with store.session() as session:
        session.execute(insert(Customer), rows)
    report = survey.send_round(workspace, store, "2024H1")
    assert len(report.sent) == count - 1
    assert [code for code, _ in report.failed] == ["C-005"]
    files = sorted(workspace.outbox.glob("*.eml"))
    assert len(files) == count - 1
    for path in files[:: max(1, len(files) // 8)]:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        attachment = next(message.iter_attachments())
        identity = FormIdentity.from_rows(identity_rows(load_workbook(io.BytesIO(attachment.get_content()))),
                                          workspace.secret())
        assert message["To"].addresses[0].addr_spec == f"buyer{int(identity.customer[2:])}@example.com"


def test_the_builder_leaves_ctrl_c_and_the_cpu_to_the_sender():
    with multiprocessing.get_context("fork").Pool(1, initializer=builder._start) as pool:
        assert pool.apply(os.nice, (0,)) == min(19, os.nice(0) + builder.BUILDER_NICENESS)
        assert pool.apply(signal.getsignal, (signal.SIGINT,)) == signal.SIG_IGN


def test_a_large_send_that_is_refused_leaves_no_builder_behind(workspace, store):
    rows = [{"code": f"C-{number:03d}", "name": f"Customer {number}", "email": f"buyer{number}@example.com",
             "language": "en"} for number in range(survey.PARALLEL_BUILD_MIN)]
    with store.session() as session:
        session.execute(insert(Customer), rows)
    survey.send_round(workspace, store, "2024H1", customers=["C-001"])
    with store.session() as session:
        rounds.close_round(session, "2024H1")
    with pytest.raises(Conflict, match="closed"):
        survey.send_round(workspace, store, "2024H1")
    assert multiprocessing.active_children() == []
    assert len(list(workspace.outbox.glob("*.eml"))) == 1


def test_a_second_send_at_the_same_time_is_refused(workspace, store, cli, customers_csv):
    from csat.store.locking import exclusive

    cli("customer", "import", customers_csv)
    with exclusive(workspace.root, "send", store):
        result = cli("survey", "send", "--half", "2024H1")
    assert result.exit_code == 1 and "another `csat survey send` is running" in result.stderr
    assert list(workspace.outbox.glob("*.eml")) == []
    assert cli("survey", "send", "--half", "2024H1").exit_code == 0
    assert len(list(workspace.outbox.glob("*.eml"))) == 9
