"""Moved rows and columns in a returned form (issue #17, item 3): answers are found by their item.

The form's protection has no password, so a customer can insert, delete, cut and paste, or sort
rows, and insert a column. Each form here comes from the real send path, is filled and then
rearranged with openpyxl as a customer would, re-saved through LibreOffice (or, where soffice is
not installed, the XlsxWriter stand-in), and imported. What the person sees afterwards (the
report's n and mean per item, each customer's stored answers, the import's problems) must be
right, or the form refused with the cell named.
"""

import email
import json
import shutil
import subprocess
from email import policy
from pathlib import Path

from import_fixtures import count_rows, rearrange, resave_like_libreoffice, stored_answers
from openpyxl import load_workbook

from csat.forms.identity import FormIdentity
from csat.forms.xlsx import identity_rows
from csat.sheets.read import split_address


def _sent_forms(workspace, cli, customers_csv, folder: Path) -> dict[str, Path]:
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("survey", "send", "--half", "2024H1").exit_code == 0
    forms = {}
    for path in sorted(workspace.outbox.glob("*.eml")):
        attachment = next(email.message_from_bytes(path.read_bytes(), policy=policy.default).iter_attachments())
        code = attachment.get_filename().removeprefix("survey-2024H1-").removesuffix(".xlsx")
        forms[code] = folder / f"{code}.xlsx"
        forms[code].write_bytes(attachment.get_content())
    return forms


def _fill(path: Path, secret: bytes) -> tuple[FormIdentity, dict[str, int]]:
    """Scores 50, 55, 60 ... in item order, a comment on delivery, a name and an overall comment."""
    workbook = load_workbook(path)
    identity = FormIdentity.from_rows(identity_rows(workbook), secret)
    sheet = workbook[identity.sheet]
    scores = {code: 50 + 5 * index for index, code in enumerate(identity.items)}
    for code, score in scores.items():
        sheet[identity.items[code]] = score
    sheet[identity.comments["delivery"]] = "两次交货延迟"
    sheet[identity.respondent] = "李伟"
    sheet[identity.overall_comment] = "总体满意"
    workbook.save(path)
    return identity, scores


def _resave_all(paths: list[Path], folder: Path) -> list[Path]:
    """Every file re-saved by LibreOffice Calc in one run (see test_libreoffice.py), else by the stand-in."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    out = folder / "resaved"
    if soffice is None:
        out.mkdir()
        return [resave_like_libreoffice(path, out / path.name) for path in paths]
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{folder / 'profile'}",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    return [out / path.name for path in paths]


def _strip_row_codes(path: Path, sheet_name: str) -> None:
    """The form as sent before row codes existed: no hidden code column, no hidden marker row."""
    workbook = load_workbook(path)
    sheet = workbook[sheet_name]
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("csat:"):
                cell.value = None
    workbook.save(path)


def _swap_visible_cells(path: Path, sheet_name: str, first: int, second: int) -> None:
    """Sort columns A:E of two rows, leaving the hidden code column behind."""
    workbook = load_workbook(path)
    sheet = workbook[sheet_name]
    for column in "ABCDE":
        upper, lower = sheet[f"{column}{first}"], sheet[f"{column}{second}"]
        upper.value, lower.value = lower.value, upper.value
    workbook.save(path)


def test_answers_follow_moved_rows_and_columns(workspace, cli, customers_csv, tmp_path):
    forms = _sent_forms(workspace, cli, customers_csv, tmp_path)
    filled = {code: _fill(path, workspace.secret()) for code, path in forms.items()}
    identity, scores = filled["C-001"]
    rows = {code: split_address(address)[0] for code, address in identity.items.items()}
    first, last = min(rows.values()), max(rows.values())
    third = sorted(rows.values())[2]

    def sheet(code):
        return filled[code][0].sheet

    # C-001: an empty row inserted under item 1, then filled in (the example).
    rearrange(forms["C-001"], sheet("C-001"), row_of=lambda row: row + 1 if row > first else row)
    # C-002: the instructions row deleted (every row below moves up).
    rearrange(forms["C-002"], sheet("C-002"), row_of=lambda row: row - 1 if row > first - 2 else row,
              drop_rows={first - 2})
    # C-003: item 1 cut and pasted under item 3.
    rearrange(forms["C-003"], sheet("C-003"),
              row_of=lambda row: third if row == first else row - 1 if first < row <= third else row)
    # C-004: the item rows sorted by score, highest first (whole rows, as Excel's sort expands to the block).
    rearrange(forms["C-004"], sheet("C-004"), row_of=lambda row: first + last - row if first <= row <= last else row)
    # C-005: a column inserted after the item labels.
    rearrange(forms["C-005"], sheet("C-005"), column_of=lambda column: column + 1 if column >= 3 else column)
    # C-007: a form sent before row codes existed, returned untouched.
    _strip_row_codes(forms["C-007"], sheet("C-007"))
    good = ["C-001", "C-002", "C-003", "C-004", "C-005", "C-007"]

    # C-008: two item rows sorted without the hidden code column; C-009: an item row deleted;
    # C-010: an old form (no row codes) with a row inserted.
    _swap_visible_cells(forms["C-008"], sheet("C-008"), first, first + 1)
    rearrange(forms["C-009"], sheet("C-009"), row_of=lambda row: row - 1 if row > third else row, drop_rows={third})
    _strip_row_codes(forms["C-010"], sheet("C-010"))
    rearrange(forms["C-010"], sheet("C-010"), row_of=lambda row: row + 1 if row > first else row)
    bad = ["C-008", "C-009", "C-010"]

    resaved = dict(zip(good + bad, _resave_all([forms[code] for code in good + bad], tmp_path)))

    refused = cli("import", *(resaved[code] for code in bad), "--format", "json")
    assert refused.exit_code == 1
    codes = list(identity.items)
    assert json.loads(refused.stdout)["problems"] == [
        f"C-008.xlsx!{sheet('C-008')}!D{first}: the rows of the form were changed: row {first} is the row of item "
        f"{codes[1]}, not of {codes[0]}; return the original form",
        f"C-009.xlsx!{sheet('C-009')}!D{third}: the rows of the form were changed: the row of item {codes[2]} is "
        "missing; return the original form",
        f"C-010.xlsx!{sheet('C-010')}!D{first + 1}: the rows of the form were changed: row {first + 1} is not an "
        "item row; return the original form",
    ]
    assert count_rows(_store(workspace), "response") == 0

    result = cli("import", *(resaved[code] for code in good), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["responses_new"], summary["answers_stored"]) == (6, 6 * len(scores))

    report = json.loads(cli("report", "--half", "2024H1", "--format", "json").stdout)
    items = {item["code"]: item for item in report["items"]}
    assert {code: (items[code]["n"], items[code]["mean"]) for code in scores} == {
        code: (6, score) for code, score in scores.items()}
    stored = stored_answers(_store(workspace), "2024H1")
    for code in good:
        answers = stored[(code, "李伟")]
        assert {item: answer[0] for item, answer in answers.items()} == scores, code
        assert answers["delivery"][3] == "两次交货延迟" and answers["quality"][3] == "", code
    with _store(workspace).read_session() as session:
        from sqlmodel import select

        from csat.store.models import Response

        assert set(session.exec(select(Response.comment)).all()) == {"总体满意"}
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert {customer["code"] for customer in status["customers"] if customer["responded"]} == set(good)


def _store(workspace):
    from csat.store.engine import open_store

    return open_store(workspace)
