"""Consolidated sheets: one row per response, one column per item.

The header row (the first row with anything in it) names the columns: a
customer column (code, or a name that matches one customer), one column per
item (its code, English or Chinese label, as in the round's template), and
optional period, date, respondent, title and comment columns. Every other
header is a problem, because a misspelt item column ("Qualty") would
otherwise drop a whole column of answers without a word.

The rows below the header are read column by column (see sheet_rows.py).
"""

from __future__ import annotations

import difflib
from typing import Any, Optional

from csat.importer.context import Candidate, Context
from csat.importer.sheet_rows import Found, SheetRows, first_filled
from csat.importer.validate import Problems, clean_text, text_key
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


def read_sheet(file_name: str, source_file: str, sheet: Sheet, context: Context, half: Optional[str],
               problems: Problems, early=None) -> tuple[list[Candidate], bool]:
    """Candidates from one consolidated sheet; the flag says whether it held response data at all.

    `early` (see early.py) stores answers while reading goes on; it is joined here
    first, because reading a sheet may query the store.
    """
    if early is not None:
        early.join()
    where = f"{file_name}!{sheet.name}"
    header_index = first_filled(sheet)
    if header_index is None:
        return [], False
    header_row = sheet.first_row + header_index
    header = [column.value(header_index) for column in sheet.columns]
    layout = read_layout(header, context, where, sheet.first_column, header_row, problems)
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
    found = Found()
    rows = SheetRows(file_name, source_file, sheet, header_index, layout, context, found)
    candidates = rows.read(customer_column, period_column, half, early)
    found.into(problems)
    return candidates, True


def read_consolidated(file_name: str, source_file: str, sheets: list[Sheet], context: Context,
                      half: Optional[str], problems: Problems, early=None) -> list[Candidate]:
    """Candidates from every data sheet of a workbook or csv file."""
    candidates: list[Candidate] = []
    found_data = False
    for sheet in sheets:
        if sheet.visibility != "visible":
            continue
        read, is_data = read_sheet(file_name, source_file, sheet, context, half, problems, early)
        candidates.extend(read)
        found_data = found_data or is_data
    if not found_data:
        problems.add(file_name, "no sheet with a header row naming a customer column and item columns")
    return candidates
