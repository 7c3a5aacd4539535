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


def column_of(values, first: int = 0) -> Column:
    """A Column from a sequence of cell values as a reader returned them (None or '' when empty),
    the first of them at row offset `first` (the keys of `others` count from it).

    Written for speed on the usual shapes, since the worker runs it over every cell:
    a column of numbers with a few other cells (a header, N/A, blanks) is copied and
    patched where the others are, found by C-level searches; other columns are
    filtered in one pass.
    """
    kinds = list(map(type, values))
    count = len(values)
    floats = kinds.count(float)
    if floats == count:
        return Column(array("d", values))
    if kinds.count(str) == count:        # a column of text: its cells but the blank ones, in C-level passes
        blanks = list(map(str.strip, values)).count("")
        if blanks == 0 or blanks == count:
            return Column(array("d", [NO_NUMBER]) * count, dict(enumerate(values, first)) if not blanks else {})
    others: dict[int, Any] = {}
    if floats * 2 > count:
        patched = list(values)
        for kind in set(kinds) - {float}:
            start = 0
            while True:
                try:
                    offset = kinds.index(kind, start)
                except ValueError:
                    break
                value = values[offset]
                patched[offset] = NO_NUMBER
                if value is not None and value != "" and (kind is not str or value.strip()):
                    others[first + offset] = value
                start = offset + 1
        return Column(array("d", patched), dict(sorted(others.items())))
    if floats:
        numbers = array("d", [value if kind is float else NO_NUMBER for value, kind in zip(values, kinds)])
    else:
        numbers = array("d", [NO_NUMBER]) * count
    others = {offset: value for offset, value in enumerate(values, first)
              if value.__class__ is not float and value is not None and value != ""}
    if str in kinds:
        for offset in [offset for offset, value in others.items() if value.__class__ is str and not value.strip()]:
            del others[offset]
    return Column(numbers, others)


def columns_of(grid: list[list[Any]], first: int = 0) -> tuple[int, list[Column]]:
    """(height, columns) of a grid of rows, the first at row offset `first`; short rows count as blank
    to the right."""
    height = len(grid)
    if not height:
        return 0, []
    width = max(map(len, grid))
    if any(len(row) != width for row in grid):
        grid = [row if len(row) == width else list(row) + [None] * (width - len(row)) for row in grid]
    return height, [column_of(values, first) for values in zip(*grid)]


def rows_of(height: int, columns: list[Column]) -> list[list[Any]]:
    """The rows back from columns (None for blank): for small sheets read cell by cell."""
    return [[column.value(offset) for column in columns] for offset in range(height)]
