"""Where a returned form's answers are, when the customer may have moved its rows or columns.

The sheet's protection has no password (by design), so a customer can insert,
delete, move or sort rows and insert columns; then the signed addresses point
at the wrong cells, and reading them would store answers against the wrong
items. So the answers are found by what each row is, never by address alone:

- A form written with row codes (csat.forms.xlsx: a hidden column coding every
  row of the answer block, a hidden row marking the column each cell was
  written in) is read where its codes now are: each item in the row coded with
  it, in the column marked with the signed column, and that row must carry the
  item's label (a sort that left the hidden column behind is caught here).
- An older form, without codes, is read at the signed cells only once each of
  them is found still in its item's row (the item's label), under its column's
  header and next to its field's label.

Anything else is refused with the cell named: "the rows of the form were
changed: row 11 is not an item row; return the original form".
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from csat.i18n import _
from csat.forms.identity import FormIdentity
from csat.forms.texts import texts
from csat.forms.xlsx import CODE_PREFIX, ROW_CODE_COLUMN
from csat.importer.layout import field_word
from csat.importer.validate import ItemRule, text_key
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet, split_address

_COLUMN = CODE_PREFIX + "col:"
_ITEM = CODE_PREFIX + "item:"
_FIELD = CODE_PREFIX + "field:"
_FIELDS = ("overall_comment", "respondent", "title", "date")
_FIELD_WORDS = {"overall_comment": "overall_comment", "respondent": "respondent", "title": "respondent_title",
                "date": "date"}
_SCALE_SUFFIX = re.compile(r"\s*[(（][^()（）]*[)）]\s*$")


class LayoutChanged(Exception):
    """The form's rows or columns were changed so that an answer cannot be found for sure."""

    def __init__(self, address: str, what: str, part: str = "rows"):
        super().__init__(_("the rows of the form were changed: {what}; return the original form", what=what)
                         if part == "rows" else
                         _("the columns of the form were changed: {what}; return the original form", what=what))
        self.address = address


def _words(key: str) -> set[str]:
    return {text_key(texts(language)[key]) for language in ("en", "zh")}


def _label_keys(rule: ItemRule) -> set[str]:
    return {text_key(text) for text in (rule.label_en, rule.label_zh, rule.code) if text}


def _cell_keys(value: Any) -> set[str]:
    """How a label cell may read: as written, or without the scale the form adds, e.g. `Price (1-5)`."""
    if not isinstance(value, str):
        return set()
    return {text_key(value), text_key(_SCALE_SUFFIX.sub("", value))}


class _Grid:
    def __init__(self, sheet: Sheet):
        self.cells: dict[tuple[int, int], Any] = {}
        for row_number, first_column, values in sheet.rows:
            for offset, value in enumerate(values):
                if value is not None:
                    self.cells[(row_number, first_column + offset)] = value
        self.rows: dict[int, dict[int, Any]] = {}
        for (row_number, column), value in self.cells.items():
            self.rows.setdefault(row_number, {})[column] = value


def locate(identity: FormIdentity, sheet: Sheet, rules: dict[str, ItemRule]) -> FormIdentity:
    """The identity with each address moved to where its answer now is; LayoutChanged when unsure."""
    grid = _Grid(sheet)
    markers: dict[str, int] = {}
    for (row_number, column), value in sorted(grid.cells.items()):
        if isinstance(value, str) and value.startswith(_COLUMN):
            letter = value[len(_COLUMN):]
            if letter in markers:
                raise LayoutChanged(f"{column_letters(column)}{row_number}",
                                    _("the marker of column {letter} appears twice", letter=letter), "columns")
            markers[letter] = column
    if ROW_CODE_COLUMN not in markers:       # an older form, or the hidden column deleted: nothing to follow
        _check_in_place(identity, grid, rules)
        return identity
    return _follow(identity, grid, rules, markers)


def _follow(identity: FormIdentity, grid: _Grid, rules: dict[str, ItemRule], markers: dict[str, int]) -> FormIdentity:
    code_column = markers[ROW_CODE_COLUMN]
    coded: dict[str, int] = {}
    coded_rows = set()
    for row_number, cells in sorted(grid.rows.items()):
        value = cells.get(code_column)
        if not (isinstance(value, str) and value.startswith(CODE_PREFIX)):
            continue
        coded_rows.add(row_number)
        if value.startswith((_ITEM, _FIELD)):
            if value in coded:
                raise LayoutChanged(f"{column_letters(code_column)}{row_number}",
                                    _("row {row} repeats row {first}", row=row_number, first=coded[value]))
            coded[value] = row_number
    if coded_rows:
        for row_number in range(min(coded_rows), max(coded_rows) + 1):
            if row_number in coded_rows:
                continue
            filled = sorted(column for column in grid.rows.get(row_number, {}) if column != code_column)
            if filled:               # an inserted row someone wrote in: its text would be lost
                raise LayoutChanged(f"{column_letters(filled[0])}{row_number}",
                                    _("row {row} is not an item row", row=row_number))

    def moved(address: str, row_number: int) -> str:
        _row, column = split_address(address)
        letter = column_letters(column)
        if letter not in markers:
            raise LayoutChanged(address, _("column {letter} is missing", letter=letter), "columns")
        return f"{column_letters(markers[letter])}{row_number}"

    items, comments = {}, {}
    for code, address in identity.items.items():
        row_number = coded.get(_ITEM + code)
        if row_number is None:
            raise LayoutChanged(address, _("the row of item {item} is missing", item=code))
        _check_label(grid, rules, code, row_number, moved(address, row_number), skip=code_column)
        items[code] = moved(address, row_number)
        if code in identity.comments:
            comments[code] = moved(identity.comments[code], row_number)
    fields = {}
    for name in _FIELDS:
        address = getattr(identity, name)
        if not address:
            continue
        row_number = coded.get(_FIELD + name)
        if row_number is None:
            raise LayoutChanged(address, _("the {field} row is missing",
                                                         field=field_word(name.replace("overall_", ""))))
        fields[name] = moved(address, row_number)
    return replace(identity, items=items, comments=comments, **fields)


def _check_label(grid: _Grid, rules: dict[str, ItemRule], code: str, row_number: int, address: str,
                 skip: int = 0) -> None:
    """The row must carry the item's label (a rule-less code is reported by the reader)."""
    rule = rules.get(code)
    if rule is None:
        return
    cells = {column: value for column, value in grid.rows.get(row_number, {}).items() if column != skip}
    found = set().union(*(_cell_keys(value) for value in cells.values())) if cells else set()
    if found & _label_keys(rule):
        return
    other = next((other.code for other in rules.values() if found & _label_keys(other)), None)
    if other is not None:
        raise LayoutChanged(address, _("row {row} is the row of item {other}, not of {item}",
                                             row=row_number, other=other, item=code))
    raise LayoutChanged(address, _("row {row} is not an item row", row=row_number))


def _check_in_place(identity: FormIdentity, grid: _Grid, rules: dict[str, ItemRule]) -> None:
    """A form without row codes: every signed cell must still be where it was written."""
    first_row = None
    for code, address in identity.items.items():
        row_number, _column = split_address(address)
        first_row = row_number if first_row is None else min(first_row, row_number)
        _check_label(grid, rules, code, row_number, address)
    if first_row is not None:
        header = grid.rows.get(first_row - 1, {})
        for key, addresses in (("score", identity.items.values()), ("comment", identity.comments.values())):
            for address in addresses:
                _row, column = split_address(address)
                if not _cell_keys(header.get(column)) & _words(key):
                    raise LayoutChanged(f"{column_letters(column)}{first_row - 1}",
                                        _("column {letter} is not the score column", letter=column_letters(column))
                                        if key == "score" else
                                        _("column {letter} is not the comment column", letter=column_letters(column)),
                                        "columns")
                break
    for name in _FIELDS:
        address = getattr(identity, name)
        if not address:
            continue
        row_number, _column = split_address(address)
        labels = _words(_FIELD_WORDS[name])
        rows = (row_number, row_number - 1) if name == "overall_comment" else (row_number,)
        if not any(_cell_keys(value) & labels for number in rows for value in grid.rows.get(number, {}).values()):
            raise LayoutChanged(address, _("row {row} is not the {field} row", row=row_number, field=name.replace("_", " ")))

