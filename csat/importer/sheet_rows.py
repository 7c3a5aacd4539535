"""The data rows of a consolidated sheet, checked a whole column at a time.

This is the hot path of a 100,000-row import. Rows are first sorted out by
customer and period (a Python loop, but only dictionary lookups); then each
item column is checked for all rows of a round at once with numpy, and only
the cells that are not plain numbers (N/A, choice labels, text, dates) go
through parse_score one by one. Problems are kept in reading order, row by
row, as a reader of the sheet would meet them.
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import repeat
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from csat.i18n import _
from csat.importer.answers import AnswerBlock
from csat.importer.context import Candidate, Context, RoundInfo
from csat.importer.layout import SheetLayout
from csat.importer.validate import (
    ItemRule,
    Problems,
    clean_text,
    parse_date,
    parse_score,
    percent_problem,
)
from csat.periods import Half
from csat.sheets.columns import Column
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet, split_address

if TYPE_CHECKING:
    from csat.importer.early import EarlyAnswers

_BAD = object()   # a text cell with a problem: its row is not taken
TEXT_FIELDS = ("respondent", "title", "comment", "date")
_NO_TEXT = ("", None, "")


class RoundColumns:
    """A layout's item columns as they apply to one round, sorted by item id (a canonical order)."""

    def __init__(self, info: RoundInfo, layout: SheetLayout):
        self.items: list[tuple[int, ItemRule]] = []     # (column index, rule)
        self.missing: list[tuple[int, str]] = []        # (column index, code) of items not in the round
        for index, code in layout.items:
            rule = info.rules.get(code)
            if rule is None:
                self.missing.append((index, code))
            else:
                self.items.append((index, rule))
        self.items.sort(key=lambda column: column[1].item_id)


class Found:
    """A sheet's problems, handed on in reading order: by row, then in the order a row is checked."""

    def __init__(self):
        self.entries: list[tuple[int, int, int, str, str]] = []

    def add(self, offset: int, phase: int, order: int, where: str, message: str) -> None:
        self.entries.append((offset, phase, order, where, message))

    def into(self, problems: Problems) -> None:
        for *_order, where, message in sorted(self.entries, key=lambda entry: entry[:3]):
            problems.add(where, message)


def _clean_comments(cells: dict[int, Any]) -> Optional[dict[int, str]]:
    """What clean_text makes of comment cells (NUL characters dropped, stripped, line breaks kept)
    when every one is text, in C-level passes; None when some cell is not text."""
    values = list(cells.values())
    if any(kind is not str for kind in set(map(type, values))):
        return None
    if "\0" in "".join(values):
        values = [value.replace("\0", "") for value in values]
    return dict(zip(cells, map(str.strip, values)))


def first_filled(sheet: Sheet) -> Optional[int]:
    """Offset of the first row with anything in it (the header), None for an empty sheet."""
    firsts = []
    for column in sheet.columns:
        numbered = np.flatnonzero(~np.isnan(np.frombuffer(column.numbers, dtype=np.float64)))
        if numbered.size:
            firsts.append(int(numbered[0]))
        if column.others:
            firsts.append(min(column.others))
    return min(firsts) if firsts else None


def first_value_below(column: Column, header_index: int) -> Optional[int]:
    """Offset of the first non-blank cell of a column below the header row, or None."""
    numbers = np.frombuffer(column.numbers, dtype=np.float64)[header_index + 1:]
    numbered = np.flatnonzero(~np.isnan(numbers))
    offsets = [int(numbered[0]) + header_index + 1] if numbered.size else []
    offsets.extend(offset for offset, value in column.others.items()
                   if offset > header_index and not (isinstance(value, str) and not value.strip()))
    return min(offsets) if offsets else None


def parse_period(value: Any, half: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """(period, problem) of a period cell, which must agree with --half when both are given."""
    text = clean_text(value, "period")[0].replace(" ", "")
    try:
        period = str(Half.parse(text))
    except ValueError as exc:
        return None, str(exc)
    if half is not None and period != half:
        return None, _("period {period} differs from --half {half}", period=period, half=half)
    return period, None


def _cells(column: Column, start: int, numbers: np.ndarray) -> dict[int, Any]:
    """Every non-blank cell of a column from row offset `start` on: offset -> value (a float for numbers)."""
    cells = _others_from(column.others, start)
    numbered = np.flatnonzero(~np.isnan(numbers))
    if numbered.size:
        cells.update(zip((numbered + start).tolist(), numbers[numbered].tolist()))
    return cells


def _others_from(others: dict[int, Any], start: int) -> dict[int, Any]:
    """The entries of `others` from row offset `start` on. A reader lists a column's cells top to
    bottom: then the header above `start` is cut off by one bisection, not a test per cell."""
    offsets = list(others)
    if offsets == sorted(offsets):
        first = bisect_left(offsets, start)
        return dict(zip(offsets[first:], list(others.values())[first:]))
    return {offset: value for offset, value in others.items() if offset >= start}


class SheetRows:
    """The rows below a sheet's header, read into candidates; problems go to `found`."""

    def __init__(self, file_name: str, source_file: str, sheet: Sheet, header_index: int, layout: SheetLayout,
                 context: Context, found: Found):
        self.where = f"{file_name}!{sheet.name}"
        self.source_file = source_file
        self.sheet, self.layout, self.context, self.found = sheet, layout, context, found
        self.start = header_index + 1
        self.count = max(0, sheet.height - self.start)
        self.numbers = [np.frombuffer(column.numbers, dtype=np.float64)[self.start:] for column in sheet.columns]
        self.bad_texts: set[int] = set()     # offsets of rows with a text cell that has a problem (read_texts)

    def percent_offsets(self) -> dict[int, list[int]]:
        """Column index -> row offsets of the cells formatted as a percentage (marks.py; xlsx only)."""
        found: dict[int, list[int]] = {}
        for reference in (self.sheet.marks or {}).get("percent", ()):
            try:
                row, column = split_address(reference)
            except ValueError:
                continue
            found.setdefault(column - self.sheet.first_column, []).append(row - self.sheet.first_row)
        return found

    def address(self, index: int, offset: int) -> str:
        return f"{self.where}!{column_letters(self.sheet.first_column + index)}{self.sheet.first_row + offset}"

    def cells(self, index: Optional[int]) -> dict[int, Any]:
        if index is None:
            return {}
        return _cells(self.sheet.columns[index], self.start, self.numbers[index])

    def values_at(self, index: Optional[int], offsets: list[int]) -> list[Any]:
        """The cells of a column at these row offsets (below the header), None where blank."""
        if index is None:
            return [None] * len(offsets)
        numbers = self.numbers[index]
        if numbers.size and not np.isnan(numbers).all():
            return list(map(self.cells(index).get, offsets))
        return list(map(self.sheet.columns[index].others.get, offsets))     # a column of text: as it is

    def read(self, customer_column: int, period_column: Optional[int], half: Optional[str],
             early: Optional[EarlyAnswers] = None) -> list[Candidate]:
        """Candidates of every good row; with `early`, each block's answers start being stored at once."""
        by_period = self.sort_rows(customer_column, period_column, half)
        texts = None
        candidates: list[Candidate] = []
        for period, (columns, offsets, customers) in by_period.items():
            block, bad = self.read_items(period, columns, offsets)
            if early is not None:
                early.block_ready(period, block)
            if texts is None:       # after the first block is being stored: the texts are not needed for that
                texts = self.read_texts()
            self.add_candidates(candidates, customer_column, period, block, bad, offsets, customers, texts)
        if texts is None:           # no row to take, but every text cell is still checked
            self.read_texts()
        return candidates

    def filled_offsets(self) -> list[int]:
        """Offsets of the rows below the header with anything in them."""
        filled = np.zeros(self.count, dtype=bool)
        for column, numbers in zip(self.sheet.columns, self.numbers):
            filled |= ~np.isnan(numbers)
            if column.others:
                rows = np.fromiter(column.others.keys(), dtype=np.intp, count=len(column.others)) - self.start
                filled[rows[rows >= 0]] = True
        return (np.flatnonzero(filled) + self.start).tolist()

    def sort_rows(self, customer_column: int, period_column: Optional[int], half: Optional[str]):
        """period -> (round columns, row offsets, customer ids) of the rows with a valid customer and period.

        Customer codes and periods are looked up for all rows at once; the loop below
        only does real work for a row whose customer is not a known code, or whose
        period is missing, wrong, or not the sheet's only one.
        """
        context, found = self.context, self.found
        offsets = self.filled_offsets()
        values = self.values_at(customer_column, offsets)
        customers = list(map(context.codes.get, values))    # codes are text: any other value finds none
        raw_periods = self.values_at(period_column, offsets)
        periods = {raw: parse_period(raw, half) for raw in set(raw_periods) if raw is not None}
        rounds: dict[str, Optional[RoundColumns]] = {}

        def round_columns(period: str, offset: int) -> Optional[RoundColumns]:
            if period not in rounds:
                info = context.round_for(period)
                problem = context.check_round(info, closed_ok=True)
                rounds[period] = None if problem else RoundColumns(info, self.layout)
                if problem:
                    index = period_column if period_column is not None else customer_column
                    found.add(offset, 0, 2, self.address(index, offset), problem)
            return rounds[period]

        only = next(iter(periods.values())) if len(periods) == 1 else None
        single = (only[0] if only and not only[1] and None not in raw_periods else
                  half if not periods and half is not None else None)
        if single is not None and None not in customers:
            columns = round_columns(single, offsets[0]) if offsets else None
            return {single: (columns, offsets, customers)} if columns is not None else {}
        by_period: dict[str, tuple[RoundColumns, list[int], list[int]]] = {}
        for offset, value, customer_id, raw_period in zip(offsets, values, customers, raw_periods):
            if customer_id is None:
                customer_id, problem = context.customer(value)
                if problem:
                    found.add(offset, 0, 0, self.address(customer_column, offset), problem)
                    continue
            if raw_period is None:
                if half is None:
                    found.add(offset, 0, 1, self.address(period_column, offset), _("no period: fill it in or pass --half"))
                    continue
                period = half
            else:
                period, problem = periods[raw_period]
                if problem:
                    found.add(offset, 0, 1, self.address(period_column, offset), problem)
                    continue
            columns = round_columns(period, offset)
            if columns is None:
                continue
            entry = by_period.get(period)
            if entry is None:
                entry = by_period[period] = (columns, [], [])
            entry[1].append(offset)
            entry[2].append(customer_id)
        return by_period

    def read_items(self, period: str, columns: RoundColumns, offsets: list[int]) -> tuple[AnswerBlock, np.ndarray]:
        """The answers of these rows as a block, and which of the rows have a problem."""
        found = self.found
        rows = np.asarray(offsets, dtype=np.intp) - self.start
        position = np.full(self.count, -1, dtype=np.intp)
        position[rows] = np.arange(len(rows))
        bad = np.zeros(len(rows), dtype=bool)
        for index, code in columns.missing:
            cells = self.cells(index)
            first = next((offset for offset in offsets if offset in cells), None)
            if first is not None:
                found.add(first, 1, 0, self.address(index, first), _("item {item} is not part of the {period} round", item=code, period=period))
                bad[position[first - self.start]] = True
        scores = np.empty((len(rows), len(columns.items)), dtype=np.float64)
        extras = {}
        percent = self.percent_offsets()
        for order, (index, rule) in enumerate(columns.items):
            values = self.numbers[index][rows]
            numbered = ~np.isnan(values)
            shown_as_percent = np.zeros(len(rows), dtype=bool)
            for offset in percent.get(index, ()):     # typed as "90%": 0.9 in the file (marks.py)
                at = int(position[offset - self.start]) if self.start <= offset < self.start + self.count else -1
                if at >= 0 and numbered[at]:
                    shown_as_percent[at] = True
                    found.add(offset, 2, order, self.address(index, offset), percent_problem(rule, float(values[at])))
                    bad[at] = True
            if rule.numeric:
                wrong = numbered & ((values < rule.low) | (values > rule.high)) & ~shown_as_percent
            else:
                wrong = numbered & ~np.isin(values, sorted(rule.choice_points)) & ~shown_as_percent
            for at in np.flatnonzero(wrong).tolist():
                offset = offsets[at]
                found.add(offset, 2, order, self.address(index, offset), parse_score(rule, float(values[at])))
                bad[at] = True
            scores[:, order] = values
            for offset, value in self.sheet.columns[index].others.items():
                at = int(position[offset - self.start]) if offset >= self.start else -1
                if at < 0:
                    continue
                answer = parse_score(rule, value)
                if answer.__class__ is str:
                    found.add(offset, 2, order, self.address(index, offset), answer)
                    bad[at] = True
                    continue
                _item_id, score, not_applicable, raw, note = answer
                scores[at, order] = np.nan if score is None else score
                if not_applicable or raw or note:
                    extras[(at, order)] = (bool(not_applicable), raw, note)
        return AnswerBlock([rule.item_id for _index, rule in columns.items], scores, extras), bad

    def read_texts(self) -> dict[str, dict[int, Any]]:
        """Respondent, title, comment and date by row offset; a bad cell is a problem and marks its row."""
        texts: dict[str, dict[int, Any]] = {}
        self.bad_texts.clear()
        for order, what in enumerate(TEXT_FIELDS):
            index = self.layout.fields.get(what)
            cells = self.cells(index)
            if what == "comment":   # clean_text of comments (no limit, line breaks kept) at once when all are text
                comments = _clean_comments(cells)
                if comments is not None:
                    texts[what] = comments
                    continue
            values: dict[int, Any] = {}
            for offset, value in cells.items():
                if what == "date":
                    text, problem = parse_date(value, self.context.date_order)
                elif what == "comment":
                    text, problem = clean_text(value, what, limit=None, single_line=False)
                else:
                    text, problem = clean_text(value, what)
                values[offset] = text
                if problem:
                    self.found.add(offset, 3, order, self.address(index, offset), problem)
                    values[offset] = _BAD
                    self.bad_texts.add(offset)
            texts[what] = values
        return texts

    def add_candidates(self, candidates: list[Candidate], customer_column: int, period: str, block: AnswerBlock,
                       bad: np.ndarray, offsets: list[int], customers: list[int],
                       texts: dict[str, dict[int, Any]]) -> None:
        """A candidate per row of the block, but for rows with a bad score or text cell (already in `found`).

        Built a column at a time with comprehensions: a sheet has 100,000 rows.
        """
        respondents, titles, comments, dates = (texts[what] for what in TEXT_FIELDS)
        first_row, where, source_file = self.sheet.first_row, self.where, self.source_file
        sheet_name = self.sheet.name
        customer_cell = f"{where}!{column_letters(self.sheet.first_column + customer_column)}"
        get_respondent = respondents.get
        people = list(map(get_respondent, offsets, repeat(""))) if respondents else [""] * len(offsets)
        has_text = bool(titles or dates or comments)
        if has_text:
            fields = list(zip(map(titles.get, offsets, repeat("")) if titles else repeat(""),
                              map(dates.get, offsets) if dates else repeat(None),
                              map(comments.get, offsets, repeat("")) if comments else repeat("")))
        else:
            fields = [_NO_TEXT] * len(offsets)
        skipped = set(np.flatnonzero(bad).tolist())
        if self.bad_texts:
            skipped.update(at for at, offset in enumerate(offsets) if offset in self.bad_texts)
        hashed = [_NO_TEXT if at in skipped else text for at, text in enumerate(fields)] if skipped else fields
        hashes = block.content_hashes(hashed if has_text else None)
        numbers = [first_row + offset for offset in offsets]
        candidates.extend([
            Candidate(f"{customer_cell}{number}", where, f"row {number}", "sheet", source_file, period, customer_id,
                      person, title, answered_on, comment, block, at, digest, None, sheet_name, number)
            for at, (number, customer_id, person, (title, answered_on, comment), digest)
            in enumerate(zip(numbers, customers, people, fields, hashes))
            if not skipped or at not in skipped])
