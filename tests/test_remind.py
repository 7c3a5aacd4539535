"""`csat remind` under simulated calendars, against a real SMTP server."""

import subprocess
import sys
from datetime import date, datetime, timedelta

from openpyxl import load_workbook
from smtp_fixtures import Handler, closed_port, running_smtp, use_smtp
from sqlmodel import select

from csat.feedback import log as feedback
from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.periods import Half
from csat.registry import customers
from csat.store.locking import exclusive
from csat.store.models import Invitation, Notice, Reminder
from csat.survey import send as survey
from tests.conftest import EXAMPLES


def _today() -> date:
    """Today, asked per use: a run that crosses midnight must not mix two dates."""
    return date.today()


def _half() -> str:
    """The current half year: these tests open the round of today, whenever they run."""
    return str(Half.containing(_today()))


def _day(offset: int) -> str:
    return (_today() + timedelta(days=offset)).isoformat()


def _send_round(workspace, store, codes=("C-001", "C-003")):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    report = survey.send_round(workspace, store, _half(), customers=list(codes))
    assert len(report.sent) == len(codes)


def _reminders(server):
    return [message for message in server.received if message.message["In-Reply-To"] is not None]


def test_reminders_follow_the_schedule(workspace, store, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store)
        for offset in range(0, 9 + 1):
            assert cli("remind", "--today", _day(offset)).exit_code == 0
        assert _reminders(server) == []
        first = cli("remind", "--today", _day(10))
        assert first.exit_code == 0 and "2 reminder(s) sent" in first.stderr
        assert len(_reminders(server)) == 2
        assert cli("remind", "--today", _day(10)).stderr == ""  # same day again: nothing new, quiet
        for offset in range(11, 17):
            cli("remind", "--today", _day(offset))
        assert len(_reminders(server)) == 2
        cli("remind", "--today", _day(17))
        assert len(_reminders(server)) == 4
        for offset in range(18, 60, 3):
            cli("remind", "--today", _day(offset))
        assert len(_reminders(server)) == 4
    with store.read_session() as session:
        invitations = session.exec(select(Invitation)).all()
        assert [invitation.reminders for invitation in invitations] == [2, 2]
        assert {reminder.status for reminder in session.exec(select(Reminder)).all()} == {"sent"}


def test_reminder_speaks_the_customers_language_and_carries_the_form(workspace, store, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store)
        cli("remind", "--today", _day(10))
        by_recipient = {message.rcpt_tos[0]: message.message for message in _reminders(server)}
    chinese = by_recipient["liwei@huake.example"]
    assert chinese["Subject"].strip().startswith("Re: ")
    assert "尚未收到您的回复" in chinese.get_body(("plain",)).get_content()
    attachment = next(part for part in chinese.iter_attachments())
    workbook = load_workbook(__import__("io").BytesIO(attachment.get_content()))
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    assert identity.customer == "C-003" and identity.period == _half()
    english = by_recipient["anna.becker@acme-motors.example"]
    assert english["Subject"].strip().startswith("Re: ") and "have not yet received" in english.get_body(("plain",)).get_content()


def test_reminders_reply_to_the_invitation_in_its_thread(workspace, store, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store)
        invitations = {message.rcpt_tos[0]: message.message for message in server.received}
        cli("remind", "--today", _day(10))
        cli("remind", "--today", _day(17))
        reminders = [message for message in server.received[len(invitations):]]
    with store.read_session() as session:
        stored = {invitation.email: invitation.message_id for invitation in session.exec(select(Invitation)).all()}
    assert len(reminders) == 4
    for received in reminders:
        reminder, recipient = received.message, received.rcpt_tos[0]
        invitation = invitations[recipient]
        assert invitation["Message-ID"] == stored[recipient]
        # Every reminder answers the invitation, so the customer finds the form in the same thread ...
        assert reminder["In-Reply-To"] == invitation["Message-ID"]
        assert reminder["References"] == invitation["Message-ID"]
        assert reminder["Message-ID"] != invitation["Message-ID"]
        # ... under the subject clients thread by: the invitation's, as a reply.
        assert reminder["Subject"].strip() == "Re: " + invitation["Subject"].strip()   # (a long one is folded)


def test_an_answer_stops_the_reminders(workspace, store, cli):
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store)
        cli("remind", "--today", _day(10))
        with store.session() as session:
            invitation = session.exec(select(Invitation).order_by(Invitation.id)).first()
            invitation.responded_at = datetime.combine(_today() + timedelta(days=12), datetime.min.time())
        cli("remind", "--today", _day(17))
        assert len(_reminders(server)) == 3  # two first reminders, one second (the other customer answered)


def test_smtp_failure_is_retried_by_the_next_run(workspace, store, cli):
    _send_round(workspace, store)  # into the outbox
    use_smtp(workspace, closed_port())
    failed = cli("remind", "--today", _day(10))
    assert failed.exit_code == 1 and "failed (retried next run)" in failed.stderr
    with store.read_session() as session:
        assert {reminder.status for reminder in session.exec(select(Reminder)).all()} == {"failed"}
        assert {invitation.reminders for invitation in session.exec(select(Invitation)).all()} == {0}
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        retried = cli("remind", "--today", _day(10))
        assert retried.exit_code == 0 and "2 reminder(s) sent" in retried.stderr
        assert len(_reminders(server)) == 2
    with store.read_session() as session:
        assert [(reminder.number, reminder.status) for reminder in session.exec(select(Reminder)).all()] == [(1, "sent")] * 2


def test_concurrent_runs_send_once(workspace, store):
    with running_smtp(Handler(stall_first=1.5)) as server:
        use_smtp(workspace, server.port)
        _send_round(workspace, store, codes=("C-001", "C-002", "C-003"))
        command = [sys.executable, "-m", "csat", "--home", str(workspace.root), "remind", "--today", _day(10)]
        runs = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outputs = [(run.wait(timeout=60), run.stderr.read()) for run in runs]
        assert [code for code, _ in outputs] == [0, 0]
        assert len(_reminders(server)) == 3
        assert any("another run is in progress" in text for _, text in outputs), outputs


def test_held_lock_makes_the_run_step_aside(workspace, store, cli):
    with exclusive(workspace.root, "remind", store):
        result = cli("remind")
    assert result.exit_code == 0 and "another run is in progress" in result.stderr


def test_dry_run_sends_and_records_nothing(workspace, store, cli):
    _send_round(workspace, store)
    result = cli("remind", "--today", _day(10), "--dry-run")
    assert result.exit_code == 0
    assert f"reminder 1 {_half()} C-001 <anna.becker@acme-motors.example>: would send" in result.stderr
    with store.read_session() as session:
        assert session.exec(select(Reminder)).all() == []


def test_staff_digest_once_a_day_only_when_due(workspace, store, cli):
    from csat.workspace import config_set

    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        config_set(workspace, "remind.staff", '["qa@example.com", "sales@example.com"]')
        quiet = cli("remind")
        assert quiet.exit_code == 0 and quiet.stderr == "" and server.received == []
        received = datetime.now() - timedelta(days=1)
        with store.session() as session:
            feedback.add(session, workspace.settings, "C-001", "quality", "phone", "Cracked housing", received=received)
        later = _today() + timedelta(days=6)  # past two working days whatever today is
        first = cli("remind", "--today", later.isoformat())
        assert first.exit_code == 0 and "sent to qa@example.com, sales@example.com" in first.stderr
        assert len(first.stderr.strip().splitlines()) == 1  # one summary line; the digest itself with -v
        assert "has no reply after 2 working day(s)" in cli("remind", "--today", later.isoformat(), "-v").stderr
        assert len(server.received) == 1 and sorted(server.received[0].rcpt_tos) == ["qa@example.com", "sales@example.com"]
        assert cli("remind", "--today", later.isoformat()).stderr == ""
        assert len(server.received) == 1
        cli("remind", "--today", (later + timedelta(days=1)).isoformat())
        assert len(server.received) == 2


def test_digest_printed_when_no_staff_configured(workspace, store, cli):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
        feedback.add(session, workspace.settings, "C-001", "service", "email", "Installer late",
                     received=datetime.now() - timedelta(days=1))
    later = (_today() + timedelta(days=6)).isoformat()
    result = cli("remind", "--today", later)
    assert result.exit_code == 0 and "Installer" not in result.stderr
    # The overdue reply, the complaint's missing CAPA (a gap of `csat check`), and in December the
    # warning that the half year's round has not been sent.
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"csat remind {later}: 0 reminder(s) sent; ")
    assert lines[0].endswith(" item(s) due for staff, not mailed (no remind.staff set; `csat remind -v` lists them)")
    assert cli("remind", "--today", later).stderr == ""
    listed = cli("remind", "--today", later, "-v").stderr
    assert "complaint #1 from C-001" in listed
    # The gap went out with the first digest and is remembered: never listed again.
    assert "new gap" not in listed
    with store.session() as session:
        reported = session.exec(select(Notice.key).where(Notice.kind == "once")).all()
    assert "gap:complaint_without_capa:feedback:1" in reported


def test_cron_line_has_absolute_paths(workspace, cli):
    line = cli("cron", "--at", "07:30").stdout.strip()
    assert line.startswith("30 7 * * * /")
    # stderr is not thrown away: cron mails what remind prints (only news and errors), tee keeps a log
    assert line.endswith(f"--home {workspace.root} remind 2>&1 | tee -a {workspace.root / 'remind.log'}")
    assert "OnCalendar=*-*-* 07:30:00" in cli("cron", "--at", "07:30", "--systemd").stdout
    assert cli("cron", "--at", "25:00").exit_code == 2


def test_cron_line_quotes_paths_and_escapes_percent(tmp_path, monkeypatch, cli):
    import shlex

    root = tmp_path / "quality data" / "csat"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    line = cli("cron", "--log", str(tmp_path / "my log 100%.txt")).stdout.strip()
    assert "%" not in line.replace("\\%", "")            # cron turns a bare % into a newline
    words = shlex.split(line.replace("\\%", "%"))      # what the shell gets once cron removed the escapes
    assert words[6:] == ["--home", str(root), "remind", "2>&1", "|", "tee", "-a", str(tmp_path / "my log 100%.txt")]


def test_systemd_units_run_hourly_as_a_user_with_the_password_in_a_file(tmp_path, monkeypatch, cli):
    root = tmp_path / "quality data" / "csat"
    assert cli("init", root).exit_code == 0
    monkeypatch.setenv("CSAT_HOME", str(root))
    text = cli("cron", "--systemd", "--hourly", "--at", "07:15").stdout
    service, timer = text.split("# /etc/systemd/system/csat-remind.timer\n")
    assert "OnCalendar=*-*-* *:15:00" in timer and "every hour" in timer
    for line in ("After=network-online.target", "Wants=network-online.target",
                 "EnvironmentFile=-/etc/csat/csat-remind.env"):
        assert line in service
    assert any(line.startswith("User=") and len(line) > 5 for line in service.splitlines())
    assert f'--home "{root}" remind' in service
    assert not any(line.startswith("Environment=") for line in service.splitlines())
    daily = cli("cron", "--systemd", "--at", "06:00").stdout
    assert "OnCalendar=*-*-* 06:00:00" in daily and "every day" in daily


def test_systemd_units_verify(tmp_path, cli, workspace):
    import shutil
    import subprocess

    import pytest

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    text = cli("cron", "--systemd").stdout
    service, timer = text.split("# /etc/systemd/system/csat-remind.timer\n")
    (tmp_path / "csat-remind.service").write_text(service.split("\n", 1)[1])
    (tmp_path / "csat-remind.timer").write_text(timer)
    checked = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "csat-remind.service"),
                              str(tmp_path / "csat-remind.timer")], capture_output=True, text=True)
    problems = [line for line in checked.stderr.splitlines() if "csat-remind" in line]
    assert checked.returncode == 0 and problems == [], checked.stderr


def test_examples_schedule_remind():
    assert " remind " in (EXAMPLES / "crontab").read_text() + " "
    assert "remind" in (EXAMPLES / "csat-remind.service").read_text()
    assert "OnCalendar" in (EXAMPLES / "csat-remind.timer").read_text()


def test_bad_today_is_a_usage_error_naming_the_form(workspace, cli):
    result = cli("remind", "--today", "2024-13-01")
    assert result.exit_code == 2 and "expected YYYY-MM-DD" in result.stderr
