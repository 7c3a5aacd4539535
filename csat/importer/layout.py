"""A consolidated sheet's header row: which column holds the customer, the period, each item.

Kept apart from sheets.py (which reads a sheet) and sheet_rows.py (which reads its
rows) so that both can use the layout without importing each other.
"""

from __future__ import annotations

import difflib
from typing import Any

from csat.i18n import _, language
from csat.importer.context import Context
from csat.importer.validate import Problems, clean_text, text_key
from csat.sheets.guard import column_letters

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


def is_blank(value: Any) -> bool:
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
        if is_blank(value):
            continue
        title = clean_text(value, "header")[0]
        cell = f"{where}!{column_letters(first_column + index)}{row_number}"
        key = text_key(title)
        field_name = _FIELDS_BY_HEADER.get(key)
        codes = context.headers.get(key, set())
        if field_name is not None and not codes:
            if field_name in layout.fields and field_name != "ignored":
                problems.add(cell, _("a second {field} column {title!r}", field=field_word(field_name), title=title))
            layout.fields[field_name] = index
            continue
        if len(codes) > 1:
            problems.add(cell, _("column {title!r} could be any of the items {items}; use the item code",
                                    title=title, items=", ".join(sorted(codes))))
            continue
        if codes:
            code = next(iter(codes))
            if code in seen_items:
                problems.add(cell, _("item {item} has a second column {title!r} (first: {first})",
                                        item=code, title=title, first=seen_items[code]))
                continue
            seen_items[code] = title
            layout.items.append((index, code))
            continue
        layout.unknown.append((index, title))
    if layout.is_data:
        for index, title in layout.unknown:
            cell = f"{where}!{column_letters(first_column + index)}{row_number}"
            problems.add(cell, unknown_column(title, context))
    return layout


def expected_fields() -> str:
    """The field columns a sheet may have, as staff read them (Chinese headers in a Chinese workspace)."""
    return _("customer, period, date, respondent, title or comment")


def field_word(name: str) -> str:
    """A field column's name in the output language: its first English or first Chinese header."""
    spellings = FIELD_HEADERS.get(name, [name])
    if language() == "zh":
        return next((spelling for spelling in spellings if not spelling.isascii()), spellings[0])
    return spellings[0]


def closest_header(title: str, context: Context) -> str | None:
    """The expected header nearest a title that matches none: an item's code or label, or a field's name."""
    known = sorted({*context.headers, *(key for key, name in _FIELDS_BY_HEADER.items() if name != "ignored")})
    guess = difflib.get_close_matches(text_key(title), known, n=1, cutoff=0.75)
    return guess[0] if guess else None


def unknown_column(title: str, context: Context) -> str:
    """One line for a header that names nothing csat knows, with the closest expected header."""
    guess = closest_header(title, context)
    if guess is not None:
        return _("unknown column {title!r}: did you mean {guess!r}?", title=title, guess=guess)
    return _("unknown column {title!r}: name an item (its code or label), or {fields}", title=title, fields=expected_fields())
