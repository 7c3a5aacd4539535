"""The signed xlsx survey form.

Building a workbook with openpyxl costs milliseconds; a round sends thousands
of forms. So a round's form is built once per language (FormTemplate) with
placeholder strings where a customer's name, code, token and signature go,
saved once, and each customer's copy is that zip with the parts holding the
placeholders patched: a few string replacements instead of a workbook build.

The visible sheet is protected without a password and only answer cells are
unlocked. The identity (csat.forms.identity) lives in a very hidden sheet,
every value written as text, and names every answer cell exactly, so the
importer reads the form by those addresses whatever program saved it.

A protection without a password does not stop a customer from inserting,
deleting, moving or sorting rows, or inserting a column. So every row of the
answer block says what it is in a hidden column (ROW_CODE_COLUMN: `csat:item:quality`,
`csat:field:respondent`, `csat:text`), and a hidden last row names the column
each of its cells was written in (`csat:col:D`): the importer follows rows and
columns that moved (csat.importer.form_layout) instead of reading whatever
ended up at the signed address. The codes carry no secret and need no
signature: they only say where the signed cells went, and the importer checks
each item row's label too.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import replace
from pathlib import Path

from csat.forms.content import FormContent
from csat.forms.identity import IDENTITY_SHEET, FormIdentity, IdentityError
from csat.i18n import _

LISTS_SHEET = "csat_lists"
_PLACEHOLDER = re.compile(r"\[\[csat:(\w+)\]\]")
_PLACEHOLDERS = ("name", "contact", "code", "token", "signature")
# Characters XML 1.0 cannot carry (openpyxl refuses them too).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FIXED_TIME = (2020, 1, 1, 0, 0, 0)

FIRST_ITEM_ROW = 10
COLUMNS = {"number": "A", "item": "B", "description": "C", "score": "D", "comment": "E"}
ROW_CODE_COLUMN = "F"
CODE_PREFIX = "csat:"


def row_code(kind: str, name: str = "") -> str:
    """The hidden code of a form row: csat:item:<code>, csat:field:<identity field>, csat:text."""
    return f"{CODE_PREFIX}{kind}:{name}" if name else f"{CODE_PREFIX}{kind}"


def column_code(letter: str) -> str:
    """The hidden marker of the column a form was written with, e.g. csat:col:D."""
    return f"{CODE_PREFIX}col:{letter}"


def _mark(name: str) -> str:
    return f"[[csat:{name}]]"


def _xml_text(value: str) -> str:
    value = _ILLEGAL_XML.sub("", value.replace("\r\n", " ").replace("\n", " ").replace("\r", " "))
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").strip()


def _inline_list(labels: tuple[str, ...]) -> str | None:
    """A list validation formula with the labels inline, or None when they cannot be written inline."""
    if any("," in label or '"' in label for label in labels):
        return None
    formula = '"' + ",".join(labels) + '"'
    return formula if len(formula) <= 255 else None


class FormTemplate:
    """A round's form in one language, ready to be stamped for each customer."""

    def __init__(self, content: FormContent):
        self.content = content
        workbook, self.identity = _build_workbook(content)
        buffer = io.BytesIO()
        workbook.save(buffer)
        # Parts without placeholders are zipped once; each form appends its patched parts to a copy.
        static = io.BytesIO()
        self._patched: list[tuple[zipfile.ZipInfo, list[str]]] = []
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as archive, \
                zipfile.ZipFile(static, "w", zipfile.ZIP_DEFLATED) as static_archive:
            for info in archive.infolist():
                data = archive.read(info.filename)
                fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME)
                fixed.compress_type = zipfile.ZIP_DEFLATED
                if b"[[csat:" in data:
                    self._patched.append((fixed, _PLACEHOLDER.split(data.decode("utf-8"))))
                else:
                    static_archive.writestr(fixed, data)
        self._static = static.getvalue()
        found = {name for _info, parts in self._patched for name in parts[1::2]}
        missing = set(_PLACEHOLDERS) - found
        if missing:  # a layout change that lost a placeholder must not ship forms without identity
            raise RuntimeError(f"form template lost placeholders: {sorted(missing)}")

    def identity_for(self, token: str, customer_code: str) -> FormIdentity:
        return replace(self.identity, token=token, customer=customer_code)

    def render(self, *, token: str, customer_code: str, customer_name: str, contact: str, secret: bytes) -> bytes:
        """One customer's signed form as xlsx bytes."""
        identity = self.identity_for(token, customer_code)
        values = {
            "name": _xml_text(customer_name), "contact": _xml_text(contact), "code": _xml_text(customer_code),
            "token": _xml_text(token), "signature": identity.signature(secret),
        }
        buffer = io.BytesIO(self._static)
        buffer.seek(0, io.SEEK_END)
        with zipfile.ZipFile(buffer, "a") as archive:
            for info, parts in self._patched:
                text = "".join(values[part] if index % 2 else part for index, part in enumerate(parts))
                archive.writestr(info, text.encode("utf-8"))
        return buffer.getvalue()


class _Styles:
    """Built once per template, shared by every cell that uses them."""

    def __init__(self):
        from openpyxl.styles import (
            Alignment,
            Border,
            Font,
            PatternFill,
            Protection,
            Side,
        )

        thin = Side(style="thin", color="999999")
        self.title = Font(bold=True, size=14)
        self.bold = Font(bold=True)
        self.small = Font(size=9, color="555555")
        self.header_fill = PatternFill("solid", fgColor="DDE4EE")
        self.answer_fill = PatternFill("solid", fgColor="FFF9DB")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.center = Alignment(horizontal="center", vertical="top")
        self.unlocked = Protection(locked=False)


def _build_workbook(content: FormContent):
    """The template workbook with placeholders, and the identity naming its answer cells."""
    from openpyxl import Workbook
    from openpyxl.worksheet.datavalidation import DataValidation

    from csat.sheets.write import set_text_cell

    words = content.words
    styles = _Styles()
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = words["sheet"]
    for column, width in zip("ABCDE", (6, 30, 46, 14, 40)):
        sheet.column_dimensions[column].width = width

    def put(cell_ref: str, value, font=None, alignment=None):
        cell = sheet[cell_ref]
        set_text_cell(cell, value)
        if font is not None:
            cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        return cell

    def answer(cell_ref: str, merge_to: str | None = None):
        """An unlocked, boxed answer cell (its whole merged range unlocked too)."""
        if merge_to:
            sheet.merge_cells(f"{cell_ref}:{merge_to}")
        for row in sheet[f"{cell_ref}:{merge_to or cell_ref}"]:
            for cell in row:
                cell.protection = styles.unlocked
                cell.fill = styles.answer_fill
                cell.border = styles.box
                cell.alignment = styles.wrap
        return sheet[cell_ref]

    put("A1", words["title"], styles.title)
    sheet.merge_cells("A1:E1")
    header_rows = [
        ("company", content.company),
        ("customer", f"{_mark('name')} ({_mark('code')})"),
        ("attention", _mark("contact")),
        ("period", content.period_label),
        ("due", content.due_date.isoformat()),
    ]
    for row, (key, value) in enumerate(header_rows, start=2):
        put(f"A{row}", words[key], styles.bold)
        sheet.merge_cells(f"A{row}:B{row}")
        put(f"C{row}", value)
        sheet.merge_cells(f"C{row}:E{row}")
    put("A8", content.instructions, alignment=styles.wrap)
    sheet.merge_cells("A8:E8")
    sheet.row_dimensions[8].height = 48

    header_row = FIRST_ITEM_ROW - 1
    for key, column in COLUMNS.items():
        cell = put(f"{column}{header_row}", words[key], styles.bold, styles.center)
        cell.fill = styles.header_fill
        cell.border = styles.box

    def code(row_number: int, kind: str, name: str = "") -> None:
        set_text_cell(sheet[f"{ROW_CODE_COLUMN}{row_number}"], row_code(kind, name))

    code(header_row, "text")

    numeric_validations: dict[tuple[float, float], DataValidation] = {}
    item_cells: dict[str, str] = {}
    comment_cells: dict[str, str] = {}
    lists_sheet = None
    for index, item in enumerate(content.items):
        row = FIRST_ITEM_ROW + index
        put(f"A{row}", index + 1, alignment=styles.center).border = styles.box
        put(f"B{row}", content.item_label(item), styles.bold, styles.wrap).border = styles.box
        put(f"C{row}", item.description, styles.small, styles.wrap).border = styles.box
        score_ref, comment_ref = f"{COLUMNS['score']}{row}", f"{COLUMNS['comment']}{row}"
        answer(score_ref).alignment = styles.center
        answer(comment_ref)
        item_cells[item.code] = score_ref
        comment_cells[item.code] = comment_ref
        code(row, "item", item.code)
        if item.choices:
            formula = _inline_list(item.choices)
            if formula is None:
                if lists_sheet is None:
                    lists_sheet = workbook.create_sheet(LISTS_SHEET)
                    lists_sheet.sheet_state = "veryHidden"
                column_index = index + 1
                for choice_row, label in enumerate(item.choices, start=1):
                    set_text_cell(lists_sheet.cell(row=choice_row, column=column_index), label)
                letter = lists_sheet.cell(row=1, column=column_index).column_letter
                formula = f"{LISTS_SHEET}!${letter}$1:${letter}${len(item.choices)}"
            validation = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                        errorTitle=words["choice_error_title"], error=words["choice_error"])
            sheet.add_data_validation(validation)
            validation.add(score_ref)
        else:
            scale = (item.scale_min, item.scale_max)
            validation = numeric_validations.get(scale)
            if validation is None:
                low, high = (f"{value:g}" for value in scale)
                validation = DataValidation(
                    type="decimal", operator="between", formula1=low, formula2=high, allow_blank=True,
                    showErrorMessage=True, errorTitle=words["score_error_title"],
                    error=words["score_error"].format(low=low, high=high))
                sheet.add_data_validation(validation)
                numeric_validations[scale] = validation
            validation.add(score_ref)
        sheet.row_dimensions[row].height = 30

    row = FIRST_ITEM_ROW + len(content.items) + 1
    put(f"A{row}", words["overall_comment"], styles.bold)
    sheet.merge_cells(f"A{row}:E{row}")
    code(row, "text")
    overall_ref = f"A{row + 1}"
    answer(overall_ref, f"E{row + 1}")
    code(row + 1, "field", "overall_comment")
    sheet.row_dimensions[row + 1].height = 80
    row += 3
    respondent_cells = {}
    for key, field_name in (("respondent", "respondent"), ("respondent_title", "title"), ("date", "date")):
        put(f"A{row}", words[key], styles.bold)
        sheet.merge_cells(f"A{row}:C{row}")
        respondent_cells[key] = f"D{row}"
        answer(f"D{row}", f"E{row}")
        code(row, "field", field_name)
        row += 1
    sheet[respondent_cells["date"]].number_format = "yyyy-mm-dd"
    row += 1
    if content.contact or content.reply_to:
        put(f"A{row}", words["contact_line"].format(contact=content.contact or content.reply_to), styles.small)
        sheet.merge_cells(f"A{row}:E{row}")
        code(row, "text")
        row += 1
    put(f"A{row}", words["thanks"], styles.small)
    sheet.merge_cells(f"A{row}:E{row}")
    code(row, "text")
    row += 1
    for letter in "ABCDE" + ROW_CODE_COLUMN:          # where each column was written (see the module docstring)
        set_text_cell(sheet[f"{letter}{row}"], column_code(letter))
    sheet.row_dimensions[row].hidden = True
    sheet.column_dimensions[ROW_CODE_COLUMN].hidden = True

    sheet.protection.sheet = True
    sheet.protection.formatColumns = False  # let customers widen columns and rows for long comments
    sheet.protection.formatRows = False
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.freeze_panes = None

    identity = FormIdentity(
        token=_mark("token"), customer=_mark("code"), period=content.period, template=content.template_version,
        sheet=sheet.title, items=item_cells, comments=comment_cells, overall_comment=overall_ref,
        respondent=respondent_cells["respondent"], title=respondent_cells["respondent_title"],
        date=respondent_cells["date"],
    )
    hidden = workbook.create_sheet(IDENTITY_SHEET)
    hidden.sheet_state = "veryHidden"
    for index, (key, value) in enumerate(identity.fields().items(), start=1):
        hidden.cell(row=index, column=1).value = key
        hidden.cell(row=index, column=2).value = str(value)
    signature_row = len(identity.fields()) + 1
    hidden.cell(row=signature_row, column=1).value = "signature"
    hidden.cell(row=signature_row, column=2).value = _mark("signature")
    workbook.active = 0
    return workbook, identity


def _identity_value(value) -> str:
    """A cell value as the text it was written as (spreadsheets may turn "1" into 1.0)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def identity_rows(workbook) -> dict[str, str]:
    """The key/value rows of an openpyxl workbook's identity sheet; IdentityError when there is none."""
    if IDENTITY_SHEET not in workbook.sheetnames:
        raise IdentityError(_("no {sheet} sheet: not a csat survey form", sheet=IDENTITY_SHEET))
    rows = {}
    for key, value, *_rest in workbook[IDENTITY_SHEET].iter_rows(min_col=1, max_col=2, values_only=True):
        if key is not None:
            rows[_identity_value(key)] = _identity_value(value)
    return rows


def read_identity(source: Path | bytes, secret: bytes) -> FormIdentity:
    """Open a form (path or bytes) and return its verified identity; IdentityError if it does not verify."""
    from openpyxl import load_workbook

    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    workbook = load_workbook(handle, read_only=True, data_only=True)
    try:
        return FormIdentity.from_rows(identity_rows(workbook), secret)
    finally:
        workbook.close()
