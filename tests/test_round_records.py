"""Survey rounds as trustworthy records (issue #17): due dates, reminders after them, round counts,
report output files and the README's promises about them."""

import json
from datetime import date, timedelta

import pytest
from smtp_fixtures import running_smtp, use_smtp
from sqlmodel import select

from csat.dates import DueDateError, require_due_after
from csat.periods import Half
from csat.registry import customers
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


def _reminders(server):
    return [message for message in server.received if message.message["In-Reply-To"] is not None]


def _text(message) -> str:
    return message.message.get_body(("plain",)).get_content()


# ---- 9: one rule for due dates ----------------------------------------------------------------

def test_the_due_date_rule_is_one_function():
    assert require_due_after(date(2026, 12, 1), date(2026, 11, 30), "the day X opened") == date(2026, 12, 1)
    for due in (date(2026, 11, 30), date(2026, 11, 1)):
        with pytest.raises(DueDateError, match=r"must be after the day X opened \(2026-11-30\)"):
            require_due_after(due, date(2026, 11, 30), "the day X opened")


def test_survey_open_refuses_a_due_date_not_after_the_round_opens(workspace, cli):
    for due in (_day(-1), _day(0)):
        refused = cli("survey", "open", "--half", _half(), "--due", due)
        assert refused.exit_code == 1 and f"must be after the day the {_half()} round opens" in refused.stderr
        assert "Traceback" not in refused.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout) == []  # nothing half-written
    assert cli("survey", "open", "--half", _half(), "--due", _day(1)).exit_code == 0
    changed = cli("survey", "open", "--half", _half(), "--due", _day(-5))
    assert changed.exit_code == 1 and f"must be after the day the {_half()} round opened" in changed.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["due_date"] == _day(1)


def test_survey_extend_is_audited_and_checked(workspace, cli):
    assert cli("survey", "open", "--half", _half(), "--due", _day(30)).exit_code == 0
    unexplained = cli("survey", "extend", "--half", _half(), "--due", _day(45))
    assert unexplained.exit_code == 2 and "needs a reason" in unexplained.stderr
    extended = cli("survey", "extend", "--half", _half(), "--due", _day(45), "--reason", "customers on holiday")
    assert extended.exit_code == 0, extended
    assert f"due {_day(45)} (was {_day(30)})" in extended.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["due_date"] == _day(45)
    trail = json.loads(cli("audit", "list", "--table", "survey_round", "--format", "json").stdout)
    extend = [entry for entry in trail if entry["action"] == "extend"]
    assert len(extend) == 1 and extend[0]["key"] == _half()
    assert extend[0]["changes"]["due_date"] == [_day(30), _day(45)]
    assert extend[0]["changes"]["reason"] == "customers on holiday"
    earlier = cli("survey", "extend", "--half", _half(), "--due", _day(40))
    assert earlier.exit_code == 1 and "an extension must be later" in earlier.stderr
    assert cli("survey", "extend", "--half", _half(), "--due", "soon").exit_code == 2
    assert cli("survey", "extend", "--half", "2025H2", "--due", _day(40)).exit_code == 1  # no such round
    assert cli("survey", "close", "--half", _half()).exit_code == 0
    closed = cli("survey", "extend", "--half", _half(), "--due", _day(60))
    assert closed.exit_code == 1 and "--reopen" in closed.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["due_date"] == _day(45)


def test_extend_refuses_a_date_not_after_the_round_opened(workspace, store, cli):
    from csat.store.models import SurveyRound

    assert cli("survey", "open", "--half", _half(), "--due", _day(30)).exit_code == 0
    with store.session() as session:  # a round opened long ago, due a while after that
        round_ = session.exec(select(SurveyRound)).one()
        round_.opened_at = round_.opened_at - timedelta(days=100)
        round_.due_date = _today() - timedelta(days=150)  # before it opened: what the old `survey open --due` let in
    refused = cli("survey", "extend", "--half", _half(), "--due", (_today() - timedelta(days=100)).isoformat())
    assert refused.exit_code == 1 and f"must be after the day the {_half()} round opened" in refused.stderr


# ---- 4: no reminder states a date that has passed -----------------------------------------------

def test_no_reminder_after_the_due_date_until_the_round_is_extended(workspace, store, cli):
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        report = survey.send_round(workspace, store, _half(), customers=["C-001", "C-003"])
        due = report.due_date.isoformat()
        assert due == _day(30)
        within = cli("remind", "--today", _day(10))
        assert within.exit_code == 0 and len(_reminders(server)) == 2
        assert all(due in _text(message) for message in _reminders(server))
        after = cli("remind", "--today", _day(31))
        assert after.exit_code == 0
        assert len(_reminders(server)) == 2, "a reminder after the due date states a deadline that has passed"
        digest = cli("remind", "--today", _day(31), "-v").stderr
        assert f"round {_half()} was due on {due}" in digest and "no longer reminded" in digest
        assert f"csat survey extend --half {_half()}" in digest
        assert cli("survey", "extend", "--half", _half(), "--due", _day(45), "--reason", "r").exit_code == 0
        resumed = cli("remind", "--today", _day(31))
        assert resumed.exit_code == 0 and "2 reminder(s) sent" in resumed.stderr
        latest = _reminders(server)[2:]
        assert len(latest) == 2
        for message in latest:
            assert _day(45) in _text(message) and due not in _text(message)
        status = json.loads(cli("survey", "status", "--half", _half(), "--format", "json").stdout)
        assert [customer["reminders"] for customer in status["customers"]] == [2, 2]
        assert cli("remind", "--today", _day(46)).exit_code == 0
        assert len(_reminders(server)) == 4


def test_reminders_never_state_a_past_date_over_a_whole_round(workspace, store, cli):
    from csat.workspace import config_set

    config_set(workspace, "remind.max_reminders", "40")
    config_set(workspace, "remind.remind_every", "1")
    with store.session() as session:
        customers.import_file(session, EXAMPLES / "customers.csv")
    with running_smtp() as server:
        use_smtp(workspace, server.port)
        survey.send_round(workspace, store, _half(), customers=["C-001"])
        sent_on = {}
        for offset in range(0, 40):
            before = len(_reminders(server))
            cli("remind", "--today", _day(offset))
            for message in _reminders(server)[before:]:
                sent_on[offset] = _text(message)
    assert sent_on and max(sent_on) == 30  # the last reminder goes on the due date itself
    for offset, text in sent_on.items():
        assert _day(30) in text


def test_no_invitation_asks_for_answers_by_a_past_date(workspace, store, cli, customers_csv):
    from csat.store.models import SurveyRound

    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("survey", "send", "--half", _half(), "--customer", "C-001").exit_code == 0
    with store.session() as session:  # the round's due date passes
        session.exec(select(SurveyRound)).one().due_date = _today() - timedelta(days=1)
    late = cli("survey", "send", "--half", _half())
    assert late.exit_code == 1 and f"csat survey extend --half {_half()}" in late.stderr
    assert len(list(workspace.outbox.glob("*.eml"))) == 1
    assert cli("survey", "extend", "--half", _half(), "--due", _day(20), "--reason", "r").exit_code == 0
    assert "8 sent" in cli("survey", "send", "--half", _half()).stderr


# ---- 8: survey list counts responses for every round ----------------------------------------

def test_survey_list_counts_responses_of_rounds_fed_by_sheets(workspace, cli, customers_csv, tmp_path):
    assert cli("customer", "import", customers_csv).exit_code == 0
    imported = cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1")
    assert imported.exit_code == 0, imported
    assert "Opened the 2024H1 round with the current item template, closed: the half year ended on 2024-06-30" \
        in imported.stderr
    listed = json.loads(cli("survey", "list", "--format", "json").stdout)
    assert len(listed) == 1
    record = listed[0]
    assert (record["period"], record["status"], record["invited"], record["sent"], record["failed"]) == \
        ("2024H1", "closed", None, None, None)
    assert record["responded"] == 8
    assert date.fromisoformat(record["due_date"]) <= _today()  # no due date in the future for a past round
    table = cli("survey", "list")
    row = next(line for line in table.stdout.splitlines() if "2024H1" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[1] == "Closed" and cells[-4:] == ["-", "-", "-", "8"]
    csv_rows = cli("survey", "list", "--format", "csv").stdout.lstrip("\ufeff").splitlines()
    assert csv_rows[0].endswith("invited,sent,failed,responded") and csv_rows[1].endswith(",,,8")
    status = cli("survey", "status", "--half", "2024H1", "--format", "json")
    assert json.loads(status.stdout) | {"customers": []} == {
        "period": "2024H1", "invited": 0, "sent": 0, "failed": 0, "responded": 8, "response_rate": None,
        "customers": []}
    assert "2024H1: nobody invited; 8 customer(s) answered" in cli("survey", "status", "--half", "2024H1").stderr
    # A round still running that was sent: invited counts as before.
    assert cli("survey", "send", "--half", _half(), "--customer", "C-001").exit_code == 0
    current = json.loads(cli("survey", "list", "--format", "json").stdout)[0]
    assert (current["period"], current["status"], current["invited"], current["responded"]) == (_half(), "open", 1, 0)
    # The same file again is unchanged; different answers wait until the round is reopened, and say so.
    again = json.loads(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "--format", "json").stdout)
    assert (again["responses_unchanged"], again["responses_new"], again["problems"]) == (8, 0, [])
    changed = tmp_path / "changed.csv"
    changed.write_text("customer,quality\nC-001,70\nC-002,71\n", encoding="utf-8")
    refused = cli("import", changed, "--half", "2024H1")
    assert refused.exit_code == 1
    assert "changed.csv!changed!A2: the 2024H1 round is closed; reopen it with " \
           "`csat survey open --half 2024H1 --reopen` to import answers" in refused.stderr
    assert "A3" not in refused.stderr  # once per sheet and round
    assert cli("survey", "open", "--half", "2024H1", "--reopen", "--reason", "late sheet").exit_code == 0
    assert cli("import", changed, "--half", "2024H1", "--replace", "--reason", "late sheet").exit_code == 0


def test_import_json_and_dry_run_say_the_round_opens_closed(workspace, cli, customers_csv):
    assert cli("customer", "import", customers_csv).exit_code == 0
    dry = cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "--dry-run")
    assert dry.exit_code == 0 and "Would open the 2024H1 round with the current item template, closed" in dry.stderr
    result = json.loads(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "--format", "json").stdout)
    assert result["rounds_opened"] == ["2024H1"] and result["rounds"][0]["closed"] is True


def test_manual_entry_for_an_ended_half_keeps_its_round_open_until_closed(workspace, cli, customers_csv):
    # Answers typed in one at a time: a round opened closed would refuse the second customer.
    assert cli("customer", "import", customers_csv).exit_code == 0
    added = cli("response", "add", "C-006", "--half", "2025H1", "--score", "quality=90")
    assert added.exit_code == 0
    assert ("the half year ended on 2025-06-30: close the round with `csat survey close --half 2025H1` "
            "once its answers are in") in added.stderr
    second = cli("response", "add", "C-007", "--half", "2025H1", "--score", "quality=80")
    assert second.exit_code == 0, second
    record = json.loads(cli("survey", "list", "--format", "json").stdout)[0]
    assert (record["status"], record["invited"], record["responded"]) == ("open", None, 2)
    assert cli("survey", "close", "--half", "2025H1").exit_code == 0
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["status"] == "closed"


def test_a_round_of_the_current_half_opened_by_an_import_stays_open(workspace, cli, customers_csv):
    from csat.periods import Half

    current = str(Half.containing(_today()))
    assert cli("customer", "import", customers_csv).exit_code == 0
    added = cli("response", "add", "C-006", "--half", current, "--score", "quality=90")
    assert added.exit_code == 0 and "closed" not in added.stderr
    assert json.loads(cli("survey", "list", "--format", "json").stdout)[0]["status"] == "open"


# ---- 10: report output files -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["r.docx", "r.pdf", "report"])
def test_report_to_an_unknown_file_type_is_a_usage_error(workspace, cli, customers_csv, tmp_path, name):
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1").exit_code == 0
    target = tmp_path / name
    result = cli("report", "-o", target)
    assert result.exit_code == 2
    for known in (".txt", ".json", ".md", ".html", ".xlsx"):
        assert known in result.stderr
    assert not target.exists()
    forced = cli("report", "--format", "json", "-o", target)
    assert forced.exit_code == 2 and not target.exists()


def test_report_format_docx_is_a_usage_error(workspace, cli, tmp_path):
    result = cli("report", "--format", "docx", "-o", tmp_path / "r.json")
    assert result.exit_code == 2 and "xlsx" in result.stderr and "html" in result.stderr
    assert not (tmp_path / "r.json").exists()


# ---- 11: the README's promises -----------------------------------------------------------------

def test_a_round_without_responses_says_no_responses_yet(workspace, cli, customers_csv, tmp_path):
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("survey", "send", "--half", _half()).exit_code == 0
    table = cli("report", "--half", _half())
    assert table.exit_code == 0
    assert "No responses yet" in table.stdout and "No item is below" not in table.stdout
    for suffix in ("md", "html"):
        assert cli("report", "--half", _half(), "-o", tmp_path / f"r.{suffix}").exit_code == 0
        text = (tmp_path / f"r.{suffix}").read_text(encoding="utf-8")
        assert "No responses yet" in text and "No item is below" not in text
    chinese = cli("report", "--half", _half(), "--lang", "zh")
    assert "尚无回收的答卷" in chinese.stdout and "没有项目低于行动限" not in chinese.stdout


def test_items_list_and_survey_status_take_csv(workspace, cli, customers_csv):
    rows = cli("items", "list", "--format", "csv").stdout.lstrip("\ufeff").splitlines()
    assert rows[0] == "code,label_en,label_zh,weight,action_limit,scale,active" and len(rows) == 1 + 8
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("survey", "send", "--half", _half(), "--customer", "C-001").exit_code == 0
    status = cli("survey", "status", "--format", "csv")
    assert status.exit_code == 0
    lines = status.stdout.lstrip("\ufeff").splitlines()
    assert lines[0] == "code,name,contact,status,status_label,sent_at,reminders,responded,error" and lines[1].startswith("C-001,Acme Motors GmbH,Anna Becker,sent,Sent,")


@pytest.mark.sqlite_only("`csat db backup` copies the SQLite file with VACUUM INTO")
def test_db_backup_creates_missing_folders(workspace, cli, tmp_path):
    target = tmp_path / "backups" / "2026" / "csat.db"
    result = cli("db", "backup", target)
    assert result.exit_code == 0, result
    assert target.is_file() and target.stat().st_size > 0
    again = cli("db", "backup", target)
    assert again.exit_code == 1 and "already exists" in again.stderr
    (tmp_path / "plain").write_text("x")
    blocked = cli("db", "backup", tmp_path / "plain" / "csat.db")
    assert blocked.exit_code == 1 and "is not a folder" in blocked.stderr
