"""`csat capa ...` through the real command line."""

import json
from datetime import date, timedelta

import pytest
from feedback_fixtures import EXAMPLES, FEEDBACK_LOG, open_survey_round
from openpyxl import load_workbook

LIST_KEYS = {"number", "status", "source", "title", "dept", "due", "overdue"}
YEAR = date.today().year


@pytest.fixture
def loaded(workspace, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "import", FEEDBACK_LOG).exit_code == 0
    return cli


def capa_list(cli, *options) -> list[dict]:
    result = cli("capa", "list", "--format", "json", *options)
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def show(cli, number) -> dict:
    return json.loads(cli("capa", "show", number, "--format", "json").stdout)


def test_open_from_feedback_and_item(loaded, store):
    cli = loaded
    opened = cli("capa", "open", "--from-feedback", "13", "--dept", "Quality", "--due", "2999-12-31")
    assert opened.exit_code == 0, opened
    assert opened.stdout == f"CAPA-{YEAR}-001\n"
    missing_round = cli("capa", "open", "--from-item", "delivery", "--half", "2024H1")
    assert missing_round.exit_code == 1
    assert missing_round.stderr.strip() == ("Error: no survey round for 2024H1; open it with"
                                            " `csat survey open --half 2024H1`")
    open_survey_round(store, "2024H1")
    as_json = cli("capa", "open", "--from-item", "delivery", "--half", "2024H1", "--format", "json",
                  "--reason", "On-time delivery 78.4 < 85")
    assert as_json.exit_code == 0, as_json
    record = json.loads(as_json.stdout)
    assert (record["number"], record["source"], record["dept"], record["status"]) == (
        f"CAPA-{YEAR}-002", "item:2024H1/delivery", "materials", "open")
    assert record["due"] == (date.today() + timedelta(days=30)).isoformat()
    again = cli("capa", "open", "--from-item", "delivery", "--half", "2024H1")
    assert again.stdout == f"CAPA-{YEAR}-002\n" and "already exists" in again.stderr
    listed = capa_list(cli)
    assert len(listed) == 2 and all(LIST_KEYS <= set(record) for record in listed)
    assert {key: listed[0][key] for key in LIST_KEYS} == {
        "number": f"CAPA-{YEAR}-001", "status": "open", "source": "feedback:13",
        "title": "C-003 Product quality or performance: HX-200外壳裂纹问题仍未彻底解决，要求派人到厂",
        "dept": "quality", "due": "2999-12-31", "overdue": False}
    entry = json.loads(cli("feedback", "show", "13", "--format", "json").stdout)
    assert entry["capa"] == f"CAPA-{YEAR}-001"


@pytest.mark.parametrize("arguments", [
    [], ["--from-item", "delivery"], ["--from-item", "delivery", "--half", "2024H1", "--from-feedback", "1"],
    ["--from-feedback", "1", "--due", "31.12.2024"], ["--from-feedback", "one"],
])
def test_open_usage_mistakes_exit_2(loaded, arguments):
    result = loaded("capa", "open", *arguments)
    assert result.exit_code == 2, result
    assert capa_list(loaded) == []


def test_life_cycle_and_illegal_transitions(loaded, tmp_path):
    cli = loaded
    number = cli("capa", "open", "--from-feedback", "8").stdout.strip()

    def refused(*arguments, message):
        before = show(cli, number)
        result = cli("capa", *arguments)
        assert result.exit_code == 1, result
        assert result.stderr.startswith(f"Error: {message}") and len(result.stderr.strip().splitlines()) == 1
        assert show(cli, number) == before

    refused("verify", number, "--by", "QA", "--result", "effective",
            message=f"cannot verify {number}: no root cause and no corrective action recorded yet")
    refused("close", number, message=f"cannot close {number}: it has no effective verification")
    assert cli("capa", "update", number, "--cause", "Tool list not checked before dispatch",
               "--correction", "Tools couriered to site").exit_code == 0
    assert show(cli, number)["status"] == "in_progress"
    refused("verify", number, "--by", "QA", "--result", "effective",
            message=f"cannot verify {number}: no corrective action recorded yet")
    assert cli("capa", "update", number, "--action", "Checklist signed before every field trip",
               "--prevention", "Same checklist for installation teams").exit_code == 0
    back = cli("capa", "verify", number, "--by", "Zhou Li", "--result", "not-effective", "--note", "Missed once in Sep")
    assert back.exit_code == 0 and "verification not effective; now verified, not effective" in back.stderr
    refused("verify", number, "--by", "QA", "--result", "effective",
            message=f"cannot verify {number}: it is verified, not effective; reopen it with"
                    f" `csat capa reopen {number} --reason ...` to rework the actions")
    refused("close", number, message=f"cannot close {number}: its last verification was not effective")
    refused("update", number, "--action", "more", message=f"cannot update {number}: it is verified, not effective")
    refused("reopen", number, "--reason", " ", message="say why with --reason")
    reopened = cli("capa", "reopen", number, "--reason", "Checklist skipped on a weekend trip")
    assert reopened.exit_code == 0 and f"Reopened {number}; now in progress" in reopened.stderr
    refused("reopen", number, "--reason", "again", message=f"cannot reopen {number}: it is in progress")
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "effective").exit_code == 0
    record = show(cli, number)
    assert (record["status"], record["verification_result"], record["verified_by"]) == ("verified", "effective", "Zhou Li")
    refused("update", number, "--cause", "second thoughts", message=f"cannot update {number}: it is verified")
    refused("cancel", number, "--reason", "x", message=f"cannot cancel {number}: it is verified")
    refused("verify", number, "--by", "QA", "--result", "effective", message=f"cannot verify {number}: it is verified")
    assert cli("capa", "close", number).exit_code == 0
    refused("close", number, message=f"cannot close {number}: it is closed")
    refused("update", number, "--action", "more", message=f"cannot update {number}: it is closed")
    assert [r["number"] for r in capa_list(cli, "--status", "closed")] == [number]
    assert capa_list(cli, "--status", "in-progress") == []
    assert capa_list(cli, "--status", "open") == []
    assert cli("capa", "list", "--status", "done").exit_code == 2
    trail = json.loads(cli("audit", "list", "--table", "capa", "--key", number, "--format", "json").stdout)
    transitions = [(entry["action"], entry["changes"]["status"]) for entry in reversed(trail) if entry["action"] != "update"
                   and entry["action"] != "insert"]
    assert transitions == [("start", ["open", "in_progress"]), ("verify", ["in_progress", "verified_not_effective"]),
                           ("reopen", ["verified_not_effective", "in_progress"]),
                           ("verify", ["in_progress", "verified"]), ("close", ["verified", "closed"])]

    assert cli("capa", "form", number, "-o", tmp_path / "form.xlsx").exit_code == 0
    sheet = load_workbook(tmp_path / "form.xlsx")["CAPA"]
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, max_col=2, values_only=True) if row[0]}
    assert values["CAPA number"] == number and values["Status"] == "Closed"
    assert values["Corrective action"] == "Checklist signed before every field trip"
    html = cli("capa", "form", number, "-o", tmp_path / "form.html", "--lang", "zh")
    assert html.exit_code == 0 and "纠正措施" in (tmp_path / "form.html").read_text(encoding="utf-8")
    assert cli("capa", "form", number, "-o", tmp_path / "form.docx").exit_code == 1


def test_cancel_and_overdue(loaded):
    cli = loaded
    first = cli("capa", "open", "--from-feedback", "5").stdout.strip()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    second = cli("capa", "open", "--from-feedback", "7", "--due", tomorrow).stdout.strip()
    assert cli("capa", "cancel", first, "--reason", "Handled under the HX-200 CAPA").exit_code == 0
    record = show(cli, first)
    assert (record["status"], record["cancel_reason"]) == ("cancelled", "Handled under the HX-200 CAPA")
    assert cli("capa", "cancel", first, "--reason", "again").exit_code == 1
    assert capa_list(cli, "--overdue") == []  # not due yet
    assert [r["number"] for r in capa_list(cli, "--status", "open")] == [second]
    past = cli("capa", "update", second, "--due", "2020-01-01", "--reason", "r")
    assert past.exit_code == 1 and past.stderr.strip() == (
        f"Error: due date 2020-01-01 must be after the date {second} was opened ({date.today()})")
    unknown = cli("capa", "show", "CAPA-1999-001")
    assert unknown.exit_code == 1 and unknown.stderr.startswith("Error: no CAPA 'CAPA-1999-001'")
