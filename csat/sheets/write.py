"""Writing cells and CSV that spreadsheets open safely and correctly.

Text beginning with = + - @ TAB CR (or NUL) would run as a formula when the
file is opened (OWASP CSV injection): such text is prefixed with an
apostrophe in CSV and stored as a plain string cell in xlsx. CSV is UTF-8
with a BOM so that Excel shows Chinese text instead of mojibake. Control
characters, which an xlsx file cannot hold (openpyxl refuses the whole
workbook), are shown as their escapes, as on a terminal (csat.terminal_text).
"""

from __future__ import annotations

import csv
import io
from typing import Any, Iterable

from csat.terminal_text import printable

_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\0")


def is_dangerous(text: str) -> bool:
    return text.startswith(_DANGEROUS_START)


def csv_safe(value: Any) -> Any:
    """A CSV field that no spreadsheet will evaluate."""
    if isinstance(value, str):
        value = value.replace("\0", "")
        if is_dangerous(value):
            return "'" + value
    return value


def xlsx_text(value: str) -> str:
    """Text a cell can hold: control characters (which XML forbids) shown as their escapes, never dropped."""
    return value if value.isprintable() else printable(value)


def set_text_cell(cell, value: Any) -> None:
    """Assign to an openpyxl cell, keeping dangerous text a string rather than a formula."""
    if isinstance(value, str):
        value = xlsx_text(value)
        cell.value = value
        if is_dangerous(value):
            cell.data_type = "s"
        return
    cell.value = value


def csv_text(header: list[str], rows: Iterable[Iterable[Any]], bom: bool = True) -> str:
    """CSV text (with a leading BOM by default) from a header and rows."""
    buffer = io.StringIO()
    if bom:
        buffer.write("\ufeff")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else csv_safe(value) for value in row])
    return buffer.getvalue()
