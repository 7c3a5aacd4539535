"""Issue #17, CAPA side: every verification kept, `capa reopen`, records written after the fact
(`--at DATE`), and one rule for due dates; checked through what a person sees (`capa show`,
`capa list`, the CAPA form, `audit list`)."""

import json
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from feedback_fixtures import EXAMPLES, FEEDBACK_LOG
from openpyxl import load_workbook

from csat.errors import CsatError

TODAY = date.today()
YEAR = TODAY.year
LEGACY_KEYS = {"number", "status", "source", "title", "dept", "due", "overdue", "id", "source_kind", "period", "item",
               "feedback", "customer", "description", "root_cause", "correction", "corrective_action",
               "preventive_action", "verified_by", "verified_at", "verification_result", "verification_note",
               "cancel_reason", "created_at", "updated_at", "closed_at"}


@pytest.fixture
def loaded(workspace, cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0
    assert cli("feedback", "import", FEEDBACK_LOG).exit_code == 0
    return cli


def show(cli, number) -> dict:
    result = cli("capa", "show", number, "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def audit(cli, number) -> list[dict]:
    return list(reversed(json.loads(cli("audit", "list", "--table", "capa", "--key", number, "--format", "json").stdout)))


def worked(cli, feedback="13", *options) -> str:
    number = cli("capa", "open", "--from-feedback", feedback, *options).stdout.strip()
    assert cli("capa", "update", number, "--cause", "Mould insert worn", "--action", "Shot counter on M-17").exit_code == 0
    return number


def refused(cli, number, *arguments, message):
    before = show(cli, number)
    result = cli("capa", *arguments)
    assert result.exit_code == 1, result
    assert result.stderr.strip() == f"Error: {message}"
    assert show(cli, number) == before


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.pairs, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.pairs.append([])
        elif tag in ("th", "td"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self.pairs[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def form_rows(cli, number, tmp_path, lang="en") -> tuple[dict, dict]:
    assert cli("capa", "form", number, "-o", tmp_path / "form.xlsx", "--lang", lang).exit_code == 0
    assert cli("capa", "form", number, "-o", tmp_path / "form.html", "--lang", lang).exit_code == 0
    sheet = load_workbook(tmp_path / "form.xlsx")["CAPA"]
    xlsx = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, max_col=2, values_only=True) if row[0]}
    parser = Cells()
    parser.feed((tmp_path / "form.html").read_text(encoding="utf-8"))
    html = dict(pair for pair in parser.pairs if len(pair) == 2)
    return xlsx, html


def test_every_verification_is_kept_and_shown(loaded, tmp_path):
    cli = loaded
    number = worked(cli)
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "not-effective",
               "--note", "Cracks again in lot 2410-02").exit_code == 0
    record = show(cli, number)
    assert record["status"] == "verified_not_effective"
    assert [r["number"] for r in json.loads(cli("capa", "list", "--status", "verified-not-effective",
                                                "--format", "json").stdout)] == [number]
    assert cli("capa", "reopen", number, "--reason", "Insert material is the cause").exit_code == 0
    assert cli("capa", "update", number, "--action", "H13 inserts, PM every 30k shots").exit_code == 0
    assert cli("capa", "verify", number, "--by", "Wang Fang", "--result", "effective",
               "--note", "No cracks in 3 lots").exit_code == 0

    record = show(cli, number)
    assert LEGACY_KEYS <= set(record)  # the old keys stay, holding the last verification
    assert (record["status"], record["verified_by"], record["verification_result"], record["verification_note"]) == (
        "verified", "Wang Fang", "effective", "No cracks in 3 lots")
    assert [(v["date"], v["by"], v["result"], v["note"]) for v in record["verifications"]] == [
        (TODAY.isoformat(), "Zhou Li", "not-effective", "Cracks again in lot 2410-02"),
        (TODAY.isoformat(), "Wang Fang", "effective", "No cracks in 3 lots")]
    assert all(v["entered_at"].startswith(TODAY.isoformat()) for v in record["verifications"])
    assert [(r["from"], r["reason"]) for r in record["reopenings"]] == [
        ("verified_not_effective", "Insert material is the cause")]

    table = cli("capa", "show", number).stdout
    assert "Cracks again in lot 2410-02" in table and "No cracks in 3 lots" in table
    assert "Insert material is the cause" in table

    xlsx, html = form_rows(cli, number, tmp_path)
    for rows in (xlsx, html):
        assert "Not effective · Verified by: Zhou Li\nCracks again in lot 2410-02" in rows["Verification 1"]
        assert "Effective · Verified by: Wang Fang\nNo cracks in 3 lots" in rows["Verification 2"]
        reopened = [value for name, value in rows.items() if name.startswith("Reopened on")]
        assert len(reopened) == 1 and reopened[0].startswith("Insert material is the cause")
        names = list(rows)
        assert names.index("Verification 1") < names.index(next(n for n in names if n.startswith("Reopened")))
    zh_xlsx, _ = form_rows(cli, number, tmp_path, "zh")
    assert "无效" in zh_xlsx["第1次验证"] and "有效" in zh_xlsx["第2次验证"]

    assert "Verified by" not in xlsx  # verified: no blank fields for another check

    assert cli("capa", "close", number).exit_code == 0
    assert show(cli, number)["status"] == "closed"
    assert cli("capa", "reopen", number, "--reason", "Cracks again at C-003").exit_code == 0
    xlsx, _ = form_rows(cli, number, tmp_path)  # reopened: the history, then blank fields for the next check
    names = list(xlsx)
    assert names.index("Verification 2") < names.index("Verified by") and xlsx["Verified by"] is None


def test_reopen_a_closed_capa(loaded):
    cli = loaded
    number = worked(cli)
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "effective").exit_code == 0
    assert cli("capa", "close", number).exit_code == 0
    assert show(cli, number)["closed_at"] is not None
    refused(cli, number, "reopen", number, "--reason", "", message="say why with --reason; the reason is kept on the record")
    result = cli("capa", "reopen", number, "--reason", "Customer C-003 reports cracks again")
    assert result.exit_code == 0 and f"Reopened {number}; now in progress" in result.stderr
    record = show(cli, number)
    assert (record["status"], record["closed_at"], len(record["verifications"])) == ("in_progress", None, 1)
    listed = json.loads(cli("capa", "list", "--status", "in_progress", "--format", "json").stdout)
    assert [r["number"] for r in listed] == [number]
    refused(cli, number, "close", number, message=f"cannot close {number}: it has no effective verification; verify it"
            f" first with `csat capa verify {number} --by NAME --result effective`")
    entry = audit(cli, number)[-1]
    assert entry["action"] == "reopen"
    assert entry["changes"] == {"status": ["closed", "in_progress"], "reason": "Customer C-003 reports cracks again"}
    assert "reason: Customer C-003 reports cracks again" in entry["summary"]


def test_reopen_refused_where_there_is_nothing_to_reopen(loaded):
    cli = loaded
    number = cli("capa", "open", "--from-feedback", "8").stdout.strip()
    refused(cli, number, "reopen", number, "--reason", "x", message=f"cannot reopen {number}: it is open; it is still"
            " being worked on")
    assert cli("capa", "cancel", number, "--reason", "Duplicate").exit_code == 0
    refused(cli, number, "reopen", number, "--reason", "x",
            message=f"cannot reopen {number}: it is cancelled; a cancelled CAPA is final")
    assert cli("capa", "reopen", "CAPA-1999-001", "--reason", "x").exit_code == 1
    assert cli("capa", "reopen", number).exit_code == 2  # --reason is required


def test_a_capa_written_after_the_fact(loaded, tmp_path):
    """Open, verify, reopen and close with the dates they happened; the audit keeps both dates."""
    cli = loaded
    opened = cli("capa", "open", "--from-feedback", "13", "--at", "2024-10-08", "--due", "2024-11-30")
    assert opened.exit_code == 0, opened
    number = opened.stdout.strip()
    assert number == "CAPA-2024-001"  # numbered in the year it was opened
    assert cli("capa", "update", number, "--cause", "Insert worn", "--action", "Shot counter").exit_code == 0
    refused(cli, number, "verify", number, "--by", "QA", "--result", "effective", "--at", "2024-10-07",
            message="verification date 2024-10-07 is before the date CAPA-2024-001 was opened (2024-10-08)")
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    refused(cli, number, "verify", number, "--by", "QA", "--result", "effective", "--at", tomorrow,
            message=f"verification date {tomorrow} is in the future (today is {TODAY.isoformat()})")
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "not-effective", "--at", "2024-11-05",
               "--note", "Cracks again").exit_code == 0
    refused(cli, number, "reopen", number, "--reason", "x", "--at", "2024-11-04",
            message="reopening date 2024-11-04 is before its last verification (2024-11-05)")
    assert cli("capa", "reopen", number, "--reason", "New insert material", "--at", "2024-11-06").exit_code == 0
    assert cli("capa", "update", number, "--action", "H13 inserts").exit_code == 0
    refused(cli, number, "verify", number, "--by", "QA", "--result", "effective", "--at", "2024-11-05",
            message="verification date 2024-11-05 is before the date it was last reopened (2024-11-06)")
    assert cli("capa", "verify", number, "--by", "Zhou Li", "--result", "effective", "--at", "2024-11-28",
               "--note", "No cracks in 3 lots").exit_code == 0
    refused(cli, number, "close", number, "--at", "2024-11-27",
            message="closing date 2024-11-27 is before its last verification (2024-11-28)")
    assert cli("capa", "close", number, "--at", "2024-11-30").exit_code == 0

    record = show(cli, number)
    assert (record["status"], record["created_at"], record["closed_at"], record["due"], record["overdue"]) == (
        "closed", "2024-10-08T00:00:00", "2024-11-30T00:00:00", "2024-11-30", False)
    assert [(v["date"], v["result"]) for v in record["verifications"]] == [
        ("2024-11-05", "not-effective"), ("2024-11-28", "effective")]
    assert all(v["entered_at"].startswith(TODAY.isoformat()) for v in record["verifications"])
    assert [(r["date"], r["reason"]) for r in record["reopenings"]] == [("2024-11-06", "New insert material")]

    trail = {entry["action"]: entry for entry in audit(cli, number) if entry["action"] in ("open", "close")}
    for action, stated in (("open", "2024-10-08"), ("close", "2024-11-30")):
        changes = trail[action]["changes"]
        assert changes["at"] == stated and changes["entered_at"].startswith(TODAY.isoformat())
        assert trail[action]["at"].startswith(TODAY.isoformat())  # the entry itself is dated when it was made
    verified = [entry for entry in audit(cli, number) if entry["action"] == "verify"]
    assert [(entry["changes"]["at"], entry["changes"]["result"]) for entry in verified] == [
        ("2024-11-05", "not-effective"), ("2024-11-28", "effective")]
    assert "at: 2024-11-28; entered_at: " + TODAY.isoformat() in verified[-1]["summary"]

    xlsx, html = form_rows(cli, number, tmp_path)
    for rows in (xlsx, html):
        assert rows["Opened on"] == "2024-10-08" and rows["Closed on"] == "2024-11-30"
        assert rows["Verification 1"].startswith("2024-11-05 · Not effective · Verified by: Zhou Li\nCracks again\n"
                                                 f"(entered {TODAY.isoformat()} ")
        assert rows["Reopened on 2024-11-06"].startswith("New insert material (by ")


def test_at_today_is_simply_now(loaded):
    cli = loaded
    number = worked(cli)
    assert cli("capa", "verify", number, "--by", "QA", "--result", "effective", "--at", TODAY.isoformat()).exit_code == 0
    verification = show(cli, number)["verifications"][0]
    assert verification["verified_at"] == verification["entered_at"]  # a real time, not 00:00
    assert "at" not in audit(cli, number)[-1]["changes"]


def test_open_at_checks_the_source(loaded, store):
    cli = loaded
    refused_open = cli("capa", "open", "--from-feedback", "12", "--at", "2024-01-01")
    assert refused_open.exit_code == 1
    assert refused_open.stderr.strip() == "Error: opening date 2024-01-01 is before feedback #12 was received (2024-09-10)"
    future = cli("capa", "open", "--from-feedback", "12", "--at", (TODAY + timedelta(days=3)).isoformat())
    assert future.exit_code == 1 and "is in the future" in future.stderr
    assert cli("capa", "open", "--from-feedback", "12", "--at", "08/10/2024").exit_code == 2
    assert json.loads(cli("capa", "list", "--format", "json").stdout) == []


def test_one_rule_for_due_dates(loaded):
    """A due date comes after the date the CAPA was opened: not on it, not before, however it was entered."""
    cli = loaded
    same_day = cli("capa", "open", "--from-feedback", "5", "--due", TODAY.isoformat())
    assert same_day.exit_code == 1
    assert same_day.stderr.strip() == (f"Error: due date {TODAY} must be after the date the CAPA was opened ({TODAY})")
    backfilled = cli("capa", "open", "--from-feedback", "5", "--at", "2024-10-08", "--due", "2024-10-20")
    assert backfilled.exit_code == 0, backfilled  # a due date in the past is fine for a CAPA opened before it
    number = backfilled.stdout.strip()
    record = show(cli, number)
    assert (record["due"], record["overdue"]) == ("2024-10-20", True)
    default = cli("capa", "open", "--from-feedback", "7", "--at", "2024-10-08", "--format", "json")
    assert json.loads(default.stdout)["due"] == "2024-11-07"  # capa.due_days after the opening date
    refused(cli, number, "update", number, "--due", "2024-10-08",
            message=f"due date 2024-10-08 must be after the date {number} was opened (2024-10-08)")
    unexplained = cli("capa", "update", number, "--due", "2024-10-09")
    assert unexplained.exit_code == 2 and "needs a reason" in unexplained.stderr
    assert show(cli, number)["due"] == "2024-10-20"
    assert cli("capa", "update", number, "--due", "2024-10-09", "--reason", "supplier ships earlier").exit_code == 0
    assert show(cli, number)["due"] == "2024-10-09"
    trail = json.loads(cli("audit", "list", "--table", "capa", "--key", number, "--format", "json").stdout)
    assert trail[0]["changes"]["due_date"] == ["2024-10-20", "2024-10-09"]
    assert trail[0]["changes"]["reason"] == "supplier ships earlier"
    overdue = json.loads(cli("capa", "list", "--overdue", "--format", "json").stdout)
    assert number in [r["number"] for r in overdue]


def test_not_effective_capa_is_still_overdue(loaded):
    cli = loaded
    number = worked(cli, "13", "--at", "2024-10-08", "--due", "2024-10-20")
    assert cli("capa", "verify", number, "--by", "QA", "--result", "not-effective").exit_code == 0
    overdue = json.loads(cli("capa", "list", "--overdue", "--format", "json").stdout)
    assert [(r["number"], r["status"]) for r in overdue] == [(number, "verified_not_effective")]


def test_readme_example_of_a_capa_written_after_the_fact(loaded):
    """The README's `--at` block runs as written, with its 2024 dates, after three earlier 2024 CAPAs."""
    import re
    import shlex
    from pathlib import Path

    cli = loaded
    for feedback in ("13", "5", "7"):
        assert cli("capa", "open", "--from-feedback", feedback, "--at", "2024-10-08").exit_code == 0
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### CAPA"):readme.index("### Reports")]
    block = re.findall(r"```sh\n(.*?)```", section[section.index("`--at DATE`"):], re.S)[0]
    commands = [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if line.strip()]
    assert [words[:3] for words in commands][0] == ["csat", "capa", "open"]
    for words in commands:
        result = cli(*words[1:])
        assert result.exit_code == 0, (words, result)
    record = show(cli, "CAPA-2024-004")
    assert (record["status"], record["created_at"], record["closed_at"], record["verified_at"]) == (
        "closed", "2024-08-13T00:00:00", "2024-09-23T00:00:00", "2024-09-20T00:00:00")
    closing = next(entry for entry in audit(cli, "CAPA-2024-004") if entry["action"] == "close")
    assert closing["changes"]["at"] == "2024-09-23" and closing["changes"]["entered_at"].startswith(TODAY.isoformat())


def test_item_capa_written_after_the_fact(workspace, store):
    from feedback_fixtures import open_survey_round

    from csat.capa import records as capas

    open_survey_round(store, "2024H1")  # entered today, for a survey run in 2024
    with store.session() as session:
        with pytest.raises(CsatError, match=r"opening date 2023-12-31 is before the 2024H1 half year began \(2024-01-01\)"):
            capas.open_for_item(session, workspace.settings, "2024H1", "delivery", at=date(2023, 12, 31))
    with store.session() as session:
        capa, created = capas.open_for_item(session, workspace.settings, "2024H1", "delivery", at=date(2024, 7, 15))
        record = capas.record(session, workspace.settings, capa)
    assert created and (record["number"], record["created_at"].date(), record["due"]) == (
        "CAPA-2024-001", date(2024, 7, 15), date(2024, 8, 14))
