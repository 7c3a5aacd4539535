"""Defences and README promises no test watched before (issue #15, "tests that would notice").

Each test here failed when its defence was removed: an item's own action limit in the trend, the
answered-customer filter of `remind --dry-run`, CSAT_SECRET over the store's secret,
`mail.sender_name`, exit code 130 of a Ctrl-C'd `survey send`, and `remind -v`.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta

from report_fixtures import CUSTOMERS, seed
from smtp_fixtures import Handler, running_smtp, use_smtp
from sqlmodel import select

from csat.periods import Half
from csat.registry import customers
from csat.store.models import Invitation, Item
from tests.conftest import EXAMPLES


def _half() -> str:
    return str(Half.containing(date.today()))


def _day(offset: int) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def test_trend_statuses_follow_each_items_own_limit(store, cli):
    with store.session() as session:
        session.exec(select(Item).where(Item.code == "quality")).one().action_limit = 90.0
    plan = {period: [{"customer": code, "scores": {"quality": 89, "delivery": 95}} for code, *_ in CUSTOMERS[:4]]
            for period in ("2024H1", "2024H2")}
    seed(store, plan)
    trend = json.loads(cli("report", "--trend", "-f", "json").stdout)
    quality = next(item for item in trend["items"] if item["code"] == "quality")
    delivery = next(item for item in trend["items"] if item["code"] == "delivery")
    assert [point["action_limit"] for point in quality["series"]] == [90.0, 90.0]
    assert [point["status"] for point in quality["series"]] == ["below", "below"]   # 89 passes the global 85
    assert [point["status"] for point in delivery["series"]] == ["ok", "ok"]
    table = cli("report", "--trend")
    assert table.exit_code == 0 and "89.0" in table.stdout
    assert cli("report", "--trend", "--fail-on-flag").exit_code == 3


def _send_round(workspace, store, codes):
    from csat.survey import send as survey

    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    report = survey.send_round(workspace, store, _half(), customers=list(codes))
    assert len(report.sent) == len(codes)


def test_remind_dry_run_leaves_out_customers_who_answered(workspace, store, cli):
    _send_round(workspace, store, ("C-001", "C-003"))
    answered = cli("response", "add", "C-003", "--half", _half(), "--score", "quality=90")
    assert answered.exit_code == 0, answered
    result = cli("remind", "--today", _day(10), "--dry-run")
    assert result.exit_code == 0, result
    assert f"reminder 1 {_half()} C-001 " in result.stderr
    assert "C-003" not in result.stderr
    assert "would send" in result.stderr


def test_remind_verbose_says_what_was_sent_to_whom(workspace, store, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store, ("C-001", "C-003"))
        quiet = cli("remind", "--today", _day(10))
        assert quiet.exit_code == 0 and "2 reminder(s) sent" in quiet.stderr
        assert "reminder 1" not in quiet.stderr            # without -v: the count only
        again = cli("remind", "--today", _day(20), "-v")
        assert again.exit_code == 0, again
        lines = [line for line in again.stderr.splitlines() if line.startswith("reminder 2 ")]
        assert len(lines) == 2 and all(line.endswith(": sent") for line in lines), again.stderr
        assert any(" C-001 <" in line for line in lines) and any(" C-003 <" in line for line in lines)
        assert len([message for message in server.received if message.message["In-Reply-To"]]) == 4


def test_csat_secret_overrides_the_stores_key(workspace, store, cli, tmp_path, monkeypatch):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    assert cli("survey", "open", "--half", _half()).exit_code == 0
    monkeypatch.setenv("CSAT_SECRET", "a-key-kept-outside-the-store")
    form = tmp_path / "C-001.xlsx"
    assert cli("survey", "form", "C-001", "--half", _half(), "-o", form).exit_code == 0
    _fill_form(form, b"a-key-kept-outside-the-store")
    monkeypatch.delenv("CSAT_SECRET")
    refused = cli("import", form)
    assert refused.exit_code == 1 and "Traceback" not in refused.stderr, refused
    assert "C-001" not in cli("response", "list", "--half", _half(), "--format", "csv").stdout
    monkeypatch.setenv("CSAT_SECRET", "a-key-kept-outside-the-store")
    accepted = cli("import", form)
    assert accepted.exit_code == 0, accepted
    assert "C-001" in cli("response", "list", "--half", _half(), "--format", "csv").stdout


def _fill_form(path, secret: bytes) -> None:
    """Answer every score cell of a form as a customer would (90 each), keeping its identity sheet."""
    from openpyxl import load_workbook

    from csat.forms.identity import FormIdentity
    from csat.forms.xlsx import identity_rows

    workbook = load_workbook(path)
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    sheet = workbook[identity.sheet]
    for cell in identity.items.values():
        sheet[cell] = 90
    workbook.save(path)


def test_sender_name_names_the_from_header(workspace, store, cli):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    assert cli("survey", "open", "--half", _half()).exit_code == 0
    assert cli("survey", "send", "--half", _half(), "-c", "C-001").exit_code == 0
    assert cli("config", "set", "mail.sender_name", "质量部 Quality Dept").exit_code == 0
    assert cli("survey", "send", "--half", _half(), "-c", "C-003").exit_code == 0
    names = {}
    for path in (workspace.root / "outbox").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        names[message["To"].addresses[0].addr_spec] = message["From"].addresses[0].display_name
    assert sorted(names.values()) == sorted(["Test Precision Co.", "质量部 Quality Dept"]), names


def test_ctrl_c_at_the_command_line_exits_130_and_a_rerun_completes(workspace, store, cli):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
        invited = len([customer for customer in customers.list_customers(session) if customer.email and customer.active])
    assert cli("survey", "open", "--half", _half()).exit_code == 0
    handler = Handler(stall_first=4.0)
    with running_smtp(handler) as server:
        use_smtp(workspace, server.port, timeout=20)
        process = subprocess.Popen([sys.executable, "-m", "csat", "survey", "send", "--half", _half()],
                                   env=os.environ | {"CSAT_HOME": str(workspace.root)},
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not server.received:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no message reached the server"
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)          # while the first message is in flight
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        assert "Interrupted" in err and "Traceback" not in err
        first = len(server.received)
        with store.read_session() as session:
            sent = session.exec(select(Invitation).where(Invitation.status == "sent")).all()
        assert len(sent) == first == 1            # the message in flight finished; nothing else went
        rest = cli("survey", "send", "--half", _half())
        assert rest.exit_code == 0, rest
        recipients = [address for message in server.received for address in message.rcpt_tos]
    assert len(recipients) == invited and len(set(recipients)) == invited      # everyone once
