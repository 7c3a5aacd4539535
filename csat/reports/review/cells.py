"""How a table cell of the review pack reads in the text formats (terminal, HTML, Markdown)."""

from __future__ import annotations

from typing import Any

from csat.numbers import fixed


def cell(value: Any, digits: int = 1) -> str:
    """A table cell as people read it: floats with the table's decimals, '' for none."""
    if value is None:
        return ""
    if isinstance(value, float):
        return fixed(value, digits)
    return str(value)


def numeric_columns(columns: list[str], rows: list[list[Any]]) -> list[bool]:
    """Which columns hold only numbers (right-aligned by every writer)."""
    return [bool(rows) and all(isinstance(row[index], (int, float)) or row[index] is None for row in rows)
            for index in range(len(columns))]
