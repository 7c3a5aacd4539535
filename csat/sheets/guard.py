"""Checks that run before a spreadsheet parser touches a file.

python-calamine builds a dense grid and aborts the whole process (a signal,
not an exception) when a tiny sheet names far-apart cells; openpyxl without
defusedxml expands XML entities; a zip bomb unpacks to gigabytes. So every
file is checked first, by streaming: its size, that an .xlsx is really a zip
of a workbook, the zip's entry count and true unpacked size, entity
declarations in any XML part, and the real extent of every worksheet.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from csat.errors import CsatError

_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})([0-9]{1,7})"')
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\b[^>]*?\bref="([A-Z]{1,3})?([0-9]{1,7})?(?::([A-Z]{1,3})([0-9]{1,7}))?"')
_ROW_REF = re.compile(rb'<(?:\w+:)?row\b[^>]*?\br="([0-9]{1,7})"')
_CHUNK = 1 << 20


class UnsafeFile(CsatError):
    """A file refused before parsing."""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 50 * 1024 * 1024
    max_unpacked_bytes: int = 500 * 1024 * 1024
    max_entries: int = 10_000
    max_cells: int = 50_000_000
    max_rows: int = 1_048_576
    max_columns: int = 16_384

    @classmethod
    def from_settings(cls, settings) -> "Limits":
        section = settings.import_
        return cls(
            max_file_bytes=int(section.max_file_mb * 1024 * 1024),
            max_unpacked_bytes=int(section.max_unpacked_mb * 1024 * 1024),
            max_entries=section.max_zip_entries,
        )


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (ord(letter) - 64)
    return number


def column_letters(number: int) -> str:
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def check_size(path: Path, limits: Limits) -> int:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnsafeFile(f"{path}: no such file") from None
    except OSError as exc:
        raise UnsafeFile(f"{path}: cannot read: {exc.strerror}") from None
    if not path.is_file():
        raise UnsafeFile(f"{path}: not a file")
    if size > limits.max_file_bytes:
        raise UnsafeFile(
            f"{path}: {size / 1048576:.1f} MB is over the {limits.max_file_bytes / 1048576:g} MB limit"
            " (import.max_file_mb in csat.toml)"
        )
    return size


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: Path, budget: list[int],
               is_sheet: bool, limits: Limits) -> None:
    """Stream one XML part: count real unpacked bytes, refuse entities, measure a sheet's extent."""
    max_row = max_col = 0
    min_row = min_col = None
    tail = b""
    with archive.open(info) as stream:
        first = True
        while True:
            chunk = stream.read(_CHUNK)
            if not chunk:
                break
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise UnsafeFile(
                    f"{path}: unpacks to more than {limits.max_unpacked_bytes / 1048576:g} MB (a zip bomb?); refused"
                )
            window = tail + chunk
            if first or b"<!" in window:
                if re.search(rb"<!(?:DOCTYPE|ENTITY)", window, re.IGNORECASE):
                    raise UnsafeFile(f"{path}!{info.filename}: XML declares a DOCTYPE or entities; refused")
            first = False
            if is_sheet:
                for match in _CELL_REF.finditer(window):
                    column, row = column_number(match.group(1).decode()), int(match.group(2))
                    max_row, max_col = max(max_row, row), max(max_col, column)
                    min_row = row if min_row is None else min(min_row, row)
                    min_col = column if min_col is None else min(min_col, column)
                for match in _ROW_REF.finditer(window):
                    row = int(match.group(1))
                    max_row = max(max_row, row)
                    min_row = row if min_row is None else min(min_row, row)
                for match in _DIMENSION.finditer(window):
                    cells = [(match.group(1), match.group(2)), (match.group(3), match.group(4))]
                    for letters, digits in cells:
                        if letters:
                            column = column_number(letters.decode())
                            max_col = max(max_col, column)
                            min_col = column if min_col is None else min(min_col, column)
                        if digits:
                            row = int(digits)
                            max_row = max(max_row, row)
                            min_row = row if min_row is None else min(min_row, row)
            tail = chunk[-256:]
    if is_sheet and max_row:
        rows = max_row - (min_row or 1) + 1
        columns = max_col - (min_col or 1) + 1 if max_col else 1
        if max_row > limits.max_rows or max_col > limits.max_columns or rows * columns > limits.max_cells:
            raise UnsafeFile(
                f"{path}!{info.filename}: cells span {rows:,} rows x {columns:,} columns,"
                f" more than {limits.max_cells:,} cells; refused"
            )


def check_xlsx(path: Path, limits: Limits = Limits()) -> None:
    """Refuse anything that is not a plausible, bounded xlsx workbook."""
    check_size(path, limits)
    if not zipfile.is_zipfile(path):
        raise UnsafeFile(f"{path}: not an xlsx workbook (the content is not a zip package)")
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > limits.max_entries:
                raise UnsafeFile(f"{path}: {len(entries):,} entries in the package, over {limits.max_entries:,}; refused")
            names = {info.filename for info in entries}
            if "xl/workbook.xml" not in names and not any(name.endswith("/workbook.xml") for name in names):
                raise UnsafeFile(f"{path}: a zip file but not an xlsx workbook (no xl/workbook.xml)")
            declared = sum(info.file_size for info in entries)
            if declared > limits.max_unpacked_bytes:
                raise UnsafeFile(f"{path}: unpacks to {declared / 1048576:,.0f} MB (a zip bomb?); refused")
            budget = [limits.max_unpacked_bytes]
            for info in entries:
                name = info.filename.lower()
                if name.endswith((".xml", ".rels", ".vml")):
                    is_sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
                    _scan_part(archive, info, path, budget, is_sheet, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise UnsafeFile(f"{path}: damaged xlsx package ({exc})") from None
    except RuntimeError as exc:  # encrypted entries
        raise UnsafeFile(f"{path}: cannot read the xlsx package ({exc})") from None


def defusedxml_active() -> bool:
    """True when openpyxl parses with defusedxml (entity attacks refused)."""
    from openpyxl.xml import DEFUSEDXML

    return bool(DEFUSEDXML)
