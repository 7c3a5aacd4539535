"""Consolidated sheets: one row per response, one column per item.

The header row (the first row with anything in it) names the columns: a
customer column (code, or a name that matches one customer), one column per
item (its code, English or Chinese label, as in the round's template), and
optional period, date, respondent, title and comment columns. Every other
header is a problem, because a misspelt item column ("Qualty") would
otherwise drop a whole column of answers without a word; so is a column with
values but no header. A header problem is reported once, with the closest
expected header, and stops the sheet before its rows are checked: one
misspelt column would otherwise make every row wrong the same way.

The rows below the header are read column by column (see sheet_rows.py).
"""

from __future__ import annotations

from typing import Optional

from csat.i18n import _
from csat.importer.context import Candidate, Context
from csat.importer.layout import expected_fields, is_blank, read_layout
from csat.importer.sheet_rows import Found, SheetRows, first_filled, first_value_below
from csat.importer.unseen import sheet_problems
from csat.importer.validate import Problems
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet


def read_sheet(file_name: str, source_file: str, sheet: Sheet, context: Context, half: Optional[str],
               problems: Problems, early=None) -> tuple[list[Candidate], bool]:
    """Candidates from one consolidated sheet; the flag says whether it held response data at all.

    `early` (see early.py) stores answers while reading goes on; it is joined here
    first, because reading a sheet may query the store.
    """
    if early is not None:
        early.join()
    where = f"{file_name}!{sheet.name}"
    header_index = first_filled(sheet)
    if header_index is None:
        return [], False
    header_row = sheet.first_row + header_index
    header = [column.value(header_index) for column in sheet.columns]
    before = len(problems)
    layout = read_layout(header, context, where, sheet.first_column, header_row, problems)
    if not layout.is_data:
        return [], False
    for index, title in enumerate(header):
        if is_blank(title):
            filled = first_value_below(sheet.columns[index], header_index)
            if filled is not None:
                letters = column_letters(sheet.first_column + index)
                problems.add(f"{where}!{letters}{header_row}",
                             _("column {letters} has values (first in row {row}) but no header; name it (an item's code"
                               " or label, or {fields}) or delete the column", letters=letters,
                               row=sheet.first_row + filled, fields=expected_fields()))
    header_cell = f"{where}!{column_letters(sheet.first_column)}{header_row}"
    customer_column = layout.fields.get("customer", layout.fields.get("customer_name"))
    if customer_column is None:
        problems.add(header_cell, _("no customer column (a header such as customer, code or 客户代码)"))
        return [], True
    if not layout.items:
        problems.add(header_cell, _("no item columns: name them by item code or label, e.g. {items}",
                                    items=", ".join(item.code for item in context.items if item.active)[:200]))
        return [], True
    period_column = layout.fields.get("period")
    if period_column is None and half is None:
        problems.add(header_cell, _("no period: add a period column or pass --half, e.g. --half 2024H1"))
        return [], True
    if len(problems) > before:
        # A header problem makes every row wrong the same way (a misspelt customer column falls back to
        # the name column, a misspelt respondent column makes two respondents one customer twice...):
        # said once, at the header; the rows are checked once the header is right.
        return [], True
    found = Found()
    rows = SheetRows(file_name, source_file, sheet, header_index, layout, context, found)
    candidates = rows.read(customer_column, period_column, half, early)
    found.into(problems)
    return candidates, True


def read_consolidated(file_name: str, source_file: str, sheets: list[Sheet], context: Context,
                      half: Optional[str], problems: Problems, early=None) -> list[Candidate]:
    """Candidates from every data sheet of a workbook or csv file."""
    candidates: list[Candidate] = []
    found_data = False
    for sheet in sheets:
        sheet_problems(file_name, sheet, problems)   # hidden rows, columns, sheets, merges, formulas (unseen.py)
        if sheet.visibility != "visible":
            continue
        read, is_data = read_sheet(file_name, source_file, sheet, context, half, problems, early)
        candidates.extend(read)
        found_data = found_data or is_data
    if not found_data:
        problems.add(file_name, _("no sheet with a header row naming a customer column and item columns"))
    return candidates
