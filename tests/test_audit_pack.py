"""`csat audit pack`: the evidence pack of a half, read back with openpyxl and checked against the store.

The history: customers from examples/customers.csv (C-006 has no e-mail; C-010 is
deactivated), 2024H1 from the example consolidated sheet, no round in 2024H2, and
2025H1 with signed forms sent to the outbox, two of them filled and imported, plus a
consolidated xlsx sheet for two more customers; complaints received in the past with
replies, a void one and an unanswered one; CAPAs for the flagged items and for a
complaint, with a not-effective and then an effective verification. Every date is in
the past, so the pack is the same on any day the tests run.
"""

from __future__ import annotations

import email
import json
import zipfile
from email import policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.import_fixtures import write_sheet_xlsx
from tests.prose import english_lines

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALF = "2025H1"
FORMULA = '@SUM(1+1) and -delivery slipped'      # text a spreadsheet would run as a formula
SHEET_ROWS = [
    ["C-002", "James Hall", "2025-05-20", 70, 60, 90, 88, 86, 84, 89, 80, FORMULA],
    ["C-004", "王芳", "2025-05-22", 75, 65, 88, 84, "N/A", 80, 85, 82, "交货经常延迟"],
]
SHEET_HEADER = ["customer", "respondent", "date", "quality", "delivery", "price", "responsiveness", "tech_support",
                "after_sales", "communication", "complaint_handling", "comment"]


def ok(result):
    assert result.exit_code == 0, result
    return result


def fill_form_from_outbox(workspace, folder: Path, code: str, scores: list[int], respondent: str) -> Path:
    """The form csat mailed to `code` for HALF (from the outbox), filled in and saved as the customer would."""
    from csat.forms.identity import FormIdentity
    from csat.forms.xlsx import identity_rows

    message_file = next(path for path in workspace.outbox.glob(f"{HALF}-{code}-*.eml"))
    message = email.message_from_bytes(message_file.read_bytes(), policy=policy.default)
    form = folder / f"returned-{code}.xlsx"
    form.write_bytes(next(message.iter_attachments()).get_content())
    workbook = load_workbook(form)
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    sheet = workbook[identity.sheet]
    for score, cell in zip(scores, identity.items.values()):
        sheet[cell] = score
    sheet[identity.respondent] = respondent
    workbook.save(form)
    return form


@pytest.fixture
def history(workspace, store, cli, customers_csv, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    ok(cli("customer", "import", customers_csv))
    ok(cli("customer", "deactivate", "C-010", "--reason", "no longer buys from us"))
    ok(cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1"))
    ok(cli("survey", "open", "--half", HALF))
    ok(cli("survey", "send", "--half", HALF))
    forms = [fill_form_from_outbox(workspace, folder, "C-001", [92, 70, 85, 88, 90, 91, 93, 87], "Anna Becker"),
             fill_form_from_outbox(workspace, folder, "C-003", [95, 72, 83, 92, 94, 91, 93, 90], "李伟")]
    ok(cli("import", *forms))
    sheet = write_sheet_xlsx(folder / "consolidated-2025H1.xlsx", SHEET_HEADER, SHEET_ROWS)
    ok(cli("import", sheet, "--half", HALF))
    ok(cli("report", "--half", HALF, "--open-capa"))
    ok(cli("feedback", "add", "C-003", "--kind", "quality", "--channel", "phone", "--text", "Housing cracked",
           "--received", "2025-02-10 09:00", "--product", "HX-200"))
    ok(cli("feedback", "reply", "1", "--text", "Replacement sent", "--at", "2025-02-11 10:00"))
    ok(cli("feedback", "close", "1", "--at", "2025-02-20 17:00"))
    ok(cli("feedback", "add", "C-001", "--kind", "service", "--channel", "email", "--text", "Installer late",
           "--received", "2025-04-01 09:00"))
    ok(cli("feedback", "reply", "2", "--text", "Sorry", "--at", "2025-04-30 09:00"))
    ok(cli("feedback", "add", "C-002", "--kind", "conduct", "--channel", "visit", "--text", "-rude answer",
           "--received", "2025-05-05 14:00"))
    ok(cli("feedback", "add", "C-004", "--kind", "quality", "--channel", "fax", "--text", "Duplicate fax",
           "--received", "2025-05-06 08:00"))
    ok(cli("feedback", "void", "4", "--reason", "Same as an earlier fax"))
    ok(cli("feedback", "add", "C-005", "--kind", "market", "--channel", "meeting", "--text", "Competitor cheaper",
           "--received", "2025-03-03 10:00"))
    ok(cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Older half",
           "--received", "2024-12-30 10:00"))
    ok(cli("capa", "open", "--from-feedback", "1", "--at", "2025-02-12", "--due", "2025-04-30"))
    capa = json.loads(ok(cli("capa", "list", "--format", "json")).stdout)
    number = next(record["number"] for record in capa if record["feedback"] == 1)
    ok(cli("capa", "update", number, "--cause", "Worn insert", "--action", "New insert"))
    ok(cli("capa", "verify", number, "--by", "Zhou Li", "--result", "not-effective", "--at", "2025-03-01",
           "--note", "Cracks again"))
    ok(cli("capa", "reopen", number, "--reason", "Insert material", "--at", "2025-03-02"))
    ok(cli("capa", "verify", number, "--by", "Zhou Li", "--result", "effective", "--at", "2025-03-20"))
    ok(cli("capa", "close", number, "--at", "2025-03-21"))
    ok(cli("feedback", "summary", "--quarter", "2025Q1"))
    return {"forms": forms, "sheet": sheet, "feedback_capa": number}


def sheet_rows(workbook, title: str) -> list[dict]:
    rows = list(workbook[title].iter_rows(values_only=True))
    headings = rows[0]
    return [dict(zip(headings, row)) for row in rows[1:] if any(value is not None for value in row)]


def build(cli, path: Path, *extra: str):
    return ok(cli("audit", "pack", "--half", HALF, "-o", path, *extra))


def test_answers_and_responses_sheets_hold_every_stored_answer_with_its_source(history, workspace, store, cli,
                                                                              tmp_path):
    from tests.import_fixtures import stored_answers

    path = tmp_path / "pack.xlsx"
    result = build(cli, path)
    assert "pack.xlsx" in result.stderr
    workbook = load_workbook(path)
    responses = {row["Response"]: row for row in sheet_rows(workbook, "Responses")}
    answers = sheet_rows(workbook, "Answers")
    stored = stored_answers(store, HALF)
    assert len(answers) == sum(len(items) for items in stored.values())
    assert len(responses) == len(stored) == 4
    for row in answers:
        response = responses[row["Response"]]
        assert response["Customer"] == row["Customer"]
        assert row["File"] == response["File"]
        score, not_applicable, raw, comment = stored[(row["Customer"], response["Respondent"] or "")][row["Item"]]
        assert row["Score"] == score
        assert (row["Not applicable"] == "yes") == not_applicable
        assert (row["As written"] or "") == raw
        assert (row["Comment"] or "") == comment
    for response in responses.values():
        assert response["Imported by"]                 # from the audit trail
        assert response["Imported on"] is not None
    by_customer = {row["Customer"]: row for row in responses.values()}
    assert by_customer["C-001"]["Source"] == "Form" and by_customer["C-001"]["Code"] == "form"
    assert by_customer["C-001"]["File"] == "returned-C-001.xlsx"
    assert by_customer["C-001"]["Form token"]
    assert by_customer["C-002"]["Source"] == "Sheet"
    assert by_customer["C-002"]["File"] == "consolidated-2025H1.xlsx"
    assert by_customer["C-002"]["Form token"] is None
    assert by_customer["C-002"]["Answered on"].date().isoformat() == "2025-05-20"
    assert by_customer["C-004"]["Overall comment"] == "交货经常延迟"
    assert len(by_customer["C-002"]["Content hash"]) >= 32
    assert (by_customer["C-002"]["Sheet in file"], by_customer["C-002"]["Row in file"]) == (
        json.loads(ok(cli("response", "show", str(by_customer["C-002"]["Response"]), "--format", "json")).stdout)["source_sheet"],
        json.loads(ok(cli("response", "show", str(by_customer["C-002"]["Response"]), "--format", "json")).stdout)["source_row"])
    assert by_customer["C-002"]["Row in file"] >= 2 and len(by_customer["C-002"]["SHA-256 of the file"]) == 64
    # The report counts the same answers: n per item equals the scored answers of the sheet.
    report = json.loads(ok(cli("report", "--half", HALF, "--format", "json")).stdout)
    for item in report["items"]:
        scored = [row for row in answers if row["Item"] == item["code"] and row["Score"] is not None]
        assert len(scored) == item["n"]
    assert len(responses) == report["responses"]


def test_a_withdrawn_response_stays_in_the_pack_marked(history, cli, tmp_path):
    listed = json.loads(ok(cli("response", "list", "--half", HALF, "--format", "json")).stdout)
    withdrawn = next(entry for entry in listed if entry["customer"] == "C-004")
    ok(cli("response", "withdraw", str(withdrawn["id"]), "--reason", "Entered for the wrong customer"))
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    responses = {row["Response"]: row for row in sheet_rows(load_workbook(path), "Responses")}
    assert responses[withdrawn["id"]]["Withdrawn"] is not None
    assert responses[withdrawn["id"]]["Reason"] == "Entered for the wrong customer"
    assert all(row["Withdrawn"] is None for key, row in responses.items() if key != withdrawn["id"])


def test_text_that_looks_like_a_formula_stays_text(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    sheet = load_workbook(path)["Responses"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == FORMULA]
    assert cells and all(cell.data_type == "s" for cell in cells)
    complaints = load_workbook(path)["Complaint register"]
    assert not any(cell.data_type == "f" for row in complaints.iter_rows() for cell in row)


def test_coverage_shows_every_customer_in_every_half_and_why_not(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    rows = sheet_rows(load_workbook(path), "Coverage")
    customers = 10
    assert len(rows) == customers * 3                                   # 2024H1, 2024H2 (no round), 2025H1
    cell = {(row["Customer"], row["Half year"]): row for row in rows}
    assert {row["Half year"] for row in rows} == {"2024H1", "2024H2", "2025H1"}
    assert all(row["Why no answer"] == "No survey round" for row in rows if row["Half year"] == "2024H2")
    assert cell[("C-001", HALF)]["Answered on"] is not None
    assert cell[("C-002", HALF)]["Answered on"].date().isoformat() == "2025-05-20"
    assert cell[("C-001", HALF)]["How invited"] == "Outbox (sent by hand)"
    assert cell[("C-001", HALF)]["Why no answer"] is None
    assert cell[("C-002", HALF)]["Source"] == "Sheet"
    assert cell[("C-006", HALF)]["Why no answer"] == "No e-mail address"
    assert cell[("C-006", HALF)]["E-mail on file"] == "no"
    assert cell[("C-010", HALF)]["Why no answer"] == "Inactive customer"
    assert cell[("C-005", HALF)]["Why no answer"] == "No answer"
    assert cell[("C-005", HALF)]["Invited on"] is not None
    assert cell[("C-001", "2024H1")]["How invited"] == "Outside csat"     # answered in the sheet, never mailed
    raw = list(load_workbook(path)["Coverage"].iter_rows(values_only=True))
    assert raw[0][8] == raw[0][12] == "Code"                            # the codes beside their words
    codes = {row[11]: row[12] for row in raw[1:] if row[11]}
    assert codes["No e-mail address"] == "no_email" and codes["No survey round"] == "no_round"


def test_flagged_items_carry_their_capas_as_capa_show_has_them(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    rows = sheet_rows(load_workbook(path), "Flagged items")
    report = json.loads(ok(cli("report", "--half", HALF, "--format", "json")).stdout)
    assert report["flagged"]
    assert [row["Item"] for row in rows] == [item["code"] for item in report["flagged"]]
    for row, item in zip(rows, report["flagged"]):
        assert row["Code"] == item["status"]
        assert row["Mean"] == pytest.approx(item["mean"])
        shown = json.loads(ok(cli("capa", "show", row["CAPA"], "--format", "json")).stdout)
        assert shown["item"] == row["Item"] and shown["period"] == HALF
        assert row["CAPA status"] == shown["status_label"] or row["CAPA status"]
        assert row["Due"].date().isoformat() == shown["due"]


def test_complaint_register_matches_feedback_list(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    rows = sheet_rows(load_workbook(path), "Complaint register")
    listed = json.loads(ok(cli("feedback", "list", "--all", "--format", "json")).stdout)
    expected = [entry for entry in listed if entry["complaint"] and entry["received"].startswith("2025-0")
                and entry["received"] < "2025-07"]
    assert [row["No."] for row in rows] == [entry["id"] for entry in expected] == [1, 2, 3, 4]
    for row, entry in zip(rows, expected):
        assert row["Received"].isoformat(sep=" ").startswith(entry["received"].replace("T", " ")[:16])
        assert row["Code"] == entry["kind"]
        assert row["Customer"] == entry["customer"]
        assert (row["Reply due"].date().isoformat() if row["Reply due"] else None) == entry["reply_due"]
    first, late, unanswered, void = rows
    assert first["Deadline"] == "Met" and first["Reply time (working days)"] == 1
    assert first["CAPA"] == history["feedback_capa"] and first["CAPA status"] == "Closed"
    assert late["Deadline"] == "Late" and late["Reply time (working days)"] > 5
    assert unanswered["Deadline"] == "Overdue, no reply" and unanswered["Replied"] is None
    assert unanswered["Kind"] == "Sales conduct"
    assert void["Deadline"] == "Void" and void["Reason"] == "Same as an earlier fax"


def test_summaries_and_audit_entries(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    workbook = load_workbook(path)
    summaries = sheet_rows(workbook, "Quarterly summaries")
    assert [row["Quarter"] for row in summaries] == ["2025Q1", "2025Q2"]
    assert summaries[0]["Summarised on"] is not None and summaries[0]["Complaints"] == 1
    assert summaries[0]["Version"] == 1 and summaries[0]["Made by"]
    recorded = json.loads(ok(cli("feedback", "summary", "--quarter", "2025Q1", "--format", "json")).stdout)
    assert json.loads(summaries[0]["Figures as recorded (JSON)"])["total"] == recorded["total"]   # the record as made
    assert summaries[1]["Summarised on"] == "not summarised"
    audit = sheet_rows(workbook, "Audit entries")
    listed = json.loads(ok(cli("audit", "list", "--limit", "100000", "--format", "json")).stdout)
    capa_entries = {entry["id"] for entry in listed if entry["table"] == "capa" and entry["key"] == history["feedback_capa"]}
    assert capa_entries <= {row["Entry"] for row in audit}
    older = {entry["id"] for entry in listed if entry["table"] == "feedback" and entry["key"] == "#6"}
    assert older and not older & {row["Entry"] for row in audit}      # received in 2024H2, entered today: not this half's
    assert "2025H1" in {row["Key"] for row in audit if row["Record kind"] == "survey_round"}


def test_cover_counts_rows_and_hash_matches_the_file(history, cli, tmp_path):
    from csat.reports.evidence import pack_hash

    path = tmp_path / "pack.xlsx"
    result = build(cli, path)
    workbook = load_workbook(path)
    cover = {row[0]: row[1] for row in workbook["Cover"].iter_rows(values_only=True) if row and row[0]}
    digest = cover["Content hash (SHA-256 of the sheets' values)"]
    assert digest in result.stderr
    assert pack_hash(path) == digest
    assert cover["Half year"] == HALF and cover["Company"] == "Test Precision Co."
    for title in ("Coverage", "Responses", "Answers", "Flagged items", "Complaint register", "Audit entries"):
        assert cover[title] == len(sheet_rows(workbook, title))
    # A changed value no longer matches.
    workbook["Answers"]["D2"] = 1
    workbook.save(tmp_path / "edited.xlsx")
    assert pack_hash(tmp_path / "edited.xlsx") != digest


def test_chinese_pack_has_no_english_prose_in_headings(history, cli, tmp_path):
    path = tmp_path / "pack-zh.xlsx"
    build(cli, path, "--lang", "zh")
    workbook = load_workbook(path)
    assert workbook.sheetnames[0] == "封面"
    lines = [" | ".join(workbook.sheetnames)]
    for sheet in workbook.worksheets[1:]:
        lines.append(" | ".join(str(value) for value in next(sheet.iter_rows(values_only=True)) if value is not None))
    lines += [str(row[0]) for row in workbook.worksheets[0].iter_rows(values_only=True) if row and row[0]]
    company = ["Test Precision Co."]
    assert english_lines("\n".join(lines), company) == []
    coverage = sheet_rows(workbook, "调查覆盖")
    assert {row["未答复原因"] for row in coverage} >= {"本半年无调查", "无邮箱地址", "客户已停用"}


def test_zip_holds_the_workbook_and_the_archived_source_files(history, cli, tmp_path):
    import hashlib

    kept = history["forms"][1].read_bytes()
    history["forms"][1].unlink()                        # C-003's returned form is gone from disk since: the store kept it
    path = tmp_path / "pack.zip"
    build(cli, path)
    with zipfile.ZipFile(path) as bundle:
        names = bundle.namelist()
        manifest = json.loads(bundle.read("manifest.json"))
        assert f"evidence-{HALF}.xlsx" in names
        files = {Path(entry["source_file"]).name: entry for entry in manifest["files"]}
        assert bundle.read(files["returned-C-003.xlsx"]["in_zip"]) == kept
        for name in ("returned-C-001.xlsx", "consolidated-2025H1.xlsx", "returned-C-003.xlsx"):
            entry = files[name]
            assert entry["status"] == "included" and entry["from"] == "archive"
            data = bundle.read(entry["in_zip"])
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert bundle.read(files["returned-C-001.xlsx"]["in_zip"]) == history["forms"][0].read_bytes()
        assert files["consolidated-2025H1.xlsx"]["responses"] == 2
        assert manifest["missing"] == 0
        workbook_bytes = bundle.read(f"evidence-{HALF}.xlsx")
    responses = sheet_rows(load_workbook(__import__("io").BytesIO(workbook_bytes)), "Responses")
    listed = {entry["name"]: entry["sha256"] for entry in json.loads(cli("sources", "list", "--format", "json").stdout)}
    for response in responses:                          # each response names its archived file by SHA-256
        assert response["SHA-256 of the file"] == listed[response["File"]] == files[response["File"]]["sha256"]
    with zipfile.ZipFile(path) as bundle:
        workbook = tmp_path / "inner.xlsx"
        workbook.write_bytes(bundle.read(f"evidence-{HALF}.xlsx"))
    from csat.reports.evidence import pack_hash

    assert pack_hash(workbook) == manifest["content_hash"]


@pytest.mark.parametrize("name", ["pack.docx", "pack", "pack.csv"])
def test_a_bad_output_suffix_is_a_usage_error_and_writes_nothing(workspace, cli, tmp_path, name):
    path = tmp_path / name
    result = cli("audit", "pack", "--half", HALF, "-o", path)
    assert result.exit_code == 2
    assert ".xlsx" in result.stderr and ".zip" in result.stderr
    assert not path.exists()
    assert list(tmp_path.iterdir()) == [workspace.root] or not [p for p in tmp_path.iterdir() if p.name.startswith(".pack")]


def test_a_bad_half_is_a_usage_error(workspace, cli, tmp_path):
    result = cli("audit", "pack", "--half", "2025H3", "-o", tmp_path / "p.xlsx")
    assert result.exit_code == 2 and "2025H3" in result.stderr
    assert not (tmp_path / "p.xlsx").exists()


def test_a_half_without_a_round_says_so(workspace, store, cli, customers_csv, tmp_path):
    ok(cli("customer", "import", customers_csv))
    path = tmp_path / "empty.xlsx"
    result = ok(cli("audit", "pack", "--half", "2023H2", "-o", path))
    assert "2023H2" in result.stderr
    workbook = load_workbook(path)
    cover = [row[0] for row in workbook["Cover"].iter_rows(values_only=True) if row and row[0]]
    assert any("2023H2 has no survey round" in line for line in cover)
    coverage = sheet_rows(workbook, "Coverage")
    assert len(coverage) == 10 and {row["Why no answer"] for row in coverage} == {"No survey round"}
    answers = list(workbook["Answers"].iter_rows(values_only=True))
    assert answers[1][0] == "No answers in 2023H2."
    assert sheet_rows(workbook, "Complaint register")[0]["No."] == "No complaint was received in 2023H2."


def test_gaps_sheet_writes_the_given_gaps(tmp_path):
    from csat.periods import Half
    from csat.reports.evidence import write_gaps
    from csat.reports.evidence.workbook import new_workbook

    gaps = [{"rule": "complaint_without_capa", "severity": "major", "record": "feedback #3",
             "what": "Complaint #3 has no CAPA", "fix": "csat feedback link 3 CAPA-2025-004"},
            {"rule": "quarter_not_summarised", "severity": "minor", "record": "2025Q2",
             "what": "=2025Q2 not summarised", "fix": "csat feedback summary --quarter 2025Q2"}]
    for given, expected_rows in ((gaps, 2), ([], 0)):
        workbook = new_workbook()
        sheet = write_gaps(workbook, given, Half.parse(HALF), "en")
        workbook.save(tmp_path / "gaps.xlsx")
        assert sheet.rows == expected_rows
        rows = list(load_workbook(tmp_path / "gaps.xlsx")["Gaps"].iter_rows(values_only=True))
        assert rows[0] == ("Rule", "Severity", "Record", "What", "What to do")
        if given:
            assert [list(row) for row in rows[1:]] == [[gap[key] for key in ("rule", "severity", "record", "what", "fix")]
                                                        for gap in gaps]
        else:
            assert rows[1][0] == "No gap found in 2025H1."


def test_gaps_sheet_holds_what_csat_check_finds(history, cli, tmp_path):
    path = tmp_path / "pack.xlsx"
    build(cli, path)
    found = json.loads(cli("check", "--half", HALF, "--format", "json").stdout)["gaps"]
    assert found                                         # the history leaves gaps (complaints without CAPA...)
    rows = sheet_rows(load_workbook(path), "Gaps")
    assert [(row["Rule"], row["Severity"], row["Record"], row["What"], row["What to do"]) for row in rows] == [
        (gap["rule"], gap["severity"].capitalize(), gap["record"], gap["what"], gap["fix"]) for gap in found]


def test_a_round_without_answers_says_so_when_built_directly(workspace, store, customers_csv, tmp_path):
    from csat.registry import customers
    from csat.reports.evidence import build_pack, pack_hash
    from csat.periods import Half
    from csat.survey.rounds import open_round

    with store.session() as session:
        customers.import_file(session, customers_csv)
        open_round(session, Half.parse(HALF))
    path = tmp_path / "quiet.xlsx"
    with store.read_session() as session:
        result = build_pack(session, workspace.settings, HALF, path, "en")
    assert result.counts["answers"] == 0 and result.counts["responses"] == 0 and not result.empty
    assert result.counts["coverage"] == 10
    workbook = load_workbook(path)
    cover = [row[0] for row in workbook["Cover"].iter_rows(values_only=True) if row and row[0]]
    assert f"{HALF} has a survey round but no answers." in cover
    assert list(workbook["Flagged items"].iter_rows(values_only=True))[1][0] == \
        f"No item of {HALF} is below its action limit or at risk."
    coverage = sheet_rows(workbook, "Coverage")
    assert {row["Why no answer"] for row in coverage} == {"No e-mail address", "Not invited"}
    assert pack_hash(path) == result.content_hash
