"""A sheet's cells as columns: numbers packed in arrays, everything else by row.

A 100,000-row consolidated sheet is 1.4 million cells. As Python objects
they cost more to send from the reading process and to check one by one
than calamine takes to read them. Most cells of such a sheet are numbers,
so each column keeps its numbers in a packed array of doubles (NaN where the
cell holds no number) and its other non-blank values (text, dates, booleans,
integers) in a dict keyed by row offset. Blank cells (None, empty or
whitespace-only text) are in neither. The array pickles as one bytes
object, and the importer checks a whole column at once with numpy.

Standard library only: the reading worker imports this module.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

NO_NUMBER = float("nan")


@dataclass
class Column:
    """One column of a sheet, `height` rows long."""

    numbers: array                                     # 'd': the float value of a row, NaN if none
    others: dict[int, Any] = field(default_factory=dict)   # row offset -> any other non-blank value

    def value(self, offset: int) -> Any:
        """The cell's value as read (a float, text, date, bool...), None when blank."""
        number = self.numbers[offset]
        if number == number:
            return number
        return self.others.get(offset)


def _is_filled(value: Any) -> bool:
    """Not blank: None, '' and whitespace-only text are blank."""
    if value is None:
        return False
    if value.__class__ is str:
        return bool(value.strip())
    return True


def column_of(values) -> Column:
    """A Column from a sequence of cell values as a reader returned them."""
    kinds = set(map(type, values))
    if kinds <= {float}:
        return Column(array("d", values))
    numbers = array("d", [value if value.__class__ is float else NO_NUMBER for value in values])
    others = {offset: value for offset, value in enumerate(values)
              if value.__class__ is not float and _is_filled(value)}
    return Column(numbers, others)


def columns_of(grid: list[list[Any]]) -> tuple[int, list[Column]]:
    """(height, columns) of a grid of rows; short rows count as blank to the right."""
    height = len(grid)
    if not height:
        return 0, []
    width = max(map(len, grid))
    if any(len(row) != width for row in grid):
        grid = [row if len(row) == width else list(row) + [None] * (width - len(row)) for row in grid]
    return height, [column_of(values) for values in zip(*grid)]


def rows_of(height: int, columns: list[Column]) -> list[list[Any]]:
    """The rows back from columns (None for blank): for small sheets read cell by cell."""
    return [[column.value(offset) for column in columns] for offset in range(height)]
