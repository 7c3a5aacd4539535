"""Cells a person looking at the sheet in Excel would not see: refused by address, never imported unseen.

Used by `csat import` (every sheet, and a form's answer cells) and by the customer list and feedback
log imports (the sheet they read).

A value in a hidden row or column (a filter left on, a row hidden to "drop" a
customer), a value under a merged cell (Excel shows only the merge's first
cell), a formula without a computed value (calamine reads it as blank), and a
hidden sheet that holds data: each would store something nobody saw or
checked, or drop something as blank that is not. The marks come from the
reading worker (csat/sheets/marks.py); .xls, .ods and csv files carry none.
"""

from __future__ import annotations

from collections.abc import Iterable

from csat.errors import CsatError
from csat.i18n import N_, _
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet, normalise, split_address

RESAVE = N_("show all rows and columns (or delete what should not be imported) and save the file again")


def _holds(sheet: Sheet, row: int, column: int) -> bool:
    row_index, column_index = row - sheet.first_row, column - sheet.first_column
    if row_index < 0 or column_index < 0 or row_index >= sheet.height or column_index >= sheet.width:
        return False
    return normalise(sheet.columns[column_index].value(row_index)) is not None


def _merge_cells(reference: str) -> tuple[int, int, int, int] | None:
    try:
        first, last = reference.split(":")
        top, left = split_address(first)
        bottom, right = split_address(last)
    except ValueError:
        return None
    return top, left, bottom, right


def unseen_cells(sheet: Sheet, only: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(cell address, or "" for the whole sheet, and the reason) of each unseen cell holding something.

    With `only`, just those addresses are looked at (a form's answer cells).
    """
    found_cells: list[tuple[str, str]] = []
    if sheet.visibility != "visible":
        if sheet.height and sheet.width and only is None:
            found_cells.append(("", _("the sheet is hidden and holds data; unhide it (or delete it) and save the file"
                                      " again")))
        return found_cells
    marks = sheet.marks or {}
    wanted = None if only is None else {split_address(address) for address in only if address}
    last_row, last_column = sheet.first_row + sheet.height - 1, sheet.first_column + sheet.width - 1

    def cells_in(top: int, left: int, bottom: int, right: int):
        for row in range(max(top, sheet.first_row), min(bottom, last_row) + 1):
            for column in range(max(left, sheet.first_column), min(right, last_column) + 1):
                if (wanted is None or (row, column) in wanted) and _holds(sheet, row, column):
                    yield row, column

    for row in marks.get("hidden_rows", ()):
        found = next(cells_in(row, 1, row, last_column), None)
        if found:
            found_cells.append((f"{column_letters(found[1])}{row}",
                                _("row {row} is hidden; {advice}", row=row, advice=_(RESAVE))))
    for first, last in marks.get("hidden_columns", ()):
        found = next(cells_in(1, first, last_row, last), None)
        if found:
            found_cells.append((f"{column_letters(found[1])}{found[0]}",
                                _("column {column} is hidden; {advice}", column=column_letters(found[1]),
                                  advice=_(RESAVE))))
    for reference in marks.get("merged", ()):
        corners = _merge_cells(reference)
        if corners is None:
            continue
        top, left, bottom, right = corners
        for row, column in cells_in(top, left, bottom, right):
            if (row, column) != (top, left):
                found_cells.append((f"{column_letters(column)}{row}",
                                    _("the cell is hidden under the merged cells {cells}; unmerge them and save"
                                      " the file again", cells=reference)))
    for address in marks.get("uncached", ()):
        try:
            cell = split_address(address)
        except ValueError:
            continue
        if wanted is None or cell in wanted:
            found_cells.append((address, _("a formula without a computed value; open the file in Excel, WPS or"
                                           " LibreOffice and save it again (csat never computes formulas)")))
    return found_cells


def refuse_unseen(file_name: str, sheet: Sheet) -> None:
    """CsatError naming the first unseen cell of a sheet (and how many more), if it has any."""
    found = unseen_cells(sheet)
    if not found:
        return
    address, reason = found[0]
    where = f"{file_name}!{sheet.name}" + (f"!{address}" if address else "")
    more = len(found) - 1
    raise CsatError(f"{where}: {reason}" + (_(" ({n} more such cells)", n=more) if more else ""))
