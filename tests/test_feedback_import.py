"""Importing a feedback log: validated, atomic, idempotent, brings later copies forward, same rules as the CLI."""

import json
from datetime import date, datetime

import pytest
from feedback_fixtures import FEEDBACK_LOG, with_customers, with_log  # noqa: F401
from openpyxl import Workbook
from sqlmodel import select

from csat.errors import CsatError, ValidationFailed
from csat.feedback.intake import import_file
from csat.registry import customers
from csat.store.models import Feedback

NOW = datetime(2025, 1, 10, 12, 0)


def stored(store) -> list:
    with store.read_session() as session:
        return list(session.exec(select(Feedback).order_by(Feedback.id)).all())


def run(store, settings, path):
    with store.session() as session:
        return import_file(session, settings, path, now=NOW)


def test_example_log_imports_every_row(workspace, with_log):
    entries = stored(with_log)
    assert len(entries) == 18
    by_id = {entry.id: entry for entry in entries}
    with with_log.read_session() as session:
        named = customers.get(session, "C-006")
    assert by_id[12].customer_id == named.id and by_id[12].kind == "requirement"  # the log named the customer
    assert (by_id[14].channel, by_id[14].dept) == ("wechat", "")  # 微信 is WeChat; no department given
    assert (by_id[10].status, by_id[10].replied_at) == ("closed", None)
    assert by_id[15].received_at == datetime(2024, 9, 30, 23, 59)
    assert by_id[5].status == "replied" and by_id[5].replied_at == datetime(2024, 7, 19, 9, 0)
    assert all(len(entry.source_key) == 64 for entry in entries)


def test_importing_again_changes_nothing(workspace, with_log, store):
    before = [(entry.id, entry.status, entry.reply_text) for entry in stored(store)]
    result = run(store, workspace.settings, FEEDBACK_LOG)
    assert (result.added, result.updated, len(result.unchanged)) == ([], [], 18)
    assert [(entry.id, entry.status, entry.reply_text) for entry in stored(store)] == before


def test_a_later_copy_of_the_log_brings_entries_forward(workspace, with_log, store, tmp_path):
    text = FEEDBACK_LOG.read_text(encoding="utf-8-sig")
    old_row = "现场调试人员未带校准工具，延误一天,,张伟,工程部,,,,"
    assert old_row in text
    later = tmp_path / "log-later.csv"
    later.write_text(text.replace(old_row, "现场调试人员未带校准工具，延误一天,,张伟,工程部,已道歉并补发工具,2024-08-14 10:00,已结案,"
                                           "2024-08-16 17:00"),
                     encoding="utf-8-sig")
    result = run(store, workspace.settings, later)
    assert (result.added, result.updated, len(result.unchanged)) == ([], [8], 17)
    entry = stored(store)[7]
    assert (entry.status, entry.reply_text, entry.replied_at) == ("closed", "已道歉并补发工具", datetime(2024, 8, 14, 10))
    assert entry.closed_at == datetime(2024, 8, 16, 17)  # the file's date, not the day of the import


def test_bad_rows_are_all_reported_and_nothing_written(workspace, with_customers, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,customer,kind,channel,text,dept,replied,status\n"
        "2024-07-01,C-001,quality,phone,ok row,,,\n"
        "2024-07-02,C-999,quality,phone,who?,,,\n"
        "2024-07-03,C-001,praise,phone,nice,,,\n"
        "2099-01-01,C-001,quality,pigeon,future,,,\n"
        "2024-07-04,C-001,quality,phone,,canteen,,\n"
        "2024-07-05,C-001,quality,phone,answered early,,2024-07-01,\n"
        "2024-07-01,C-001,quality,phone,ok row,,,\n"
        "2024-07-06,C-001,quality,phone,odd status,,,maybe\n",
        encoding="utf-8")
    with pytest.raises(ValidationFailed) as raised:
        run(with_customers, workspace.settings, bad)
    message = str(raised.value)
    assert message.startswith("bad.csv: 10 problem(s), nothing imported")
    for expected in ["row 3: unknown customer 'C-999'",
                     "row 4: unknown kind 'praise'; valid: quality (质量), requirement",
                     "row 5: unknown channel 'pigeon'", "row 5: received 2099-01-01 00:00 is in the future",
                     "row 6: missing text", "row 6: unknown department 'canteen'",
                     "row 7: replied 2024-07-01 00:00 is before the entry was received",
                     "row 7: a reply time needs the reply itself (column 'reply', e.g. 回复)",
                     "row 8: the same entry as row 2", "row 9: unknown status 'maybe'"]:
        assert expected in message
    assert stored(with_customers) == []


def test_missing_columns_are_named(workspace, with_customers, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,customer,text\n2024-07-01,C-001,x\n", encoding="utf-8")
    with pytest.raises(CsatError, match="no kind, channel column in the header row"):
        run(with_customers, workspace.settings, bad)


def test_xlsx_with_english_headers_real_dates_and_a_formula_like_text(workspace, with_customers, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Received", "Customer", "Kind", "Channel", "Text", "Product", "Reply", "Replied", "Status", "Closed"])
    sheet.append([datetime(2024, 8, 1, 9, 30), "Northwind Pumps Ltd", "Service", "Visit", "Commissioning slow",
                  "HX-300", "Extra engineer sent", datetime(2024, 8, 2), "closed", datetime(2024, 8, 9, 15)])
    sheet.append([datetime(2024, 8, 2), "C-003", "质量投诉", "电话", "外壳开裂", 200, None, None, None])
    sheet.append([datetime(2024, 8, 3), "C-003", "other", "email", None])
    cell = sheet.cell(row=4, column=5)
    cell.value, cell.data_type = "=HYPERLINK(\"x\")", "s"
    path = tmp_path / "log.xlsx"
    workbook.save(path)
    result = run(with_customers, workspace.settings, path)
    assert len(result.added) == 3
    first, second, third = stored(with_customers)
    assert (first.kind, first.channel, first.status, first.closed_at) == ("service", "visit", "closed",
                                                                               datetime(2024, 8, 9, 15))
    assert first.replied_at == datetime(2024, 8, 2)
    assert (second.kind, second.channel, second.product, second.received_at) == ("quality", "phone", "200",
                                                                                datetime(2024, 8, 2))
    assert third.text == "=HYPERLINK(\"x\")"


def test_gbk_csv(workspace, with_customers, tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("日期,客户代码,类型,方式,内容\n2024-07-01 10:00,C-010,服务,拜访,安装延误\n".encode("gb18030"))
    result = run(with_customers, workspace.settings, path)
    assert len(result.added) == 1 and stored(with_customers)[0].text == "安装延误"


# ---- the same rules as the commands (issue #17, 5) --------------------------------------------

def test_a_log_breaking_the_rules_the_commands_enforce_is_refused(workspace, with_customers, cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "日期,客户代码,类型,方式,内容,回复,回复日期,状态,结案日期\n"
        "2024-07-01 09:00,C-001,质量,电话,Housing cracked,,,已结案,2024-07-05\n"  # a complaint closed unanswered
        "2024-07-02 09:00,C-001,需求,电话,Wants RoHS papers,,,已结案,\n"  # closed, but when?
        "2024-07-03 09:00,C-001,质量,电话,Seal leaks,Sent seals,,已回复,\n"  # replied, but when?
        "2024-07-04 09:00,C-001,服务,电话,Late engineer,Apologised,2024-07-08 10:00,已结案,2024-07-06\n"
        "2024-07-05 09:00,C-001,质量,电话,Good row,Replaced,2024-07-05 15:00,已结案,2024-07-09\n",
        encoding="utf-8")
    result = cli("feedback", "import", bad)
    assert result.exit_code == 1, result
    for expected in ["bad.csv!bad!row 2: a complaint cannot be closed before it has a reply",
                     "row 3: a closed entry needs its close time (column 'closed', e.g. 结案日期)",
                     "row 4: a replied entry needs its reply and reply time",
                     "row 5: closed 2024-07-06 00:00 is before the reply (2024-07-08 10:00)"]:
        assert expected in result.stderr
    assert "row 6" not in result.stderr and "Traceback" not in result.stderr
    assert json.loads(cli("feedback", "list", "--all", "--format", "json").stdout) == []  # nothing of the file
    # The command refuses the first row the same way.
    assert cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Housing cracked",
               "--received", "2024-07-01 09:00").exit_code == 0
    [added] = json.loads(cli("feedback", "list", "--all", "--format", "json").stdout)
    refused = cli("feedback", "close", str(added["id"]), "--at", "2024-07-05")
    assert refused.exit_code == 1 and "has no reply yet" in refused.stderr


def test_reply_and_close_times_come_from_the_file_and_are_audited(workspace, with_customers, cli, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("No.,Received,Customer,Kind,Channel,Text,Reply,Replied,Status,Closed\n"
                   "1,2024-07-04 09:00,C-001,service,phone,Late engineer,Apologised,2024-07-04 15:00,closed,"
                   "2024-07-10 11:00\n", encoding="utf-8")
    assert cli("feedback", "import", log).exit_code == 0
    shown = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert (shown["status"], shown["replied_at"], shown["closed_at"]) == (
        "closed", "2024-07-04T15:00:00", "2024-07-10T11:00:00")
    trail = json.loads(cli("audit", "list", "--table", "feedback", "--key", "#1", "--format", "json").stdout)
    close = next(item for item in trail if item["action"] == "close")
    assert close["changes"]["at"] == "2024-07-10T11:00:00"
    assert close["changes"]["entered_at"][:10] == date.today().isoformat()


# ---- identity across imports (issue #17, 6) ----------------------------------------------------

def corrected_log(tmp_path, replacements: list[tuple[str, str]], extra: str = "", drop_number: bool = False):
    text = FEEDBACK_LOG.read_text(encoding="utf-8-sig")
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    text += extra
    if drop_number:
        text = "\n".join(line.split(",", 1)[1] for line in text.splitlines()) + "\n"
    path = tmp_path / "log-corrected.csv"
    path.write_text(text, encoding="utf-8-sig")
    return path


def test_a_corrected_log_updates_its_entries_instead_of_adding_them_again(workspace, with_customers, cli, tmp_path):
    assert "18 added" in cli("feedback", "import", FEEDBACK_LOG).stderr
    corrected = corrected_log(
        tmp_path, [("HX-200外壳再次开裂，批次2406-03", "HX-200外壳再次开裂，批次2406-03，共12件"),
                   ("5,2024-07-15 11:20,C-003,质量,邮件", "5,2024-07-15 11:20,C-003,服务,邮件")],
        extra="19,2024-12-20 10:00,C-002,需求,邮件,Asks for quarterly quality reports,,Wang Lei,品质部,,,,\n")
    result = cli("feedback", "import", corrected)
    assert result.exit_code == 0, result
    assert "1 added, 1 updated, 17 unchanged" in result.stderr and "Updated: #5" in result.stderr
    entries = json.loads(cli("feedback", "list", "--format", "json").stdout)
    assert [entry["id"] for entry in entries] == list(range(1, 20))  # no second copy of anything
    shown = json.loads(cli("feedback", "show", "5", "--format", "json").stdout)
    assert (shown["text"], shown["kind"], shown["status"]) == ("HX-200外壳再次开裂，批次2406-03，共12件", "service", "replied")
    trail = json.loads(cli("audit", "list", "--table", "feedback", "--key", "#5", "--format", "json").stdout)
    edit = next(item for item in trail if item["action"] == "edit")
    assert edit["changes"] == {"kind": ["quality", "service"],
                               "text": ["HX-200外壳再次开裂，批次2406-03", "HX-200外壳再次开裂，批次2406-03，共12件"]}
    again = cli("feedback", "import", corrected)
    assert "0 added, 0 updated, 19 unchanged" in again.stderr


def test_the_log_number_is_the_identity_even_when_who_and_when_are_corrected(workspace, with_customers, cli, tmp_path):
    cli("feedback", "import", FEEDBACK_LOG)
    corrected = corrected_log(tmp_path, [("8,2024-08-12 10:30,C-003,服务,电话", "8,2024-08-13 10:30,C-010,服务,拜访")])
    result = cli("feedback", "import", corrected)
    assert "0 added, 1 updated, 17 unchanged" in result.stderr, result
    shown = json.loads(cli("feedback", "show", "8", "--format", "json").stdout)
    assert (shown["received"], shown["customer"], shown["channel"]) == ("2024-08-13T10:30:00", "C-010", "visit")
    assert "18 unchanged" in cli("feedback", "import", corrected).stderr
    numbered_twice = corrected_log(tmp_path, [("9,2024-08-19 13:00", "8,2024-08-19 13:00")])
    refused = cli("feedback", "import", numbered_twice)
    assert refused.exit_code == 1 and "row 10: the same number 8 as row 9" in refused.stderr


def test_without_a_number_column_identity_is_customer_time_channel_and_kind(workspace, with_customers, cli, tmp_path):
    plain = corrected_log(tmp_path, [], drop_number=True)
    assert "18 added" in cli("feedback", "import", plain).stderr
    corrected = corrected_log(tmp_path, [("延误一天", "延误一天，客户停线4小时")], drop_number=True)
    result = cli("feedback", "import", corrected)
    assert "0 added, 1 updated, 17 unchanged" in result.stderr, result
    assert json.loads(cli("feedback", "show", "8", "--format", "json").stdout)["text"] == "现场调试人员未带校准工具，延误一天，客户停线4小时"
    twice = tmp_path / "twice.csv"
    twice.write_text("日期,客户代码,类型,方式,内容\n2024-07-01,C-001,质量,电话,Scratches\n"
                     "2024-07-01,C-001,质量,电话,Wrong colour\n", encoding="utf-8")
    refused = cli("feedback", "import", twice)
    assert refused.exit_code == 1 and "row 3: the same entry as row 2" in refused.stderr
    assert "number the log with a column such as 序号" in refused.stderr
    # A number column added later claims the entries already imported, instead of adding them again.
    numbered = cli("feedback", "import", FEEDBACK_LOG)
    assert "0 added, 1 updated, 17 unchanged" in numbered.stderr  # #8's text is back to the log's
    assert "18 unchanged" in cli("feedback", "import", FEEDBACK_LOG).stderr


def test_a_voided_entry_stays_void_when_its_log_is_imported_again(workspace, with_customers, cli):
    cli("feedback", "import", FEEDBACK_LOG)
    assert cli("feedback", "void", "7", "--reason", "Not feedback: an internal note").exit_code == 0
    result = cli("feedback", "import", FEEDBACK_LOG)
    assert "0 added, 0 updated, 17 unchanged, 1 void (left void)" in result.stderr
    assert json.loads(cli("feedback", "show", "7", "--format", "json").stdout)["void"] is True


def test_a_correction_that_breaks_a_state_rule_is_refused(workspace, with_customers, cli, tmp_path):
    cli("feedback", "import", FEEDBACK_LOG)
    # Entry 10 is information closed without a reply; as a complaint it could not be closed so.
    corrected = corrected_log(tmp_path, [("10,2024-08-28 16:45,C-005,市场变化", "10,2024-08-28 16:45,C-005,质量")])
    result = cli("feedback", "import", corrected)
    assert result.exit_code == 1 and "row 11: a complaint cannot be closed before it has a reply" in result.stderr
    assert json.loads(cli("feedback", "show", "10", "--format", "json").stdout)["kind"] == "market"


def test_dry_run_of_a_corrected_log_says_what_would_change_and_writes_nothing(workspace, with_customers, cli, tmp_path):
    cli("feedback", "import", FEEDBACK_LOG)
    corrected = corrected_log(tmp_path, [("延误一天", "延误一天，客户停线4小时")])
    dry = cli("feedback", "import", corrected, "--dry-run")
    assert dry.exit_code == 0 and "Would import log-corrected.csv: 0 added, 1 updated, 17 unchanged" in dry.stderr
    assert "Would update: #8" in dry.stderr
    assert json.loads(cli("feedback", "show", "8", "--format", "json").stdout)["text"] == "现场调试人员未带校准工具，延误一天"
    assert [item["action"] for item in json.loads(cli("audit", "list", "--table", "feedback", "--key", "#8",
                                                      "--format", "json").stdout)] == ["insert"]


def test_a_nul_escaped_in_an_xlsx_cell_is_dropped_on_either_store(workspace, with_customers, cli, tmp_path):
    # OOXML escapes control characters as _xHHHH_; the reader decodes _x0000_ to NUL, which PostgreSQL
    # cannot store in text (the import failed there with a database error) and SQLite kept invisibly.
    import zipfile

    workbook = Workbook()
    workbook.active.append(["Received", "Customer", "Kind", "Channel", "Text"])
    workbook.active.append([datetime(2024, 8, 1, 9, 30), "C-003", "quality", "phone", "PLACEHOLDER"])
    plain, path = tmp_path / "plain.xlsx", tmp_path / "log.xlsx"
    workbook.save(plain)
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
        for entry in source.infolist():
            target.writestr(entry, source.read(entry.filename).replace(b"PLACEHOLDER", b"Seal_x0000_ leaks"))
    result = cli("feedback", "import", path)
    assert result.exit_code == 0, result
    [shown] = json.loads(cli("feedback", "list", "--all", "--format", "json").stdout)
    assert shown["text"] == "Seal leaks"
