"""Cells of an imported sheet that a person would not see in Excel, as import problems (csat/sheets/unseen.py)."""

from __future__ import annotations

from typing import Iterable, Optional

from csat.importer.validate import Problems
from csat.sheets.read import Sheet
from csat.sheets.unseen import unseen_cells


def sheet_problems(file_name: str, sheet: Sheet, problems: Problems,
                   only: Optional[Iterable[str]] = None) -> bool:
    """Add a problem for each unseen cell holding something (of `only`, when given); True if any was added."""
    found = unseen_cells(sheet, only)
    for address, reason in found:
        problems.add(f"{file_name}!{sheet.name}" + (f"!{address}" if address else ""), reason)
    return bool(found)
