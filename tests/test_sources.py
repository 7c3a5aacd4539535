"""Imported files kept in the store under their SHA-256; responses refer to their file, sheet and row;
`import --dry-run` checks a file against a closed round; `csat sources list/get`."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from import_fixtures import count_rows, make_filled_form, open_round_with_invitations, write_sheet_xlsx

HEADER = ["customer", "respondent", "quality", "delivery", "price", "comment"]
ROWS = [["C-001", "Anna Becker", 92, 78, 85, "Fast delivery"],
        ["C-002", "James Hall", 88, 82, 80, ""],
        ["C-003", "", 70, 75, "N/A", "Late twice"]]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _setup(cli, customers_csv) -> None:
    assert cli("customer", "import", customers_csv).exit_code == 0


def _sheet(folder: Path, name: str = "answers-2024H1.xlsx", rows=ROWS, title: str = "Answers") -> Path:
    return write_sheet_xlsx(folder / name, HEADER, [list(row) for row in rows], title=title)


def _archived(cli, kind: str = "responses") -> list[dict]:
    """`sources list` as JSON, the files of one kind (the customer list each test starts with is one too)."""
    return [record for record in json.loads(cli("sources", "list", "--format", "json").stdout) if record["kind"] == kind]


def _responses(cli) -> dict[str, dict]:
    return {record["customer"]: record for record in json.loads(cli("response", "list", "--format", "json").stdout)}


def test_a_sheet_import_archives_the_file_and_each_response_names_its_row(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    sheet = _sheet(tmp_path)
    result = cli("import", sheet, "--half", "2024H1")
    assert result.exit_code == 0, result
    listed = _archived(cli)
    assert len(listed) == 1
    archived = listed[0]
    assert archived["sha256"] == _sha256(sheet) and archived["name"] == "answers-2024H1.xlsx"
    assert archived["size"] == sheet.stat().st_size and archived["records"] == 3 and archived["kind"] == "responses"
    assert archived["media_type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert archived["imported_by"] and archived["imported_at"]

    responses = _responses(cli)
    assert {code: (record["source_sha256"], record["source_sheet"], record["source_row"])
            for code, record in responses.items()} == {
        "C-001": (archived["sha256"], "Answers", 2), "C-002": (archived["sha256"], "Answers", 3),
        "C-003": (archived["sha256"], "Answers", 4)}
    shown = cli("response", "show", str(responses["C-002"]["id"]))
    assert shown.exit_code == 0, shown
    lines = {" ".join(line.split()[:2]): line for line in shown.stdout.splitlines()}
    assert f"answers-2024H1.xlsx, SHA-256 {archived['sha256'][:12]}" in lines["Archived as"]
    assert lines["Sheet Answers"].split() == ["Sheet", "Answers"]
    assert "Row" in shown.stdout and [line.split() for line in shown.stdout.splitlines()
                                      if line.startswith("Row")] == [["Row", "3"]]
    as_json = json.loads(cli("response", "show", str(responses["C-002"]["id"]), "--format", "json").stdout)
    assert (as_json["source_sha256"], as_json["source_sheet"], as_json["source_row"]) == (archived["sha256"], "Answers", 3)

    # The sheet's audit entry names the archived file, so its rows can be traced.
    entries = json.loads(cli("audit", "list", "--table", "response", "--format", "json").stdout)
    sheet_entry = next(entry for entry in entries if entry["key"] == "import answers-2024H1.xlsx")
    assert archived["sha256"] in json.dumps(sheet_entry, ensure_ascii=False)
    assert any(entry["table"] == "source_file" for entry in
               json.loads(cli("audit", "list", "--table", "source_file", "--format", "json").stdout))


def test_sources_get_writes_the_exact_bytes(workspace, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    sheet = _sheet(tmp_path)
    assert cli("import", sheet, "--half", "2024H1").exit_code == 0
    digest = _sha256(sheet)
    target = tmp_path / "out" / "copy.xlsx"
    target.parent.mkdir()
    got = cli("sources", "get", digest[:8], "-o", target)
    assert got.exit_code == 0, got
    assert _sha256(target) == digest and target.read_bytes() == sheet.read_bytes()
    assert "answers-2024H1.xlsx" in got.stderr
    again = cli("sources", "get", digest[:8], "-o", target)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert cli("sources", "get", digest, "-o", target, "--force").exit_code == 0
    missing = cli("sources", "get", "0000000000", "-o", tmp_path / "none.xlsx")
    assert missing.exit_code == 1 and "no archived file" in missing.stderr
    assert not (tmp_path / "none.xlsx").exists()
    short = cli("sources", "get", "abc", "-o", tmp_path / "none.xlsx")
    assert short.exit_code == 1 and "6 hex digits" in short.stderr
    table = cli("sources", "list")
    assert digest[:12] in table.stdout and "answers-2024H1.xlsx" in table.stdout
    as_csv = cli("sources", "list", "--format", "csv")
    assert digest in as_csv.stdout


def test_the_same_file_imported_twice_is_kept_once(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    sheet = _sheet(tmp_path)
    assert cli("import", sheet, "--half", "2024H1").exit_code == 0
    copy = shutil.copy(sheet, tmp_path / "renamed.xlsx")
    again = cli("import", sheet, copy, "--half", "2024H1")
    assert again.exit_code == 0, again
    listed = _archived(cli)
    assert [(record["name"], record["records"]) for record in listed] == [("answers-2024H1.xlsx", 3)]
    assert count_rows(store, "source_file") == 2           # the sheet, and the customer list


def test_a_failed_import_archives_nothing(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    good = _sheet(tmp_path)
    bad = _sheet(tmp_path, "bad.xlsx", rows=[["C-004", "", 120, 80, 80, ""]])
    result = cli("import", good, bad, "--half", "2024H1")
    assert result.exit_code == 1 and "120" in result.stderr
    assert count_rows(store, "source_file") == 1 and count_rows(store, "response") == 0   # the customer list only
    assert _archived(cli) == []
    dry = cli("import", good, "--half", "2024H1", "--dry-run")
    assert dry.exit_code == 0 and count_rows(store, "source_file") == 1


def test_a_returned_form_refers_to_its_archived_file_and_sheet(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    tokens = open_round_with_invitations(store, "2024H1", ["C-001"])
    form, layout = make_filled_form(store, workspace, tmp_path, "C-001", tokens["C-001"],
                                    {code: 80 for code, _label in layout_items(store)}, respondent="Anna Becker")
    result = cli("import", form)
    assert result.exit_code == 0, result
    record = _responses(cli)["C-001"]
    assert record["source_sha256"] == _sha256(form)
    assert record["source_sheet"] == layout.identity.sheet and record["source_row"] is None
    shown = cli("response", "show", str(record["id"]))
    assert f"{form.name}, SHA-256 {_sha256(form)[:12]}" in shown.stdout
    assert not any(line.startswith("Row") for line in shown.stdout.splitlines())


def layout_items(store) -> list[tuple[str, str]]:
    from sqlmodel import select

    from csat.store.models import Item

    with store.read_session() as session:
        return [(item.code, item.label_en) for item in session.exec(select(Item).where(Item.active == True)).all()]  # noqa: E712


def _reopen_replace_close(workspace, store, path: Path) -> None:
    """Reopen the 2024H1 round, import a corrected file with --replace, close it again (core calls)."""
    from csat.importer.run import run_import
    from csat.survey.rounds import close_round, reopen_round

    with store.session() as session:
        reopen_round(session, "2024H1")
    report = run_import(workspace, [path], half="2024H1", replace=True)
    assert report.ok and report.responses_replaced == 1, report.problems
    with store.session() as session:
        close_round(session, "2024H1")


def test_dry_run_checks_a_file_against_a_closed_round(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    sheet = _sheet(tmp_path)
    first = cli("import", sheet, "--half", "2024H1")      # 2024H1 has ended: its round opens closed
    assert first.exit_code == 0 and "closed" in first.stderr, first
    same = cli("import", sheet, "--half", "2024H1", "--dry-run")
    assert same.exit_code == 0, same
    assert "Identical to what is stored" in same.stderr and "Dry run: nothing was written" in same.stderr
    assert same.stderr.count("Identical to what is stored: ") == 3
    as_json = json.loads(cli("import", sheet, "--half", "2024H1", "--dry-run", "-f", "json").stdout)
    assert as_json["identical"] is True and as_json["responses_differing"] == 0
    assert {line["status"] for line in as_json["responses"]} == {"unchanged"}

    changed_rows = [list(row) for row in ROWS]
    changed_rows[1][3] = 60                           # C-002 delivery 82 -> 60
    changed_rows[1][1] = "Jim Hall"                  # and another respondent: a new response, not a correction
    changed_rows[0][5] = "Slow delivery"              # C-001 comment
    changed = _sheet(tmp_path, "corrected.xlsx", rows=[changed_rows[0], ROWS[1]])
    _reopen_replace_close(workspace, store, changed)
    before = count_rows(store, "audit_log")

    check = cli("import", sheet, "--half", "2024H1", "--dry-run")
    assert check.exit_code == 4, check
    assert "Differs from what is stored (closed round): C-001 2024H1 (Anna Becker)" in check.stderr
    assert "comment: stored 'Slow delivery', file 'Fast delivery'" in check.stderr
    assert "Identical to what is stored: C-002 2024H1 (James Hall)" in check.stderr
    assert "1 response differs from what its closed round holds" in check.stderr
    assert count_rows(store, "audit_log") == before and count_rows(store, "source_file") == 3
    record = json.loads(cli("import", sheet, "--half", "2024H1", "--dry-run", "-f", "json").stdout)
    assert record["identical"] is False and record["responses_differing"] == 1
    line = next(line for line in record["responses"] if line["customer"] == "C-001")
    assert line["status"] == "differs"
    assert line["differences"] == [{"what": "comment", "stored": "Slow delivery", "file": "Fast delivery"}]

    # A real import of the old file into the closed round is refused, and writes nothing.
    refused = cli("import", sheet, "--half", "2024H1")
    assert refused.exit_code == 1 and "closed" in refused.stderr

    # Score differences name the item, the stored and the file's value; a response the round lacks is "not stored".
    scores = [list(row) for row in ROWS] + [["C-004", "", 50, 50, 50, ""]]
    scores[2][2] = 71
    other = _sheet(tmp_path, "other.xlsx", rows=scores)
    checked = cli("import", other, "--half", "2024H1", "--dry-run")
    assert checked.exit_code == 4, checked
    assert "quality: stored '70', file '71'" in checked.stderr
    assert "Not stored (closed round): C-004 2024H1" in checked.stderr


def test_dry_run_of_a_form_against_its_closed_round(workspace, store, cli, customers_csv, tmp_path):
    from csat.survey.rounds import close_round

    _setup(cli, customers_csv)
    tokens = open_round_with_invitations(store, "2024H1", ["C-001"])
    items = {code: 80 for code, _label in layout_items(store)}
    form, _layout = make_filled_form(store, workspace, tmp_path, "C-001", tokens["C-001"], items)
    assert cli("import", form).exit_code == 0
    with store.session() as session:
        close_round(session, "2024H1")
    same = cli("import", form, "--dry-run")
    assert same.exit_code == 0 and "Identical to what is stored" in same.stderr, same
    assert cli("import", form).exit_code == 0          # its own answers again: unchanged, even closed
    first = next(iter(items))
    corrected, _layout = make_filled_form(store, workspace, tmp_path, "C-001", tokens["C-001"],
                                          items | {first: 90}, name="corrected.xlsx")
    differs = cli("import", corrected, "--dry-run")
    assert differs.exit_code == 4, differs
    assert f"{first}: stored '80', file '90'" in differs.stderr
    refused = cli("import", corrected)
    assert refused.exit_code == 1 and "closed" in refused.stderr


def test_a_feedback_log_is_archived_and_each_entry_names_its_row(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    log = Path(__file__).resolve().parent.parent / "examples" / "feedback-log.csv"
    result = cli("feedback", "import", log)
    assert result.exit_code == 0, result
    entries = json.loads(cli("feedback", "list", "--all", "--format", "json").stdout)
    listed = _archived(cli, "feedback")
    assert [(record["name"], record["kind"], record["records"], record["sha256"]) for record in listed] == [
        ("feedback-log.csv", "feedback", len(entries), _sha256(log))]
    first = min(entries, key=lambda entry: entry["id"])
    shown = cli("feedback", "show", str(first["id"]), "--format", "json")
    record = json.loads(shown.stdout)
    assert (record["source_file_name"], record["source_sha256"], record["source_row"]) == (
        "feedback-log.csv", _sha256(log), 2)
    table = cli("feedback", "show", str(first["id"]))
    assert "feedback-log.csv" in table.stdout and _sha256(log) in table.stdout
    assert cli("feedback", "import", log).exit_code == 0          # the same log again: kept once
    assert len(_archived(cli, "feedback")) == 1
    typed = cli("feedback", "add", "C-001", "--kind", "market", "--channel", "phone", "--text", "Competitor cut prices")
    assert typed.exit_code == 0, typed
    newest = max(json.loads(cli("feedback", "list", "--all", "--format", "json").stdout), key=lambda entry: entry["id"])
    assert "Imported from" not in cli("feedback", "show", str(newest["id"])).stdout


def test_a_failed_feedback_import_archives_nothing(workspace, store, cli, customers_csv, tmp_path):
    _setup(cli, customers_csv)
    bad = tmp_path / "log.csv"
    bad.write_text("received,customer,kind,channel,text\n2024-05-02 10:00,C-999,quality,phone,Scratches\n",
                   encoding="utf-8")
    assert cli("feedback", "import", bad).exit_code == 1
    assert _archived(cli, "feedback") == [] and count_rows(store, "feedback") == 0
    good = tmp_path / "good.csv"
    good.write_text("received,customer,kind,channel,text\n2024-05-02 10:00,C-001,quality,phone,Scratches\n",
                    encoding="utf-8")
    assert cli("feedback", "import", good, "--dry-run").exit_code == 0
    assert _archived(cli, "feedback") == []


def test_a_customer_list_is_archived_when_it_adds_or_changes_customers(workspace, store, cli, customers_csv, tmp_path):
    assert cli("customer", "import", customers_csv, "--dry-run").exit_code == 0
    assert count_rows(store, "source_file") == 0
    _setup(cli, customers_csv)
    listed = _archived(cli, "customers")
    customers = json.loads(cli("customer", "list", "--format", "json").stdout)
    assert [(record["name"], record["records"], record["sha256"], record["media_type"]) for record in listed] == [
        ("customers.csv", len(customers), _sha256(customers_csv), "text/csv")]
    assert cli("customer", "import", customers_csv).exit_code == 0        # nothing changes: nothing more kept
    changed = tmp_path / "customers.csv"
    changed.write_text(customers_csv.read_text(encoding="utf-8-sig").replace("Acme Motors GmbH", "Acme Motors AG"),
                       encoding="utf-8")
    assert cli("customer", "import", changed).exit_code == 0
    assert [(record["name"], record["records"]) for record in _archived(cli, "customers")] == [
        ("customers.csv", len(customers) - 1), ("customers.csv", 1)]
    assert "customers.csv" in cli("sources", "list").stdout
