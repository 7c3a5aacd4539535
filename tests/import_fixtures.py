"""Test-only builders for the import tests: rounds with invitations, signed forms, sheets.

`write_form` is a small stand-in for the survey form writer (csat/forms/xlsx.py,
built elsewhere): a visible answer sheet with score and comment cells at the
addresses the identity names, labelled as a form without row codes is (item
labels and headers in the rows and columns of their cells, see
csat/importer/form_layout.py), and the very hidden, signed identity sheet. The
lead adds the round trip against the real writer after merging.
`resave_like_libreoffice` rewrites a workbook with another library (XlsxWriter)
the way LibreOffice re-saves one: the identity sheet comes back hidden instead
of very hidden, text that looks like a number becomes a number, whole numbers
become floats, and a score typed as text stays text.
"""

from __future__ import annotations

import csv
import secrets
import struct
import zipfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Optional

from csat.forms.identity import IDENTITY_SHEET, FormIdentity

FORM_SHEET = "Survey"
FIRST_ITEM_ROW = 8


@dataclass
class FormLayout:
    identity: FormIdentity
    items: list[tuple[str, str]]      # (code, label) in form order


def import_customers(store, customers_csv: Path) -> None:
    from csat.registry import customers

    with store.session() as session:
        customers.import_file(session, customers_csv)


def open_round_with_invitations(store, period: str = "2024H1", codes: Optional[list[str]] = None) -> dict[str, str]:
    """Open a round and invite customers (all active ones by default); returns code -> token."""
    from sqlmodel import select

    from csat.periods import Half
    from csat.store.models import Customer, Invitation
    from csat.survey.rounds import open_round

    tokens = {}
    with store.session() as session:
        round_ = open_round(session, Half.parse(period))
        query = select(Customer).where(Customer.active == True)  # noqa: E712
        for customer in session.exec(query).all():
            if codes is not None and customer.code not in codes:
                continue
            token = secrets.token_urlsafe(16)
            session.add(Invitation(round_id=round_.id, customer_id=customer.id, token=token, email=customer.email,
                                   status="sent"))
            tokens[customer.code] = token
    return tokens


def round_layout(store, period: str, code: str, token: str) -> FormLayout:
    """Where a form for this round puts each answer, and its (unsigned) identity."""
    from csat.survey.rounds import get_round, round_items

    with store.read_session() as session:
        round_ = get_round(session, period)
        pairs = round_items(session, round_)
        template = round_.template_version
    items = [(item_code, round_item.label_en) for round_item, item_code in pairs]
    last = FIRST_ITEM_ROW + len(items)
    identity = FormIdentity(
        token=token, customer=code, period=period, template=template, sheet=FORM_SHEET,
        items={item_code: f"C{FIRST_ITEM_ROW + index}" for index, (item_code, _) in enumerate(items)},
        comments={item_code: f"D{FIRST_ITEM_ROW + index}" for index, (item_code, _) in enumerate(items)},
        overall_comment=f"C{last + 1}", respondent=f"C{last + 2}", title=f"C{last + 3}", date=f"C{last + 4}",
    )
    return FormLayout(identity=identity, items=items)


def write_form(path: Path, layout: FormLayout, secret: bytes, identity_rows: Optional[list] = None) -> Path:
    """An empty form as the send path would write it (openpyxl, identity sheet very hidden)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = layout.identity.sheet
    sheet["A1"] = "Customer satisfaction survey"
    sheet["A3"], sheet["C3"] = "Customer", layout.identity.customer
    sheet["A4"], sheet["C4"] = "Period", layout.identity.period
    sheet[f"B{FIRST_ITEM_ROW - 1}"], sheet[f"C{FIRST_ITEM_ROW - 1}"] = "Item", "Score"
    sheet[f"D{FIRST_ITEM_ROW - 1}"] = "Comment"
    for index, (_code, label) in enumerate(layout.items):
        sheet[f"B{FIRST_ITEM_ROW + index}"] = label
    for label, address in (("Overall comments and suggestions", layout.identity.overall_comment),
                           ("Respondent (name)", layout.identity.respondent),
                           ("Position / title", layout.identity.title), ("Date", layout.identity.date)):
        sheet[f"B{address[1:]}"] = label
    hidden = workbook.create_sheet(IDENTITY_SHEET)
    for row, (key, value) in enumerate(identity_rows or layout.identity.rows(secret), start=1):
        hidden.cell(row=row, column=1, value=str(key)).data_type = "s"
        cell = hidden.cell(row=row, column=2, value=str(value))
        cell.data_type = "s"
    hidden.sheet_state = "veryHidden"
    workbook.save(path)
    return path


def fill_form(path: Path, layout: FormLayout, scores: dict[str, Any], comments: Optional[dict[str, str]] = None,
              overall: str = "", respondent: str = "", title: str = "", day: Optional[date] = None) -> Path:
    """Fill a form's answer cells as a customer would, and save it in place."""
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    sheet = workbook[layout.identity.sheet]
    for code, value in scores.items():
        sheet[layout.identity.items[code]] = value
    for code, text in (comments or {}).items():
        sheet[layout.identity.comments[code]] = text
    for address, value in ((layout.identity.overall_comment, overall), (layout.identity.respondent, respondent),
                           (layout.identity.title, title)):
        if value:
            sheet[address] = value
    if day is not None:
        sheet[layout.identity.date] = day
    workbook.save(path)
    return path


def make_filled_form(store, workspace, folder: Path, code: str, token: str, scores: dict[str, Any],
                     period: str = "2024H1", name: Optional[str] = None, **answers: Any) -> tuple[Path, FormLayout]:
    layout = round_layout(store, period, code, token)
    path = write_form(folder / (name or f"{code}-{period}.xlsx"), layout, workspace.secret())
    return fill_form(path, layout, scores, **answers), layout


def resave_like_libreoffice(source: Path, target: Path) -> Path:
    """Re-write every sheet with XlsxWriter as LibreOffice would re-save it (see the module docstring)."""
    import xlsxwriter
    from openpyxl import load_workbook

    workbook_in = load_workbook(source)
    workbook_out = xlsxwriter.Workbook(str(target), {"strings_to_numbers": False})
    date_format = workbook_out.add_format({"num_format": "yyyy-mm-dd"})
    for sheet_in in workbook_in.worksheets:
        sheet_out = workbook_out.add_worksheet(sheet_in.title)
        for row in sheet_in.iter_rows():
            for cell in row:
                value = cell.value
                if value is None:
                    continue
                row_index, column_index = cell.row - 1, cell.column - 1
                if hasattr(value, "year"):
                    sheet_out.write_datetime(row_index, column_index, value, date_format)
                elif isinstance(value, str) and value.isdigit() and len(value) < 10:
                    sheet_out.write_number(row_index, column_index, float(value))   # "1" comes back as 1.0
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    sheet_out.write_number(row_index, column_index, float(value))
                else:
                    sheet_out.write_string(row_index, column_index, str(value))
        if sheet_in.sheet_state != "visible":
            sheet_out.hide()                                                     # hidden, not very hidden
    workbook_out.close()
    return target


def write_sheet_xlsx(path: Path, header: list[Any], rows: list[list[Any]], title: str = "Responses") -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def rewrite_sheet(source: Path, target: Path, change) -> Path:
    """Copy an xlsx, passing the first worksheet's XML through change(bytes) -> bytes."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in original.infolist():
            data = original.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            copy.writestr(info, data)
    return target


def write_sheet_csv(path: Path, header: list[Any], rows: list[list[Any]], encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if value is None else value for value in row])
    return path


def stored_answers(store, period: str) -> dict[tuple[str, str], dict[str, tuple]]:
    """(customer code, respondent) -> {item code: (score, not_applicable, raw, comment)} for a round."""
    from sqlmodel import select

    from csat.store.models import Answer, Customer, Item, Response, SurveyRound

    result: dict[tuple[str, str], dict[str, tuple]] = {}
    with store.read_session() as session:
        query = (select(Customer.code, Response.respondent, Item.code, Answer.score, Answer.not_applicable,
                        Answer.raw, Answer.comment)
                 .join(Response, Response.customer_id == Customer.id)
                 .join(SurveyRound, SurveyRound.id == Response.round_id)
                 .join(Answer, Answer.response_id == Response.id)
                 .join(Item, Item.id == Answer.item_id)
                 .where(SurveyRound.period == period))
        for code, respondent, item, score, not_applicable, raw, comment in session.exec(query).all():
            result.setdefault((code, respondent), {})[item] = (score, bool(not_applicable), raw, comment)
    return result


def count_rows(store, table: str) -> int:
    from sqlalchemy import text

    with store.read_session() as session:
        return session.connection().execute(text(f"SELECT count(*) FROM {table}")).scalar()


def orphans(store) -> list[tuple[str, str, int]]:
    """(table, foreign key column, rows) for every foreign key some row breaks, on either backend.

    SQLite's PRAGMA foreign_key_check does this for SQLite only; a bulk import there writes with
    the checks off, and on PostgreSQL a broken key would already have failed the insert.
    """
    from sqlalchemy import and_, func, select
    from sqlmodel import SQLModel

    import csat.store.models  # noqa: F401  (the tables)

    broken = []
    with store.read_session() as session:
        for table in SQLModel.metadata.sorted_tables:
            for key in table.foreign_key_constraints:
                parent = key.referred_table.alias("parent")
                match = and_(*(parent.c[element.column.name] == column
                               for column, element in zip(key.columns, key.elements)))
                query = (select(func.count()).select_from(table)
                         .where(and_(*(column.is_not(None) for column in key.columns)))
                         .where(~select(parent).where(match).exists()))
                count = session.connection().execute(query).scalar()
                if count:
                    broken.append((table.name, ",".join(column.name for column in key.columns), count))
    return broken


def rearrange(path: Path, sheet_name: str, row_of=None, column_of=None, drop_rows=(), target: Optional[Path] = None
              ) -> Path:
    """Move a sheet's rows and columns as a customer would in a spreadsheet program, and save.

    Every cell (row r, column c) goes to (row_of(r), column_of(c)); rows in drop_rows go away.
    Merged ranges, hidden rows and hidden columns go along, as Excel or LibreOffice moves them.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    row_of = row_of or (lambda row: row)
    column_of = column_of or (lambda column: column)
    workbook = load_workbook(path)
    sheet = workbook[sheet_name]
    merges = [(r.min_row, r.min_col, r.max_row, r.max_col) for r in sheet.merged_cells.ranges]
    for low_row, low_col, high_row, high_col in merges:
        sheet.unmerge_cells(start_row=low_row, start_column=low_col, end_row=high_row, end_column=high_col)
    cells = {(cell.row, cell.column): cell.value for row in sheet.iter_rows() for cell in row if cell.value is not None}
    hidden_rows = {row for row, dimension in sheet.row_dimensions.items() if dimension.hidden}
    hidden_columns = {column for column in range(1, sheet.max_column + 2)
                      if sheet.column_dimensions[get_column_letter(column)].hidden}
    sheet.delete_rows(1, sheet.max_row)
    for row in list(sheet.row_dimensions):
        sheet.row_dimensions[row].hidden = False
    for column in hidden_columns:
        sheet.column_dimensions[get_column_letter(column)].hidden = False
    for (row, column), value in cells.items():
        if row not in drop_rows:
            sheet.cell(row=row_of(row), column=column_of(column), value=value)
    for low_row, low_col, high_row, high_col in merges:
        if low_row not in drop_rows:
            sheet.merge_cells(start_row=row_of(low_row), start_column=column_of(low_col),
                              end_row=row_of(high_row), end_column=column_of(high_col))
    for row in hidden_rows - set(drop_rows):
        sheet.row_dimensions[row_of(row)].hidden = True
    for column in hidden_columns:
        sheet.column_dimensions[get_column_letter(column_of(column))].hidden = True
    workbook.save(target or path)
    return target or path


def filled_sent_form(workspace, cli, folder: Path, code: str = "C-003") -> Path:
    """The form of `code`'s 2024H1 invitation from the outbox, filled (80, 81, ...; respondent 李伟) and saved."""
    import email
    from email import policy

    from openpyxl import load_workbook

    from csat.forms.xlsx import identity_rows

    assert cli("survey", "send", "--half", "2024H1", "--customer", code).exit_code == 0
    message = email.message_from_bytes(next(workspace.outbox.glob("*.eml")).read_bytes(), policy=policy.default)
    form = folder / "form.xlsx"
    form.write_bytes(next(message.iter_attachments()).get_content())
    workbook = load_workbook(form)
    identity = FormIdentity.from_rows(identity_rows(workbook), workspace.secret())
    sheet = workbook[identity.sheet]
    for offset, cell in enumerate(identity.items.values()):
        sheet[cell] = 80 + offset
    sheet[identity.respondent] = "李伟"
    workbook.save(form)
    return form


def ole_container(names: list[str]) -> bytes:
    """A minimal OLE2/CFB file holding two empty streams with these names (an encrypted Office package
    has EncryptionInfo and EncryptedPackage; an Outlook message, __substg1.0_ property streams)."""
    sector = 512
    header = bytearray(sector)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 44, 1, 1, 0, 4096)      # 1 FAT sector, directory at sector 1
    struct.pack_into("<iIiI", header, 60, -2, 0, -2, 0)       # no mini FAT, no DIFAT sectors
    struct.pack_into("<i", header, 76, 0)                     # FAT at sector 0
    for index in range(1, 109):
        struct.pack_into("<i", header, 76 + 4 * index, -1)
    fat = bytearray(sector)
    for index in range(128):
        struct.pack_into("<i", fat, 4 * index, -1)
    struct.pack_into("<ii", fat, 0, -3, -2)                   # sector 0: FAT, sector 1: directory (end)
    directory = bytearray(sector)
    entries = [("Root Entry", 5)] + [(name, 2) for name in names]
    for index, (name, kind) in enumerate(entries):
        base = index * 128
        encoded = name.encode("utf-16-le") + b"\0\0"
        directory[base:base + len(encoded)] = encoded
        struct.pack_into("<HBB", directory, base + 64, len(encoded), kind, 1)
        struct.pack_into("<iii", directory, base + 68, -1, -1, -1)
        struct.pack_into("<iI", directory, base + 116, -2, 0)
    struct.pack_into("<i", directory, 76, 1)                  # root's child: the first stream
    struct.pack_into("<i", directory, 128 + 72, 2)            # its right sibling: the second
    return bytes(header + fat + directory)
