"""Spreadsheets that a zip or xlsx reader tolerates but that two readers (or Excel and csat) could read
differently: each is refused with one line naming the file (and the part or cell), exit 1, nothing stored;
or, where Excel shows one plain value, csat stores exactly that value.

Each case names the defence it proves; removing that defence makes its test fail.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from datetime import date
from pathlib import Path

import pytest
from import_fixtures import (
    filled_sent_form,
    import_customers,
    ole_container,
    stored_answers,
    write_sheet_xlsx,
)

SHEET = "xl/worksheets/sheet1.xml"


@pytest.fixture
def customers(store, customers_csv):
    import_customers(store, customers_csv)


def good_sheet(tmp_path: Path, rows=(("C-001", 90),)) -> Path:
    return write_sheet_xlsx(tmp_path / "source.xlsx", ["customer", "quality"], [list(row) for row in rows])


def parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def write_zip(target: Path, entries: list[tuple[str, bytes]]) -> Path:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # zipfile warns about the duplicate names these tests write on purpose
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return target


def changed(source: Path, target: Path, part: str, change) -> Path:
    return write_zip(target, [(name, change(data) if name == part else data) for name, data in parts(source)])


def refused(cli, path: Path, *messages: str) -> str:
    """Import one file: exit 1, no traceback, each message on stderr; survey status shows no answer."""
    result = cli("import", path, "--half", "2024H1")
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for message in messages:
        assert message in result.stderr, result.stderr
    assert_nothing_stored(cli)
    return result.stderr


def assert_nothing_stored(cli) -> None:
    status = cli("survey", "status", "--half", "2024H1", "--format", "json")
    if status.exit_code == 0:
        shown = json.loads(status.stdout)
        assert shown["responded"] == 0, status.stdout
        assert "responded" not in {customer["status"] for customer in shown["customers"]}
    else:
        assert "2024H1" in status.stderr   # no round at all: nothing was written


def imported(cli, store, path: Path) -> dict:
    result = cli("import", path, "--half", "2024H1")
    assert result.exit_code == 0, result.stderr
    return stored_answers(store, "2024H1")


# --- the zip container -------------------------------------------------------------------------------


def test_a_part_named_twice_is_refused(workspace, store, customers, tmp_path, cli):
    """zipfile reads the last of two same-named entries, a streaming reader the first: which is the sheet?"""
    source = good_sheet(tmp_path)
    entries = parts(source)
    sheet = dict(entries)[SHEET]
    entries.append((SHEET, sheet.replace(b"<v>90</v>", b"<v>10</v>")))
    path = write_zip(tmp_path / "twice.xlsx", entries)
    refused(cli, path, f"twice.xlsx: the package holds {SHEET} twice; refused")


def test_part_names_differing_only_in_case_are_refused(workspace, store, customers, tmp_path, cli):
    """Part names are case-insensitive in an Office package: Excel sees one part where zipfile sees two."""
    entries = parts(good_sheet(tmp_path))
    entries.append(("xl/worksheets/Sheet1.xml", dict(entries)[SHEET].replace(b"<v>90</v>", b"<v>10</v>")))
    path = write_zip(tmp_path / "case.xlsx", entries)
    refused(cli, path, "case.xlsx: the package holds xl/worksheets/Sheet1.xml twice; refused")


def test_a_local_header_that_disagrees_with_the_directory_is_refused(workspace, store, customers, tmp_path, cli):
    source = good_sheet(tmp_path)
    data = bytearray(source.read_bytes())
    # The local header of the sheet names another part than the central directory does.
    with zipfile.ZipFile(source) as archive:
        offset = archive.getinfo(SHEET).header_offset
    name_length = struct.unpack_from("<H", data, offset + 26)[0]
    assert data[offset + 30:offset + 30 + name_length] == SHEET.encode()
    data[offset + 30:offset + 30 + name_length] = b"xl/worksheets/sheetX.xml"
    path = tmp_path / "header.xlsx"
    path.write_bytes(bytes(data))
    refused(cli, path, "header.xlsx: damaged xlsx package")


def test_data_after_the_end_of_the_package_is_refused(workspace, store, customers, tmp_path, cli):
    path = tmp_path / "tail.xlsx"
    path.write_bytes(good_sheet(tmp_path).read_bytes() + b"PK\x03\x04 something else")
    refused(cli, path, "tail.xlsx: bytes outside the zip's entries (another file appended or hidden inside?); refused")


def test_a_second_package_in_front_is_refused(workspace, store, customers, tmp_path, cli):
    """Two zips glued together: zipfile and Excel read the last directory, a streaming reader the first."""
    first = changed(good_sheet(tmp_path), tmp_path / "first.xlsx", SHEET, lambda xml: xml.replace(b"<v>90</v>",
                                                                                                   b"<v>10</v>"))
    second = good_sheet(tmp_path)
    path = tmp_path / "glued.xlsx"
    path.write_bytes(first.read_bytes() + second.read_bytes())
    refused(cli, path, "glued.xlsx: bytes outside the zip's entries")


def test_bytes_hidden_between_entries_are_refused(workspace, store, customers, tmp_path, cli):
    """A gap between entries can hold a local header only a streaming reader would see."""
    source = good_sheet(tmp_path)
    data = source.read_bytes()
    with zipfile.ZipFile(source) as archive:
        offset = archive.getinfo(SHEET).header_offset
        infos = archive.infolist()
    gap = b"PK\x03\x04hidden"
    # Shift everything from the sheet's entry on, and fix every offset that points past the gap.
    shifted = bytearray(data[:offset] + gap + data[offset:])
    end = shifted.rfind(b"PK\x05\x06")
    cd_offset = struct.unpack_from("<I", shifted, end + 16)[0]
    struct.pack_into("<I", shifted, end + 16, cd_offset + len(gap))
    position = cd_offset + len(gap)
    for info in infos:
        assert shifted[position:position + 4] == b"PK\x01\x02"
        header_offset = struct.unpack_from("<I", shifted, position + 42)[0]
        if header_offset >= offset:
            struct.pack_into("<I", shifted, position + 42, header_offset + len(gap))
        lengths = struct.unpack_from("<HHH", shifted, position + 28)
        position += 46 + sum(lengths)
    path = tmp_path / "gap.xlsx"
    path.write_bytes(bytes(shifted))
    with zipfile.ZipFile(path) as archive:    # zipfile itself reads it without complaint
        assert archive.read(SHEET) == dict(parts(source))[SHEET]
    refused(cli, path, "gap.xlsx: bytes outside the zip's entries")


def test_a_password_protected_xlsx_is_named_as_such(workspace, store, customers, tmp_path, cli):
    """Excel saves a workbook with a password as an OLE2 file holding an EncryptedPackage stream."""
    path = tmp_path / "locked.xlsx"
    path.write_bytes(ole_container(["EncryptionInfo", "EncryptedPackage"]))
    refused(cli, path, "locked.xlsx: a password-protected workbook; remove the password")


# --- files that are not sheets ------------------------------------------------------------------------

def test_the_customers_reply_saved_as_an_email_names_the_form_to_save(workspace, store, customers, tmp_path, cli):
    """Sales staff drag the reply itself into the import: it is named as an e-mail with its attachment, and the
    attachment, saved and imported, is the answer (survey status shows it)."""
    from email.message import EmailMessage

    form = filled_sent_form(workspace, cli, tmp_path, "C-003")
    reply = EmailMessage()
    reply["From"], reply["To"] = "li.wei@example.com", "sales@example.com"
    reply["Subject"] = "回复: 顾客满意度调查"
    reply["MIME-Version"] = "1.0"
    reply.set_content("附件是我们填好的调查表。")
    reply.add_attachment(form.read_bytes(), maintype="application", subtype="octet-stream",
                         filename="C-003-2024H1 回执.xlsx")
    saved = tmp_path / "reply.eml"
    saved.write_bytes(bytes(reply))
    refused(cli, saved, "reply.eml: an e-mail message, not a sheet; save its attachment C-003-2024H1 回执.xlsx"
                        " and import that")

    assert cli("import", form).exit_code == 0
    status = json.loads(cli("survey", "status", "--half", "2024H1", "--format", "json").stdout)
    assert status["responded"] == 1
    assert [customer["code"] for customer in status["customers"] if customer["responded"]] == ["C-003"]


def test_an_email_without_a_sheet_a_pdf_and_an_outlook_message_are_named(workspace, store, customers, tmp_path,
                                                                         cli):
    """Each is refused saying what it is and what to import instead, never as a sheet with no customer column."""
    note = tmp_path / "note.eml"
    note.write_bytes(b"Return-Path: <li.wei@example.com>\r\nFrom: li.wei@example.com\r\nSubject: re: survey\r\n"
                     b"Date: Mon, 8 Jul 2024 09:12:00 +0800\r\n\r\nWe will send the form next week.\r\n")
    refused(cli, note, "note.eml: an e-mail message with no spreadsheet attached; import the form or sheet itself")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    refused(cli, scan, "scan.pdf: a PDF document, not a sheet")
    outlook = tmp_path / "reply.msg"
    outlook.write_bytes(ole_container(["__substg1.0_0037001F", "__substg1.0_3701000D"]))
    refused(cli, outlook, "reply.msg: an Outlook message, not a sheet; save the form attached to it")


def test_a_zip_of_forms_and_a_word_document_are_named(workspace, store, customers, tmp_path, cli):
    """A zip holding forms says which files to unpack and import, with the Chinese names Windows' own zip writes
    in GBK (no UTF-8 flag); a Word document is named as one."""
    form = good_sheet(tmp_path)
    archive = tmp_path / "forms.zip"
    with zipfile.ZipFile(archive, "w") as writing:
        writing.write(form, "2024H1/XXXX-C-001.xlsx")       # XXXX: replaced by GBK bytes below, as Windows writes
        writing.write(form, "2024H1/C-002.csv")
        writing.writestr("readme.txt", "forms")
    archive.write_bytes(archive.read_bytes().replace(b"XXXX", "回执".encode("gbk")))
    refused(cli, archive, "forms.zip: a zip archive of files, not a workbook; unpack it and import the files in it"
                          " (C-002.csv, 回执-C-001.xlsx)")
    letter = tmp_path / "letter.docx"
    write_zip(letter, [("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")])
    refused(cli, letter, "letter.docx: a Word document, not a sheet")


def test_an_archive_names_its_sheets_and_a_workbook_none():
    from csat.sheets.not_sheets import sheets_in_archive

    assert sheets_in_archive([f"forms/C-00{number}.xlsx" for number in range(7)] + ["notes.txt"]) == [
        "C-000.xlsx", "C-001.xlsx", "C-002.xlsx", "C-003.xlsx", "C-004.xlsx", "and 2 more"]
    assert sheets_in_archive(["xl/workbook.xml", "xl/embeddings/Book1.xlsx"]) == []
    assert sheets_in_archive(["forms/~$C-001.xlsx", "notes.txt"]) == []     # Excel's lock file is no form


def test_only_a_mail_header_block_is_taken_for_an_email():
    """A CSV never starts with the header fields of a message, even with a colon in its first cell."""
    from csat.sheets.not_sheets import looks_like_mail

    assert looks_like_mail(b"From: a@example.com\nSubject: x\n\nbody")
    assert looks_like_mail(b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n")
    assert not looks_like_mail(b"customer,quality,delivery\r\nC-001,90,85\r\n")
    assert not looks_like_mail(b"\xef\xbb\xbfcustomer,Subject: price\nC-001,90\n")
    assert not looks_like_mail(b"Date: 2024-07-10,quality\nC-001,90\n")     # one field name alone is no mail


# --- workbook structure ------------------------------------------------------------------------------


def test_one_worksheet_under_two_sheet_names_is_refused(workspace, store, customers, tmp_path, cli):
    """Two tabs on one part: the same answers would be read twice."""
    source = good_sheet(tmp_path)
    entries = dict(parts(source))
    workbook = entries["xl/workbook.xml"]
    # The tab element as openpyxl wrote it (lxml, when installed, declares the r: namespace on it), twice.
    tab = re.search(rb'<sheet [^>]*name="Responses"[^>]*/>', workbook).group(0)
    copy = tab.replace(b'name="Responses"', b'name="Copy"').replace(b'sheetId="1"', b'sheetId="2"')
    workbook = workbook.replace(tab, tab + copy, 1)
    path = write_zip(tmp_path / "double.xlsx", [(name, workbook if name == "xl/workbook.xml" else data)
                                                for name, data in parts(source)])
    refused(cli, path, "double.xlsx: sheets 'Responses' and 'Copy' are the same worksheet")


def test_two_sheets_with_one_name_are_refused(workspace, store, customers, tmp_path, cli):
    """Excel refuses two tabs named alike (case-insensitively); which one would csat read?"""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Responses"
    workbook.active.append(["customer", "quality"])
    workbook.active.append(["C-001", 90])
    other = workbook.create_sheet("Other")
    other.append(["customer", "quality"])
    other.append(["C-002", 10])
    source = tmp_path / "two.xlsx"
    workbook.save(source)
    path = changed(source, tmp_path / "names.xlsx", "xl/workbook.xml",
                   lambda xml: xml.replace(b'name="Other"', b'name="responses"'))
    refused(cli, path, "names.xlsx: two sheets are named 'responses'")


def test_a_shared_string_index_out_of_range_is_refused(workspace, store, customers, tmp_path, cli):
    import xlsxwriter

    source = tmp_path / "source.xlsx"
    book = xlsxwriter.Workbook(str(source))
    book.add_worksheet("Responses").write_row(0, 0, ["customer", "quality"])
    book.worksheets()[0].write_row(1, 0, ["C-001", "N/A"])
    book.close()
    sheet = dict(parts(source))[SHEET]
    strings = dict(parts(source))["xl/sharedStrings.xml"]
    count = strings.count(b"<si>")
    assert b'<c r="B2" t="s"><v>3</v>' in sheet and count == 4
    path = changed(source, tmp_path / "index.xlsx", SHEET, lambda xml: xml.replace(
        b'<c r="B2" t="s"><v>3</v>', f'<c r="B2" t="s"><v>{count + 5}</v>'.encode()))
    refused(cli, path, "index.xlsx")


def test_an_inline_string_reads_as_excel_shows_it(workspace, store, customers, tmp_path, cli):
    path = changed(good_sheet(tmp_path), tmp_path / "inline.xlsx", SHEET, lambda xml: xml.replace(
        b'<c r="B2" t="n"><v>90</v></c>', b'<c r="B2" t="inlineStr"><is><t>85</t></is></c>'))
    assert b"inlineStr" in dict(parts(path))[SHEET]
    assert imported(cli, store, path)[("C-001", "")]["quality"][0] == 85.0


# --- cells -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("written, stored", [
    ("９０", 90.0),            # full-width digits, as a Chinese input method types them
    ("９２．５", 92.5),
    ("88 ", 88.0),             # trailing spaces
    ("\u300087\u3000", 87.0),  # ideographic spaces around it
    ("92,5", 92.5),            # a decimal comma
    ("92，5", 92.5),           # a full-width decimal comma
])
def test_numbers_as_people_type_them(workspace, store, customers, tmp_path, cli, written, stored):
    path = write_sheet_xlsx(tmp_path / "typed.xlsx", ["customer", "quality"], [["C-001", written]])
    assert imported(cli, store, path)[("C-001", "")]["quality"][0] == stored


@pytest.mark.parametrize("written, message", [
    ("1,000", "'1,000' is not a score for quality"),    # a thousands separator (or 1.000?): never 1
    ("9_0", "'9_0' is not a score for quality"),        # Python's float() reads 90; nobody wrote 90
    ("1e2", "'1e2' is not a score for quality"),        # Python's float() reads 100
    ("0x5A", "'0x5A' is not a score for quality"),
    ("٩٠", "'٩٠' is not a score for quality"),           # Arabic-Indic digits: not what a quality manager reads
])
def test_numbers_nobody_means_are_refused_by_cell(workspace, store, customers, tmp_path, cli, written, message):
    path = write_sheet_xlsx(tmp_path / "typed.xlsx", ["customer", "quality"], [["C-001", written]])
    refused(cli, path, f"typed.xlsx!Responses!B2: {message}")


def test_a_boolean_score_is_refused(workspace, store, customers, tmp_path, cli):
    path = write_sheet_xlsx(tmp_path / "bool.xlsx", ["customer", "quality"], [["C-001", True]])
    refused(cli, path, "bool.xlsx!Responses!B2: TRUE is not a score for quality")


def test_a_date_score_is_refused(workspace, store, customers, tmp_path, cli):
    path = write_sheet_xlsx(tmp_path / "date.xlsx", ["customer", "quality"], [["C-001", date(2024, 3, 31)]])
    refused(cli, path, "date.xlsx!Responses!B2: 2024-03-31 is a date or time, not a score for quality")


def test_a_formula_score_is_read_as_its_cached_value_never_evaluated(workspace, store, customers, tmp_path, cli):
    """Excel shows the value it computed last; csat stores that value and never evaluates the formula."""
    path = changed(good_sheet(tmp_path), tmp_path / "formula.xlsx", SHEET, lambda xml: xml.replace(
        b'<c r="B2" t="n"><v>90</v></c>', b'<c r="B2"><f>40+2</f><v>77</v></c>'))
    assert imported(cli, store, path)[("C-001", "")]["quality"][0] == 77.0


def test_a_formula_score_without_a_cached_value_is_refused(workspace, store, customers, tmp_path, cli):
    """A formula nobody computed (written by a script): csat does not evaluate it, and does not take it as blank."""
    path = changed(good_sheet(tmp_path, rows=(("C-001", 90), ("C-002", 80))), tmp_path / "uncached.xlsx", SHEET,
                   lambda xml: xml.replace(b'<c r="B2" t="n"><v>90</v></c>', b'<c r="B2"><f>40+2</f></c>'))
    refused(cli, path, "uncached.xlsx!Responses!B2: a formula without a computed value")


def test_a_merged_cell_over_two_answers_is_refused(workspace, store, customers, tmp_path, cli):
    """Excel shows the first cell's value across the merge; the cells under it keep values Excel does not show."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    sheet.append(["customer", "quality", "delivery"])
    sheet.append(["C-001", 90, 70])
    sheet.merge_cells("B2:C2")
    source = tmp_path / "source.xlsx"
    workbook.save(source)
    # openpyxl drops the value under a merge; a hostile or buggy writer keeps it.
    path = changed(source, tmp_path / "merged.xlsx", SHEET, lambda xml: xml.replace(
        b'<v>90</v></c></row>', b'<v>90</v></c><c r="C2" t="n"><v>70</v></c></row>'))
    assert b'<c r="C2" t="n"><v>70</v></c>' in dict(parts(path))[SHEET]
    refused(cli, path, "merged.xlsx!Responses!C2: the cell is hidden under the merged cells B2:C2")


def test_a_value_in_a_hidden_row_is_refused(workspace, store, customers, tmp_path, cli):
    """A filter or a hidden row: Excel does not show the answers in it; csat does not import them unseen."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    for row in (["customer", "quality"], ["C-001", 90], ["C-002", 20], ["C-003", 85]):
        sheet.append(row)
    sheet.row_dimensions[3].hidden = True
    path = tmp_path / "hidden.xlsx"
    workbook.save(path)
    refused(cli, path, "hidden.xlsx!Responses!A3: row 3 is hidden")


@pytest.mark.parametrize("split", ["1", "100000000"])
def test_a_score_typed_as_a_percentage_is_refused_by_its_cell(workspace, store, customers, tmp_path, cli,
                                                              monkeypatch, split):
    """"90%" typed into a score cell is 0.9 in the file, a valid score on 0-100 nobody meant: refused by its cell
    (whether the worker parses the sheet in pieces or whole), and imported once typed as a plain number."""
    from openpyxl import Workbook

    monkeypatch.setenv("CSAT_SPLIT_MIN_BYTES", split)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    for row in (["customer", "quality", "delivery"], ["C-001", 0.9, 85], ["C-002", 88, 0.5], ["C-003", "90", 1]):
        sheet.append(row)
    sheet["B2"].number_format = "0%"
    sheet["C3"].number_format = '0.0%;[Red]-0.0%'
    sheet["B4"].number_format = "0%"      # text in a percentage cell shows as typed: 90
    sheet["C4"].number_format = '0"%"'    # a literal % sign: Excel shows 1%, the value is 1
    path = tmp_path / "percent.xlsx"
    workbook.save(path)
    stderr = refused(cli, path, "percent.xlsx!Responses!B2: 90% is a percentage (the cell is formatted as %), not a"
                                " score for quality (0-100); type the score as a plain number",
                     "percent.xlsx!Responses!C3: 50% is a percentage")
    assert stderr.count("is a percentage") == 2

    sheet["B2"], sheet["C3"] = 90, 50
    sheet["B2"].number_format = sheet["C3"].number_format = "General"
    workbook.save(path)
    assert cli("import", path, "--half", "2024H1").exit_code == 0
    answers = stored_answers(store, "2024H1")
    assert [answers[(code, "")][item][0] for code, item in (("C-001", "quality"), ("C-002", "delivery"),
                                                            ("C-003", "quality"), ("C-003", "delivery"))] == [
        90, 50, 90, 1]


def test_a_form_score_typed_as_a_percentage_is_refused(workspace, store, customers, tmp_path, cli):
    """A customer types "90%" into a form's score cell (Excel makes it 0.9, formatted as %): the form is refused
    naming the cell, and the customer stays unanswered until the form says 90."""
    from openpyxl import load_workbook

    from csat.forms.identity import FormIdentity
    from csat.forms.xlsx import identity_rows

    form = filled_sent_form(workspace, cli, tmp_path, "C-003")
    workbook = load_workbook(form)
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    code, cell = next(iter(identity.items.items()))
    workbook[identity.sheet][cell] = 0.9
    workbook[identity.sheet][cell].number_format = "0%"
    workbook.save(form)
    refused(cli, form, f"form.xlsx!{identity.sheet}!{cell}: 90% is a percentage (the cell is formatted as %), not a"
                       f" score for {code}")

    workbook[identity.sheet][cell] = 90
    workbook[identity.sheet][cell].number_format = "General"
    workbook.save(form)
    assert cli("import", form).exit_code == 0
    assert stored_answers(store, "2024H1")[("C-003", "李伟")][code][0] == 90


def test_a_value_in_a_hidden_column_is_refused(workspace, store, customers, tmp_path, cli):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    for row in (["customer", "quality", "delivery"], ["C-001", 90, 20]):
        sheet.append(row)
    sheet.column_dimensions["C"].hidden = True
    path = tmp_path / "hiddencol.xlsx"
    workbook.save(path)
    refused(cli, path, "hiddencol.xlsx!Responses!C1: column C is hidden")


@pytest.mark.parametrize("state", ["hidden", "veryHidden"])
def test_a_hidden_sheet_with_answers_is_refused(workspace, store, customers, tmp_path, cli, state):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Responses"
    sheet.append(["customer", "quality"])
    sheet.append(["C-001", 90])
    hidden = workbook.create_sheet("Old")
    hidden.append(["customer", "quality"])
    hidden.append(["C-002", 20])
    hidden.sheet_state = state
    path = tmp_path / "hiddensheet.xlsx"
    workbook.save(path)
    refused(cli, path, "hiddensheet.xlsx!Old: the sheet is hidden and holds data")


def test_white_text_reads_as_what_is_stored(workspace, store, customers, tmp_path, cli):
    """White on white is a look, not a value: Excel's formula bar and every reader show 90, and so does csat."""
    from openpyxl import load_workbook
    from openpyxl.styles import Font

    path = good_sheet(tmp_path)
    workbook = load_workbook(path)
    workbook.active["B2"].font = Font(color="FFFFFFFF")
    workbook.save(path)
    assert imported(cli, store, path)[("C-001", "")]["quality"][0] == 90.0


def test_the_last_row_excel_has_imports_in_bounded_time(workspace, store, customers, tmp_path, cli):
    """A sheet whose second answer is on row 1,048,576 (Excel's last): read by absolute address, quickly."""
    import time

    path = changed(good_sheet(tmp_path), tmp_path / "deep.xlsx", SHEET, lambda xml: xml.replace(
        b"</sheetData>", b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>C-002</t></is></c>'
                         b'<c r="B1048576" t="n"><v>70</v></c></row></sheetData>'))
    started = time.monotonic()
    stored = imported(cli, store, path)
    assert time.monotonic() - started < 120
    assert (stored[("C-001", "")]["quality"][0], stored[("C-002", "")]["quality"][0]) == (90.0, 70.0)


def test_a_hidden_customer_row_is_refused_by_customer_import(workspace, tmp_path, cli):
    """The customer list: a hidden row is a customer nobody looking at the sheet would see being added."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Customers"
    for row in (["code", "name", "email"], ["C-1", "One", "one@example.com"], ["C-2", "Two", "two@example.com"]):
        sheet.append(row)
    sheet.row_dimensions[3].hidden = True
    path = tmp_path / "customers.xlsx"
    workbook.save(path)
    result = cli("customer", "import", path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "customers.xlsx!Customers!A3: row 3 is hidden" in result.stderr
    listed = json.loads(cli("customer", "list", "--format", "json").stdout)
    assert listed == []


def test_a_value_under_a_merge_is_refused_by_feedback_import(workspace, tmp_path, cli, customers_csv):
    from openpyxl import Workbook

    assert cli("customer", "import", customers_csv).exit_code == 0
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Log"
    sheet.append(["日期", "客户代码", "类型", "方式", "内容"])
    sheet.append(["2024-04-08", "C-001", "质量", "邮件", "Leak at the pressure test"])
    sheet.merge_cells("E2:F2")
    source = tmp_path / "source.xlsx"
    workbook.save(source)
    path = changed(source, tmp_path / "log.xlsx", SHEET, lambda xml: xml.replace(
        b"</c></row>", b'</c><c r="F2" t="inlineStr"><is><t>hidden text</t></is></c></row>', 2))
    result = cli("feedback", "import", path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "log.xlsx!Log!F2: the cell is hidden under the merged cells E2:F2" in result.stderr
    assert json.loads(cli("feedback", "list", "--format", "json").stdout) == []


def test_a_form_answer_as_a_formula_without_a_value_or_in_a_hidden_row_is_refused(workspace, store, customers,
                                                                                   tmp_path, cli):
    """The same rules for a returned form's answer cells; its own hidden code column and row are no answers."""
    from import_fixtures import make_filled_form, open_round_with_invitations
    from openpyxl import load_workbook

    tokens = open_round_with_invitations(store, "2024H1")
    path, layout = make_filled_form(store, workspace, tmp_path, "C-001", tokens["C-001"],
                                    {"quality": 90, "delivery": 80})
    workbook = load_workbook(path)
    sheet = workbook[layout.identity.sheet]
    sheet[layout.identity.items["quality"]] = "=40+50"        # openpyxl saves a formula with no computed value
    sheet.row_dimensions[int(layout.identity.items["delivery"][1:])].hidden = True
    workbook.save(path)
    result = cli("import", path)
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    quality, delivery = layout.identity.items["quality"], layout.identity.items["delivery"]
    assert f"C-001-2024H1.xlsx!Survey!{quality}: a formula without a computed value" in result.stderr
    assert f"C-001-2024H1.xlsx!Survey!{delivery}: row {delivery[1:]} is hidden" in result.stderr
    assert_nothing_stored(cli)


def test_an_ods_with_bytes_after_its_end_is_refused(workspace, store, customers, tmp_path, cli):
    data = Path(__file__).parent / "data" / "responses-2024H1.ods"
    path = tmp_path / "tail.ods"
    path.write_bytes(data.read_bytes() + b"PK\x03\x04 another file")
    refused(cli, path, "tail.ods: bytes outside the zip's entries")
