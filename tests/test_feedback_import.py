"""Importing a feedback log: validated, atomic, idempotent, brings later copies forward, same rules as the CLI."""

from datetime import datetime

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
    assert (by_id[14].channel, by_id[14].dept) == ("other", "")  # 微信 is "other"; no department given
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
                     "row 4: unknown kind 'praise'; valid kinds: quality, requirement",
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
