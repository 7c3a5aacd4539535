"""`csat feedback ...` through the real command line."""

import json
import os
import pty
import select as select_module
import subprocess
import sys
import time

import pytest
from feedback_fixtures import EXAMPLES, FEEDBACK_LOG
from openpyxl import load_workbook

LIST_KEYS = {"id", "customer", "kind", "complaint", "channel", "received", "status", "replied_at", "capa"}
SUMMARY_KEYS = {"quarter", "total", "complaints", "by_kind", "by_channel", "by_customer", "by_dept", "open", "overdue",
                "long_unresolved", "reply_days_median", "reply_days_max", "special_attention", "previous_total",
                "unanswered", "unanswered_count", "unanswered_oldest_working_days", "replied_late", "replied_late_count",
                "replied_late_worst_working_days", "version", "summarised_at", "made_by", "recorded"}


@pytest.fixture
def loaded(workspace, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    return cli


def listed(cli, *options) -> list[dict]:
    result = cli("feedback", "list", "--format", "json", *options)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def test_add_list_show(loaded):
    cli = loaded
    result = cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "外壳开裂",
                 "--received", "2024-09-30 23:59", "--product", "HX-200", "--owner", "李娜", "--dept", "品质部")
    assert result.exit_code == 0, result
    assert result.stdout == "1\n"
    assert "Logged complaint #1 from C-003 (quality, phone); reply due by 2024-10-02" in result.stderr
    info = cli("feedback", "add", "C-001", "--kind", "market", "--channel", "meeting", "--text", "Competitor at 4 weeks",
               "--received", "2024-10-01")
    assert info.exit_code == 0 and "Logged feedback #2" in info.stderr
    entries = listed(cli)
    assert LIST_KEYS <= set(entries[0])
    assert {key: entries[0][key] for key in LIST_KEYS} == {
        "id": 1, "customer": "C-003", "kind": "quality", "complaint": True, "channel": "phone",
        "received": "2024-09-30T23:59:00", "status": "open", "replied_at": None, "capa": None}
    assert entries[1]["complaint"] is False and entries[1]["received"] == "2024-10-01T00:00:00"
    assert [entry["id"] for entry in listed(cli, "--quarter", "2024Q3")] == [1]
    assert [entry["id"] for entry in listed(cli, "--quarter", "2024q4")] == [2]
    assert [entry["id"] for entry in listed(cli, "--kind", "market", "--customer", "C-001")] == [2]
    shown = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert shown["dept"] == "quality" and shown["owner"] == "李娜" and shown["product"] == "HX-200"
    table = cli("feedback", "show", "1")
    assert table.exit_code == 0 and "外壳开裂" in table.stdout
    csv_text = cli("feedback", "list", "--format", "csv").stdout
    assert csv_text.startswith("\ufeffid,received,customer,kind,kind_label,complaint,channel,channel_label,status,status_label,"
                               "replied_at,capa,text")
    assert "1,2024-09-30 23:59:00,C-003,quality,Product quality,true,phone,Phone,open,Open,,,外壳开裂" in csv_text


@pytest.mark.parametrize("arguments, message", [
    (["NOPE", "--kind", "quality"], "Error: unknown customer 'NOPE'"),
    (["C-001", "--kind", "praise"],
     "Error: unknown kind 'praise'; valid: quality (质量), requirement (要求), contract (合同), market (市场), conduct (业务行为), service (服务), other (其他)"),
    (["C-001", "--kind", "quality", "--received", "2999-01-01"], "Error: --received 2999-01-01 00:00 is in the future"),
    (["C-001", "--kind", "quality", "--dept", "canteen"], "Error: unknown department 'canteen'"),
    (["C-001", "--kind", "quality", "--capa", "--dept", "nope"], "Error: unknown department 'nope'"),
])
def test_bad_input_is_one_line_exit_1_nothing_changed(loaded, arguments, message):
    result = loaded("feedback", "add", *arguments, "--channel", "phone", "--text", "x")
    assert result.exit_code == 1, result
    assert result.stderr.strip() == message or result.stderr.strip().startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert listed(loaded) == []
    assert json.loads(loaded("capa", "list", "--format", "json").stdout) == []


def test_usage_mistakes_exit_2(loaded):
    assert loaded("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "x",
                  "--received", "30/09/2024").exit_code == 2
    missing = loaded("feedback", "add", "C-001", "--channel", "phone", "--text", "x")
    assert missing.exit_code == 2 and "--kind" in missing.stderr
    assert loaded("feedback", "list", "--quarter", "2024Q5").exit_code == 2
    assert loaded("feedback", "summary", "--quarter", "2024Q3", "--format", "xlsx").exit_code == 2
    assert loaded("feedback", "summary", "--quarter", "2024Q3", "-o", "x.pdf").exit_code == 2


def test_reply_close_and_capa_without_duplicates(loaded):
    cli = loaded
    added = cli("feedback", "add", "C-010", "--kind", "service", "--channel", "visit", "--text", "安装延误一天",
                "--received", "2024-07-01 09:00", "--capa")
    assert added.exit_code == 0, added
    capa_number = listed(cli)[0]["capa"]
    assert capa_number and capa_number.startswith("CAPA-") and f"Opened {capa_number}" in added.stderr
    again = cli("capa", "open", "--from-feedback", "1")
    assert again.exit_code == 0 and again.stdout.strip() == capa_number and "already exists" in again.stderr
    assert len(json.loads(cli("capa", "list", "--format", "json").stdout)) == 1

    refused = cli("feedback", "close", "1")
    assert refused.exit_code == 1 and "has no reply yet" in refused.stderr
    replied = cli("feedback", "reply", "1", "--text", "已道歉，加派工程师", "--at", "2024-07-02 10:00")
    assert replied.exit_code == 0 and "Recorded the reply to #1 (2024-07-02 10:00)" in replied.stderr
    open_capa = cli("feedback", "close", "1")
    assert open_capa.exit_code == 1 and f"its CAPA {capa_number} (Open) is not closed yet" in open_capa.stderr
    assert listed(cli)[0]["status"] == "replied"
    assert cli("feedback", "close", "1", "--reason", "customer accepted; CAPA runs on").exit_code == 0
    shown = cli("feedback", "show", "1")
    assert f"closed while {capa_number} was still open: customer accepted; CAPA runs on" in shown.stderr
    entry = listed(cli)[0]
    assert (entry["status"], entry["replied_at"]) == ("closed", "2024-07-02T10:00:00")
    again = cli("feedback", "close", "1")
    assert again.exit_code == 1 and again.stderr.startswith("Error: feedback #1 is already closed")
    late = cli("feedback", "reply", "1", "--text", "more")
    assert late.exit_code == 1 and "closed" in late.stderr
    assert cli("feedback", "show", "7").exit_code == 1
    audit = json.loads(cli("audit", "list", "--table", "feedback", "--key", "#1", "--format", "json").stdout)
    actions = [item["action"] for item in reversed(audit)]
    assert actions[0] == "insert"
    assert [action for action in actions if action in ("reply", "close")] == ["reply", "close"]


def test_import_and_summary(loaded, workspace, tmp_path):
    cli = loaded
    first = cli("feedback", "import", FEEDBACK_LOG)
    assert first.exit_code == 0 and "18 added, 0 updated, 0 unchanged" in first.stderr
    assert "0 added, 0 updated, 18 unchanged" in cli("feedback", "import", FEEDBACK_LOG).stderr
    dry = cli("feedback", "import", EXAMPLES / "customers.csv", "--dry-run")
    assert dry.exit_code == 1 and "no received, kind, channel, text column" in dry.stderr

    result = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json")
    assert result.exit_code == 0, result
    summary = json.loads(result.stdout)
    assert SUMMARY_KEYS <= set(summary)
    assert (summary["total"], summary["complaints"], summary["previous_total"]) == (12, 8, 3)
    assert summary["by_kind"]["quality"] == 4 and summary["by_channel"]["email"] == 4
    assert summary["by_customer"]["C-003"] == 4 and summary["by_dept"]["engineering"] == 4
    assert summary["open"] == [5, 7, 8, 13, 15] and summary["overdue"] == [8, 13]
    assert summary["special_attention"] == ["C-003"]
    assert "Recorded the 2024Q3 summary as version 1: 12 entries, 8 complaints" in result.stderr

    xlsx = cli("feedback", "summary", "--quarter", "2024Q3", "-o", tmp_path / "q3.xlsx", "--lang", "zh")
    assert xlsx.exit_code == 0, xlsx
    assert load_workbook(tmp_path / "q3.xlsx").sheetnames[0] == "汇总"
    markdown = cli("feedback", "summary", "--quarter", "2024Q3", "--format", "md")
    assert markdown.stdout.startswith("# Feedback and complaints 2024Q3") and "| Complaints | 8 |" in markdown.stdout
    table = cli("feedback", "summary", "--quarter", "2024Q3")
    assert table.exit_code == 0 and "Customers needing special attention" in table.stdout and "C-003" in table.stdout
    from datetime import date

    from csat.periods import Quarter

    running = cli("feedback", "summary", "--quarter", str(Quarter.containing(date.today())), "--format", "json")
    assert running.exit_code == 0 and "has not ended: this is a preview, not recorded" in running.stderr
    assert json.loads(running.stdout)["recorded"] is False
    future = cli("feedback", "summary", "--quarter", "2999Q1")
    assert future.exit_code == 1 and "has not started yet" in future.stderr
    from sqlmodel import select

    from csat.store.engine import open_store
    from csat.store.models import QuarterSummary

    with open_store(workspace).read_session() as session:
        assert [row.quarter for row in session.exec(select(QuarterSummary)).all()] == ["2024Q3"]


def _expect(master: int, text: str, seen: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in "".join(seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {text!r}; got {''.join(seen)!r}")
        ready, _, _ = select_module.select([master], [], [], remaining)
        if ready:
            try:
                seen.append(os.read(master, 4096).decode("utf-8", "replace"))
            except OSError:
                raise AssertionError(f"process ended before {text!r}; got {''.join(seen)!r}") from None


def test_prompts_on_a_terminal(loaded, workspace):
    master, slave = pty.openpty()
    env = dict(os.environ, CSAT_HOME=str(workspace.root), COLUMNS="120", TERM="dumb")
    process = subprocess.Popen([sys.executable, "-m", "csat", "feedback", "add"], stdin=slave, stdout=slave,
                               stderr=slave, env=env, close_fds=True)
    os.close(slave)
    seen: list[str] = []
    try:
        for prompt, answer in [("Customer code", "C-404"), ("unknown customer", "C-007"), ("Kind", "praise"),
                               ("valid: ", "conduct"), ("Channel", "phone"), ("What did the customer say", "Rude"),
                               ("Received", "2024-08-19 13:00"), ("Product", ""), ("Logged by", "Wang Lei"),
                               ("Department", "业务部")]:
            _expect(master, prompt, seen)
            seen.clear()
            os.write(master, (answer + "\n").encode())
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    entry = json.loads(subprocess.run([sys.executable, "-m", "csat", "feedback", "show", "1", "--format", "json"],
                                      env=env, capture_output=True, text=True, check=True).stdout)
    assert {key: entry[key] for key in ("customer", "kind", "complaint", "channel", "text", "received", "owner", "dept")} == {
        "customer": "C-007", "kind": "conduct", "complaint": True, "channel": "phone", "text": "Rude",
        "received": "2024-08-19T13:00:00", "owner": "Wang Lei", "dept": "sales"}
