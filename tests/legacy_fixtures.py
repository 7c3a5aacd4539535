"""Excel 97-2003 (.xls) and OpenDocument (.ods) files for the tests, written by LibreOffice.

Each file starts as an xlsx written here with openpyxl from the examples, then LibreOffice
Calc converts it (`soffice --headless --convert-to xls|ods`), as a customer's office suite
would save it. The converted files are committed under tests/data/ so the reading tests run
where LibreOffice is not installed; where it is, tests also convert fresh copies
(`convert`). Regenerate the committed ones with `python tests/legacy_fixtures.py`.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
DATA = Path(__file__).resolve().parent / "data"
ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(source: Path, kind: str, folder: Path) -> Path:
    """The xlsx `source` saved as .xls or .ods by LibreOffice Calc into folder."""
    office = soffice()
    assert office is not None, "LibreOffice is not installed"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([office, "--headless", "--norestore", f"-env:UserInstallation=file://{folder / 'profile'}",
                    "--convert-to", kind, "--outdir", str(folder), str(source)],
                   check=True, capture_output=True, timeout=180)
    return folder / f"{source.stem}.{kind}"


def _typed(value: str) -> Any:
    if value.isdigit() and not value.startswith("0"):
        return int(value)
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value or None


def _example_rows(name: str) -> list[list[str]]:
    with open(EXAMPLES / name, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _save(path: Path, cells: dict[tuple[int, int], Any], title: str) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for (row, column), value in cells.items():
        sheet.cell(row=row, column=column, value=value)
    workbook.save(path)
    return path


def _grid(rows: list[list[str]], first_row: int = 1, first_column: int = 1, typed: bool = True) -> dict:
    return {(first_row + row_index, first_column + column_index): (_typed(value) if typed else value or None)
            for row_index, row in enumerate(rows) for column_index, value in enumerate(row)}


def responses_xlsx(folder: Path) -> Path:
    """examples/responses-2024H1.csv as a workbook (scores as numbers, dates as dates)."""
    return _save(folder / "responses-2024H1.xlsx", _grid(_example_rows("responses-2024H1.csv")), "Responses")


def bad_cells_xlsx(folder: Path) -> Path:
    """Three customers' answers starting at B3 (blank rows and column before), with two bad cells:
    E5 (C-002's quality) is 120 and F6 (C-003's delivery) is 'good'."""
    cells = _grid(_example_rows("responses-2024H1.csv")[:4], first_row=3, first_column=2)
    cells[(5, 5)] = 120
    cells[(6, 6)] = "good"
    return _save(folder / "bad-cells.xlsx", cells, "Responses")


def customers_xlsx(folder: Path) -> Path:
    return _save(folder / "customers.xlsx", _grid(_example_rows("customers.csv"), typed=False), "Customers")


def feedback_xlsx(folder: Path) -> Path:
    return _save(folder / "feedback-log.xlsx", _grid(_example_rows("feedback-log.csv"), typed=False), "Log")


def hostile_ods(path: Path, table_body: str) -> Path:
    """A minimal ODS package whose one table ('Responses') holds table_body (rows of cells)."""
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content'
               ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
               ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
               ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.3">'
               '<office:body><office:spreadsheet><table:table table:name="Responses">'
               f'{table_body}</table:table></office:spreadsheet></office:body></office:document-content>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), ODS_MIMETYPE)
        package.writestr("content.xml", content)
        package.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>'
                         '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                         f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{ODS_MIMETYPE}"/>'
                         '</manifest:manifest>')
    return path


def ods_row(*values: Any, repeat_row: int = 1, repeat_last: int = 1) -> str:
    """A table row of text or number cells; repeat_last repeats the last cell, repeat_row the row."""
    cells = []
    for index, value in enumerate(values):
        repeat = f' table:number-columns-repeated="{repeat_last}"' if index == len(values) - 1 and repeat_last > 1 else ""
        if value is None:
            cells.append(f"<table:table-cell{repeat}/>")
        elif isinstance(value, (int, float)):
            cells.append(f'<table:table-cell{repeat} office:value-type="float" office:value="{value}">'
                         f"<text:p>{value}</text:p></table:table-cell>")
        else:
            cells.append(f'<table:table-cell{repeat} office:value-type="string"><text:p>{value}</text:p>'
                         "</table:table-cell>")
    rows = f' table:number-rows-repeated="{repeat_row}"' if repeat_row > 1 else ""
    return f"<table:table-row{rows}>{''.join(cells)}</table:table-row>"


COMMITTED = {
    "responses-2024H1": (responses_xlsx, ("xls", "ods")),
    "bad-cells": (bad_cells_xlsx, ("xls", "ods")),
    "customers": (customers_xlsx, ("xls", "ods")),
    "feedback-log": (feedback_xlsx, ("xls", "ods")),
}


def committed(name: str, kind: str) -> Path:
    path = DATA / f"{name}.{kind}"
    assert path.is_file(), f"{path} is missing: run python tests/legacy_fixtures.py"
    return path


def regenerate(folder: Path) -> None:
    """Write the committed files again (needs LibreOffice)."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for _name, (build, kinds) in COMMITTED.items():
            source = build(Path(scratch))
            for kind in kinds:
                shutil.copy2(convert(source, kind, Path(scratch) / "out"), folder)


if __name__ == "__main__":
    DATA.mkdir(exist_ok=True)
    regenerate(DATA)
    print("\n".join(sorted(str(path) for path in DATA.iterdir())), file=sys.stderr)
