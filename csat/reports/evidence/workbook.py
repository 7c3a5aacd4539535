"""The pack's workbook: write-only sheets that keep text as text and hash what they hold.

Every sheet streams (openpyxl write-only mode), so a half with a million answers
does not build a million cell objects. Every value goes through one place
(`PackSheet.add`): text that starts with = + - @ is stored as a string cell,
never a formula; control characters are dropped; text longer than a cell holds
is cut with a note. The same values feed the content hash (`ContentHash`), so
`pack_hash()` can read a pack back and tell whether it still holds what was
written.

The content hash is SHA-256 over, for each sheet after the cover in order, a
line with the sheet's title and then one line per row (headings included): the
row's values as a JSON array, each value in its canonical form (`canonical`):
text as is, numbers as `float` written with 15 significant digits, dates and
times as ISO text to the second, empty cells as "".
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable

from csat.i18n import NC_, in_context
from csat.sheets.write import is_dangerous, set_text_cell, xlsx_text

CELL_LIMIT = 32_000          # Excel holds 32,767 characters in a cell; keep room for the note
DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
CUT_NOTE = NC_("evidence pack", "… (cut: {n} characters in all; see csat audit list)")


def canonical(value: Any) -> Any:
    """A cell value as the content hash sees it, the same written or read back."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # to the nearest second: a time read back from a serial number may be a hair off
        return (value + timedelta(microseconds=500_000)).replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time()).isoformat(sep=" ")
    if isinstance(value, (int, float)):
        return format(float(value), ".15g")
    return str(value)


class ContentHash:
    """SHA-256 over sheet titles and rows in their canonical form."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def sheet(self, title: str) -> None:
        self._digest.update(("\x1e" + title + "\n").encode("utf-8"))

    def row(self, values: Iterable[Any]) -> None:
        # Trailing empty cells are not stored in xlsx: leave them out so a read-back row hashes the same.
        cells = [canonical(value) for value in values]
        while cells and cells[-1] == "":
            cells.pop()
        self._digest.update((json.dumps(cells, ensure_ascii=False) + "\n").encode("utf-8"))

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _styles():
    from openpyxl.styles import Font, PatternFill

    return {"title": {"font": Font(bold=True, size=14)},
            "header": {"font": Font(bold=True), "fill": PatternFill("solid", start_color="DDDDDD", end_color="DDDDDD")}}


class PackSheet:
    """One write-only sheet of the pack: a heading row, then data rows (counted) or notes."""

    def __init__(self, workbook, title: str, headings: list[str], lang: str, content: ContentHash | None,
                 widths: list[float] | None = None):
        from openpyxl.utils import get_column_letter

        self.sheet = workbook.create_sheet(title)
        self.title = title
        self.lang = lang
        self.content = content
        self.rows = 0
        self.sheet.freeze_panes = "A2" if headings else None
        for index, width in enumerate(widths or [18] * len(headings), start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        if content is not None:
            content.sheet(title)
        if headings:
            self._append(headings, _styles()["header"])

    def add(self, values: list[Any]) -> None:
        """A data row (counted on the cover)."""
        self._append(values)
        self.rows += 1

    def note(self, text: str) -> None:
        """A sentence in place of rows (an empty half, a check not available): not counted."""
        self._append([text])

    def _append(self, values: list[Any], style: dict | None = None) -> None:
        from openpyxl.cell import WriteOnlyCell

        written, row = [], []
        for value in values:
            if isinstance(value, str):
                value = xlsx_text(value) or None    # an empty cell, not an empty string
            if isinstance(value, str):
                if len(value) > CELL_LIMIT:
                    value = value[:CELL_LIMIT] + in_context(self.lang, *CUT_NOTE, n=len(value))
            elif isinstance(value, datetime):
                value = value.replace(microsecond=0)
            written.append(value)
            if style or isinstance(value, (date, datetime)) or (isinstance(value, str) and is_dangerous(value)):
                cell = WriteOnlyCell(self.sheet)
                set_text_cell(cell, value)
                if isinstance(value, datetime):
                    cell.number_format = TIME_FORMAT
                elif isinstance(value, date):
                    cell.number_format = DATE_FORMAT
                for name, setting in (style or {}).items():
                    setattr(cell, name, setting)
                value = cell
            row.append(value)
        self.sheet.append(row)
        if self.content is not None:
            self.content.row(written)


def new_workbook():
    from openpyxl import Workbook

    return Workbook(write_only=True)


def title_style() -> dict:
    return _styles()["title"]


def pack_hash(path: Path) -> str:
    """The content hash of a written pack, recomputed from the file (every sheet after the first, the cover)."""
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    try:
        content = ContentHash()
        for sheet in workbook.worksheets[1:]:
            content.sheet(sheet.title)
            for row in sheet.iter_rows(values_only=True):
                content.row(list(row))
        return content.hexdigest()
    finally:
        workbook.close()
