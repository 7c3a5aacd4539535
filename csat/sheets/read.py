"""Rows out of xlsx and csv files, with absolute cell addresses.

Values are normalised in one place: calamine gives whole numbers as floats
and dates as `date`; csv gives strings. Every row carries its real sheet row
number and every value its column letter, so an error can name the cell
exactly (`FILE!SHEET!C7`) even when calamine trimmed empty leading rows.
CSV is read as UTF-8 (with or without BOM), else GB18030 (which covers GBK),
the encodings Chinese Excel writes.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

from csat.errors import CsatError
from csat.sheets.guard import Limits, check_size, check_xlsx, column_letters

XLSX_SUFFIXES = {".xlsx", ".xlsm"}
CSV_SUFFIXES = {".csv", ".txt"}


@dataclass
class Sheet:
    """One sheet: its name and rows as (row_number, first_column_number, values)."""

    name: str
    rows: list[tuple[int, int, list[Any]]]

    def cell(self, row_number: int, column_number: int) -> str:
        return f"{column_letters(column_number)}{row_number}"


def normalise(value: Any) -> Any:
    """One representation for every reader: str stripped, ints for whole floats, date for midnight datetimes."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value
    return value


def decode_csv(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsatError(f"{path}: not UTF-8 or GBK/GB18030 text; save the file as CSV UTF-8")


def read_csv(path: Path, limits: Limits = Limits()) -> list[Sheet]:
    check_size(path, limits)
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        raise CsatError(f"{path}: this is an xlsx workbook with a .csv name; rename it to .xlsx")
    text = decode_csv(data, path)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for number, values in enumerate(csv.reader(io.StringIO(text), dialect), start=1):
        rows.append((number, 1, [normalise(value) for value in values]))
    return [Sheet(name=path.stem, rows=rows)]


def read_xlsx(path: Path, limits: Limits = Limits(), sheets: list[str] | None = None,
              visible_only: bool = True) -> list[Sheet]:
    """All (or the named) visible worksheets, after the guard has passed the file."""
    check_xlsx(path, limits)
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own error classes for damaged files
        raise CsatError(f"{path}: cannot read the workbook: {exc}") from None
    result = []
    try:
        for meta in workbook.sheets_metadata:
            if sheets is not None and meta.name not in sheets:
                continue
            if visible_only and sheets is None and str(meta.visible).lower().split(".")[-1] != "visible":
                continue
            if "work" not in str(meta.typ).lower():
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            start = sheet.start or (0, 0)
            first_row, first_column = start[0] + 1, start[1] + 1
            rows = [
                (first_row + offset, first_column, [normalise(value) for value in values])
                for offset, values in enumerate(sheet.to_python(skip_empty_area=True))
            ]
            result.append(Sheet(name=meta.name, rows=rows))
    finally:
        workbook.close()
    return result


def read_table(path: Path, limits: Limits = Limits()) -> list[Sheet]:
    """Sheets of an xlsx or csv file, chosen by content: an xlsx is a zip whatever its name."""
    suffix = path.suffix.lower()
    check_size(path, limits)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"PK\x03\x04" or suffix in XLSX_SUFFIXES:
        return read_xlsx(path, limits)
    if suffix == ".xls" or magic == b"\xd0\xcf\x11\xe0":
        raise CsatError(f"{path}: old .xls workbooks are not read; save it as .xlsx or CSV UTF-8")
    return read_csv(path, limits)


def header_rows(sheet: Sheet) -> Iterator[tuple[int, dict[str, Any], dict[str, str]]]:
    """Rows of a sheet keyed by its first non-empty row (the header): (row_number, values, cells)."""
    header: list[str] | None = None
    first_column = 1
    for row_number, column, values in sheet.rows:
        if header is None:
            if any(value is not None for value in values):
                header = ["" if value is None else str(value).strip() for value in values]
                first_column = column
            continue
        if not any(value is not None for value in values):
            continue
        record, cells = {}, {}
        for index, name in enumerate(header):
            if not name:
                continue
            record[name] = values[index] if index < len(values) else None
            cells[name] = f"{column_letters(first_column + index)}{row_number}"
        yield row_number, record, cells
