"""Consolidated sheets: one row per response, one column per item.

The header row (the first row with anything in it) names the columns: a
customer column (code, or a name that matches one customer), one column per
item (its code, English or Chinese label, as in the round's template), and
optional period, date, respondent, title and comment columns. Every other
header is a problem, because a misspelt item column ("Qualty") would
otherwise drop a whole column of answers without a word.

The row loop is the hot path of a 100,000-row import: plain floats on a
numeric scale take a fast branch, everything else goes through parse_score.
"""

from __future__ import annotations

import difflib
from typing import Any, Optional

from csat.importer.context import Candidate, Context, RoundInfo
from csat.importer.validate import Problems, clean_text, content_hash, parse_date, parse_score, text_key
from csat.periods import Half
from csat.sheets.guard import column_letters
from csat.sheets.read import Sheet

FIELD_HEADERS = {
    "customer": ["customer", "customer code", "customer_code", "code", "customer id", "客户", "客户代码", "客户编号",
                 "客户编码", "代码", "编号"],
    "customer_name": ["customer name", "customer_name", "name", "company", "company name", "客户名称", "名称",
                      "公司", "公司名称"],
    "period": ["period", "half", "half year", "round", "期间", "周期", "调查期间", "半年度", "调查周期"],
    "date": ["date", "answered on", "answered_on", "date answered", "日期", "填写日期", "答复日期", "调查日期"],
    "respondent": ["respondent", "respondent name", "answered by", "填写人", "填表人", "答卷人", "受访人", "被调查人"],
    "title": ["title", "respondent title", "position", "job title", "职务", "职位"],
    "comment": ["comment", "comments", "remark", "remarks", "note", "notes", "overall comment", "备注", "意见",
                "建议", "意见建议", "意见和建议", "评论", "其他意见"],
    "ignored": ["no", "no.", "#", "序号", "row"],
}
_FIELDS_BY_HEADER = {text_key(spelling): name for name, spellings in FIELD_HEADERS.items() for spelling in spellings}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class SheetLayout:
    """Which column holds what, read from a sheet's header row."""

    def __init__(self):
        self.fields: dict[str, int] = {}
        self.items: list[tuple[int, str]] = []   # (column index, item code)
        self.unknown: list[tuple[int, str]] = []

    @property
    def is_data(self) -> bool:
        return "customer" in self.fields or "customer_name" in self.fields or bool(self.items)


def read_layout(header: list[Any], context: Context, where: str, first_column: int,
                row_number: int, problems: Problems) -> SheetLayout:
    layout = SheetLayout()
    seen_items: dict[str, str] = {}
    for index, value in enumerate(header):
        if _blank(value):
            continue
        title = clean_text(value, "header")[0]
        cell = f"{where}!{column_letters(first_column + index)}{row_number}"
        key = text_key(title)
        field_name = _FIELDS_BY_HEADER.get(key)
        codes = context.headers.get(key, set())
        if field_name is not None and not codes:
            if field_name in layout.fields and field_name != "ignored":
                problems.add(cell, f"a second {field_name} column {title!r}")
            layout.fields[field_name] = index
            continue
        if len(codes) > 1:
            problems.add(cell, f"column {title!r} could be any of the items {', '.join(sorted(codes))}; use the item code")
            continue
        if codes:
            code = next(iter(codes))
            if code in seen_items:
                problems.add(cell, f"item {code} has a second column {title!r} (first: {seen_items[code]})")
                continue
            seen_items[code] = title
            layout.items.append((index, code))
            continue
        layout.unknown.append((index, title))
    if layout.is_data:
        known = sorted(context.headers)
        for index, title in layout.unknown:
            cell = f"{where}!{column_letters(first_column + index)}{row_number}"
            guess = difflib.get_close_matches(text_key(title), known, n=1, cutoff=0.75)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.add(cell, f"unknown item column {title!r}{hint}")
    return layout


class _RoundColumns:
    """A layout's item columns as they apply to one round, sorted by item id (a canonical order)."""

    def __init__(self, info: RoundInfo, layout: SheetLayout):
        self.fast: list[tuple[int, int, float, float, Any]] = []
        self.missing: list[tuple[int, str]] = []
        columns = []
        for index, code in layout.items:
            rule = info.rules.get(code)
            if rule is None:
                self.missing.append((index, code))
            else:
                columns.append((rule.item_id, index, rule))
        for item_id, index, rule in sorted(columns, key=lambda column: column[0]):
            low, high = (rule.low, rule.high) if rule.numeric else (1.0, 0.0)   # choices never take the fast path
            self.fast.append((index, item_id, low, high, rule))


def read_sheet(file_name: str, source_file: str, sheet: Sheet, context: Context, half: Optional[str],
               problems: Problems) -> tuple[list[Candidate], bool]:
    """Candidates from one consolidated sheet; the flag says whether it held response data at all."""
    grid = sheet.grid
    where = f"{file_name}!{sheet.name}"
    header_index = next((index for index, values in enumerate(grid) if not all(_blank(v) for v in values)), None)
    if header_index is None:
        return [], False
    header_row = sheet.first_row + header_index
    layout = read_layout(grid[header_index], context, where, sheet.first_column, header_row, problems)
    if not layout.is_data:
        return [], False
    header_cell = f"{where}!{column_letters(sheet.first_column)}{header_row}"
    customer_column = layout.fields.get("customer", layout.fields.get("customer_name"))
    if customer_column is None:
        problems.add(header_cell, "no customer column (a header such as customer, code or 客户代码)")
        return [], True
    if not layout.items:
        problems.add(header_cell, "no item columns: name them by item code or label, e.g. "
                                  + ", ".join(item.code for item in context.items if item.active)[:200])
        return [], True
    period_column = layout.fields.get("period")
    if period_column is None and half is None:
        problems.add(header_cell, "no period: add a period column or pass --half, e.g. --half 2024H1")
        return [], True
    return _read_rows(file_name, source_file, sheet, header_index, layout, customer_column, period_column,
                      context, half, problems), True


def _read_rows(file_name: str, source_file: str, sheet: Sheet, header_index: int, layout: SheetLayout,
               customer_column: int, period_column: Optional[int], context: Context, half: Optional[str],
               problems: Problems) -> list[Candidate]:
    where = f"{file_name}!{sheet.name}"
    first_row, first_column = sheet.first_row, sheet.first_column
    fields = layout.fields
    respondent_column, title_column = fields.get("respondent"), fields.get("title")
    date_column, comment_column = fields.get("date"), fields.get("comment")
    periods: dict[Any, tuple[Optional[str], Optional[str]]] = {}
    columns_by_period: dict[str, Optional[_RoundColumns]] = {}
    reported: set[tuple[str, Any]] = set()
    codes = context.codes
    candidates: list[Candidate] = []

    def address(index: int, row_number: int) -> str:
        return f"{where}!{column_letters(first_column + index)}{row_number}"

    customer_prefix = f"{where}!{column_letters(first_column + customer_column)}"
    text_columns = [(column, what) for column, what in ((respondent_column, "respondent"), (title_column, "title"),
                                                         (comment_column, "comment"), (date_column, "date"))
                    if column is not None]
    for offset in range(header_index + 1, len(sheet.grid)):
        values = sheet.grid[offset]
        width = len(values)
        row_number = first_row + offset
        customer_value = values[customer_column] if customer_column < width else None
        customer_id = codes.get(customer_value) if customer_value.__class__ is str else None
        if customer_id is None:
            if _blank(customer_value):
                if not all(_blank(value) for value in values):
                    problems.add(address(customer_column, row_number), "no customer given")
                continue
            customer_id, problem = context.customer(customer_value)
            if problem:
                problems.add(address(customer_column, row_number), problem)
                continue
        # The period: the row's own, else --half; parsed once per distinct value.
        raw_period = values[period_column] if period_column is not None and period_column < width else None
        if raw_period is None or raw_period == "":
            if half is None:
                problems.add(address(period_column, row_number), "no period: fill it in or pass --half")
                continue
            period, problem = half, None
        else:
            cached = periods.get(raw_period)
            if cached is None:
                cached = periods[raw_period] = _parse_period(raw_period, half)
            period, problem = cached
            if problem:
                problems.add(address(period_column, row_number), problem)
                continue
        columns = columns_by_period.get(period, False)
        if columns is False:
            info = context.round_for(period)
            round_problem = context.check_round(info)
            columns = columns_by_period[period] = None if round_problem else _RoundColumns(info, layout)
            if round_problem:
                problems.add(address(period_column if period_column is not None else customer_column, row_number),
                             round_problem)
        if columns is None:
            continue
        bad = False
        for index, code in columns.missing:
            if index < width and not _blank(values[index]) and (period, index) not in reported:
                reported.add((period, index))
                problems.add(address(index, row_number), f"item {code} is not part of the {period} round")
                bad = True
        answers = []
        for index, item_id, low, high, rule in columns.fast:
            value = values[index] if index < width else None
            if value.__class__ is float and low <= value <= high:
                answers.append((item_id, value, False, "", ""))
            elif value is None or value == "":
                answers.append((item_id, None, False, "", ""))
            else:
                answer = parse_score(rule, value)
                if answer.__class__ is str:
                    problems.add(address(index, row_number), answer)
                    bad = True
                else:
                    answers.append(answer)
        respondent = title = comment = ""
        answered_on = None
        for column, what in text_columns:
            value = values[column] if column < width else None
            if value is None or value == "":
                continue
            if what == "date":
                answered_on, problem = parse_date(value)
            elif what == "comment":
                comment, problem = clean_text(value, what, limit=None, single_line=False)
            else:
                text, problem = clean_text(value, what)
                if what == "respondent":
                    respondent = text
                else:
                    title = text
            if problem:
                problems.add(address(column, row_number), problem)
                bad = True
        if bad:
            continue
        candidates.append(Candidate(
            f"{customer_prefix}{row_number}", where, f"row {row_number}", "sheet", source_file, period,
            customer_id, respondent, title, answered_on, comment, answers,
            content_hash(title, answered_on, comment, answers)))
    return candidates


def _parse_period(value: Any, half: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    text = clean_text(value, "period")[0].replace(" ", "")
    try:
        period = str(Half.parse(text))
    except ValueError as exc:
        return None, str(exc)
    if half is not None and period != half:
        return None, f"period {period} differs from --half {half}"
    return period, None


def read_consolidated(file_name: str, source_file: str, sheets: list[Sheet], context: Context,
                      half: Optional[str], problems: Problems) -> list[Candidate]:
    """Candidates from every data sheet of a workbook or csv file."""
    candidates: list[Candidate] = []
    found_data = False
    for sheet in sheets:
        if sheet.visibility != "visible":
            continue
        read, is_data = read_sheet(file_name, source_file, sheet, context, half, problems)
        candidates.extend(read)
        found_data = found_data or is_data
    if not found_data:
        problems.add(file_name, "no sheet with a header row naming a customer column and item columns")
    return candidates
