"""Large rounds build their messages in a forked builder process: same results as in line."""

import email
import io
from email import policy

from openpyxl import load_workbook
from sqlalchemy import insert

from csat import survey
from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.models import Customer


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
    import multiprocessing
    import os
    import signal

    with multiprocessing.get_context("fork").Pool(1, initializer=survey._start_builder) as pool:
        assert pool.apply(os.nice, (0,)) == min(19, os.nice(0) + survey.BUILDER_NICENESS)
        assert pool.apply(signal.getsignal, (signal.SIGINT,)) == signal.SIG_IGN
