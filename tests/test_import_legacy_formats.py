"""Excel 97-2003 (.xls) and OpenDocument (.ods) files: read like xlsx, with the same guards and errors.

Returned forms, consolidated sheets, customer lists and feedback logs arrive in these formats from
customers on old Excel, WPS or LibreOffice. The committed files in tests/data/ were written by
LibreOffice (tests/legacy_fixtures.py); where LibreOffice is installed, a filled form is also
converted fresh, as a customer's office suite would save it.
"""

import json
import zipfile

import pytest
from import_fixtures import filled_sent_form
from legacy_fixtures import (EXAMPLES, bad_cells_xlsx, committed, convert, hostile_ods, ods_row, responses_xlsx,
                             soffice)

from csat.sheets.formats import check_ods
from csat.sheets.guard import Limits, UnsafeFile
from csat.sheets.read import read_table

KINDS = ["xls", "ods"]
needs_libreoffice = pytest.mark.skipif(soffice() is None, reason="LibreOffice (soffice) is not installed")


@pytest.fixture
def customers(cli):
    assert cli("customer", "import", EXAMPLES / "customers.csv").exit_code == 0


def nothing_stored(cli) -> bool:
    """What a person sees after a refused import: still no round, no answers to report."""
    result = cli("report", "--half", "2024H1", "--format", "json")
    return result.exit_code == 1 and "no survey round" in result.stderr


def report(cli) -> dict:
    result = cli("report", "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    return json.loads(result.stdout) | {"generated_at": None}


@pytest.mark.parametrize("kind", KINDS)
def test_a_consolidated_sheet_imports_like_its_csv(workspace, cli, customers, kind):
    result = cli("import", committed("responses-2024H1", kind), "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    record = json.loads(result.stdout)
    assert (record["responses_new"], record["answers_stored"], record["problems"]) == (8, 64, [])
    assert record["sources"] == [{"file": f"responses-2024H1.{kind}", "kind": f"sheet ({kind})", "responses": 8}]
    from_sheet = report(cli)

    again = cli("import", EXAMPLES / "responses-2024H1.csv", "--half", "2024H1", "--format", "json")
    assert json.loads(again.stdout)["responses_unchanged"] == 8      # the same answers as the csv holds
    assert report(cli) == from_sheet
    assert from_sheet["responses"] == 8


@pytest.mark.parametrize("kind", KINDS)
def test_bad_cells_are_named_by_file_sheet_and_cell(workspace, cli, customers, kind):
    """The data starts at B3 (calamine trims the blank rows and column): addresses stay absolute."""
    result = cli("import", committed("bad-cells", kind), "--half", "2024H1")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert f"bad-cells.{kind}!Responses!E5: score 120 out of 0-100" in result.stderr
    assert f"bad-cells.{kind}!Responses!F6: 'good' is not a score for delivery" in result.stderr
    assert "nothing written" in result.stderr
    assert nothing_stored(cli)


@pytest.mark.parametrize("kind", KINDS)
def test_customers_and_feedback_import_from_xls_and_ods(workspace, cli, kind):
    result = cli("customer", "import", committed("customers", kind))
    assert result.exit_code == 0, result
    assert f"Imported customers.{kind}: 10 added" in result.stderr
    listed = json.loads(cli("customer", "list", "--format", "json").stdout)
    assert [customer["code"] for customer in listed][:2] == ["C-001", "C-002"] and len(listed) == 10
    assert listed[0]["phone"] == "+49 711 555 0101"
    assert cli("customer", "import", EXAMPLES / "customers.csv").stderr.count("10 unchanged") == 1

    result = cli("feedback", "import", committed("feedback-log", kind))
    assert result.exit_code == 0, result
    assert f"Imported feedback-log.{kind}: 18 added" in result.stderr
    shown = cli("feedback", "show", "2")
    assert "反映竞争对手报价下调8%" in shown.stdout
    assert "18 unchanged" in cli("feedback", "import", EXAMPLES / "feedback-log.csv").stderr


@needs_libreoffice
@pytest.mark.parametrize("kind", KINDS)
def test_a_filled_form_saved_as_xls_or_ods_imports(workspace, cli, customers, tmp_path, kind):
    form = filled_sent_form(workspace, cli, tmp_path)

    saved = convert(form, kind, tmp_path / "saved")
    result = cli("import", saved, "--format", "json")
    assert result.exit_code == 0, result
    record = json.loads(result.stdout)
    assert (record["responses_new"], record["answers_stored"]) == (1, 8)
    assert record["sources"][0]["kind"] == "form"
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert [customer["code"] for customer in status["customers"] if customer["responded"]] == ["C-003"]


@needs_libreoffice
@pytest.mark.parametrize("kind", KINDS)
def test_files_converted_now_read_as_the_committed_ones(tmp_path, kind):
    for build, name in ((responses_xlsx, "responses-2024H1"), (bad_cells_xlsx, "bad-cells")):
        fresh = convert(build(tmp_path), kind, tmp_path / "out")
        assert [sheet.rows for sheet in read_table(fresh)] == [sheet.rows for sheet in read_table(committed(name, kind))]


def test_repeated_cells_spanning_a_huge_range_are_refused_before_parsing(workspace, cli, customers, tmp_path):
    """A few hundred bytes of ODS can repeat one filled cell over a billion places."""
    hostile = hostile_ods(tmp_path / "repeated.ods",
                          ods_row("customer", "quality") + ods_row("C-001", 90, repeat_row=1_048_574, repeat_last=16_383))
    assert hostile.stat().st_size < 2000
    result = cli("import", hostile, "--half", "2024H1")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert ("repeated.ods!Responses: cells span 1,048,575 rows x 16,384 columns, more than 50,000,000 cells; refused"
            in result.stderr)
    assert nothing_stored(cli)


def test_far_apart_cells_in_ods_are_refused(tmp_path):
    far = hostile_ods(tmp_path / "far.ods", ods_row("customer", "quality")
                      + ods_row(None, repeat_row=1_048_574, repeat_last=16_384) + ods_row(*([None] * 16_383), 7))
    with pytest.raises(UnsafeFile, match="far.ods!Responses: cells span 1,048,576 rows x 16,384 columns"):
        check_ods(far)


def test_empty_repeats_as_libreoffice_writes_them_are_read(workspace, cli, customers, tmp_path):
    """LibreOffice writes a formatted column as a million repeated empty rows: nothing to refuse."""
    sheet = hostile_ods(tmp_path / "styled.ods", ods_row("customer", "quality", None, repeat_last=1000)
                        + ods_row("C-001", 90, None, repeat_last=1000)
                        + ods_row(None, repeat_row=1_048_574, repeat_last=16_384))
    result = cli("import", sheet, "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    assert json.loads(result.stdout)["answers_stored"] == 1
    assert report(cli)["responses"] == 1


def test_ods_zip_guards_apply(tmp_path):
    bomb = hostile_ods(tmp_path / "bomb.ods", ods_row("customer", "quality") + "<!-- " + " " * (3 << 20) + " -->")
    with pytest.raises(UnsafeFile, match="bomb.ods: unpacks to 3 MB"):
        check_ods(bomb, Limits(max_unpacked_bytes=1 << 20))
    entities = hostile_ods(tmp_path / "entities.ods", ods_row("customer", "quality"))
    with zipfile.ZipFile(entities, "a") as package:
        package.writestr("styles.xml", '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(UnsafeFile, match=r"entities.ods!styles.xml: XML declares a DOCTYPE or entities"):
        check_ods(entities)
    text = tmp_path / "letter.ods"
    with zipfile.ZipFile(text, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", "<x/>")
    with pytest.raises(UnsafeFile, match="an OpenDocument file of type 'application/vnd.oasis.opendocument.text'"):
        check_ods(text)


def test_what_is_not_a_readable_xls_says_what_to_do(workspace, cli, tmp_path):
    truncated = tmp_path / "old.xls"
    truncated.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600 + "EncryptedPackage".encode("utf-16-le"))
    result = cli("import", truncated, locked, "--half", "2024H1")
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert ("old.xls: not an Excel 97-2003 workbook (no OLE2 header); open it in Excel, WPS or LibreOffice and"
            " save it as .xlsx (or CSV UTF-8), then import that") in result.stderr
    assert "locked.xlsx: a password-protected workbook; remove the password" in result.stderr
    damaged = tmp_path / "damaged.xls"
    damaged.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    result = cli("customer", "import", damaged)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "damaged.xls: " in result.stderr and "save it as .xlsx" in result.stderr


@pytest.mark.parametrize(("source", "name"), [("responses-2024H1.xls", "saved-as.xlsx"),
                                              ("responses-2024H1.ods", "saved-as.xlsx"),
                                              ("responses-2024H1.ods", "saved-as.xls")])
def test_a_workbook_with_the_wrong_suffix_is_read_by_its_content(workspace, cli, customers, tmp_path, source, name):
    """calamine picks its reader by the file name; csat reads by content, as it tells files apart."""
    renamed = tmp_path / name
    renamed.write_bytes((committed(*source.rsplit(".", 1))).read_bytes())
    result = cli("import", renamed, "--half", "2024H1", "--format", "json")
    assert result.exit_code == 0, result
    record = json.loads(result.stdout)
    assert record["answers_stored"] == 64
    assert record["sources"][0]["kind"] == f"sheet ({source.rsplit('.', 1)[1]})"
    assert report(cli)["responses"] == 8
