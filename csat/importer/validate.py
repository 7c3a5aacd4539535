"""Cell values -> clean answers, or a problem that names the cell.

Every reader (returned forms, consolidated sheets, manual entry) turns what it
read into the same shapes through these functions, so a score means the same
thing whatever brought it in: a number on the item's scale, a choice label
(English or Chinese) mapped to its points, blank for no answer, or N/A.
Problems are strings `FILE!SHEET!CELL: what is wrong`, collected, never raised,
so one run reports every problem in every file.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from csat.i18n import _, language

NOT_APPLICABLE = {"n/a", "na", "n.a.", "不适用"}
TEXT_LIMIT = 200
# Dates as respondents type them: year first (2024-07-10, 2024/7/10, 2024.7.10, 2024年7月10日 or 号,
# a time after it), or day and month first (10/07/2024), whose order only `forms.date_order` knows.
_YEAR_FIRST = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ T]+\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?$")
_YEAR_LAST = re.compile(r"^(\d{1,2})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{4})(?:[ T]+\d{1,2}[:：]\d{2}(?:[:：]\d{2})?)?$")
DATE_ORDERS = ("auto", "dmy", "mdy")
# Excel's day numbers for 2000-01-01 .. 2099-12-31: a date cell that lost its date format.
_EXCEL_DAYS = (36526, 73050)
# A score typed as text, after NFKC (full-width digits, point and comma become ASCII): digits with one
# decimal point or comma. Not what Python's float() also takes (1e2, 9_0, other scripts' digits).
_TYPED_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
# 1,000: a thousands separator or a decimal comma? Either reading could be wrong, so neither is taken.
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3},[0-9]{3}")


def text_key(text: str) -> str:
    """How headers, labels and names are compared: whitespace collapsed, case folded."""
    return " ".join(str(text).split()).casefold()


def number_text(value: float) -> str:
    return f"{value:g}"


class ItemRule:
    """What one item of a round accepts: its scale and, for a choice scale, its labels."""

    __slots__ = ("code", "item_id", "low", "high", "choices", "choice_points", "choice_labels", "label_en",
                 "label_zh", "numeric")

    def __init__(self, code: str, item_id: int, scale_min: float, scale_max: float, choices: str = "",
                 label_en: str = "", label_zh: str = ""):
        self.code, self.item_id = code, item_id
        self.low, self.high = float(scale_min), float(scale_max)
        self.label_en, self.label_zh = label_en, label_zh
        parsed = json.loads(choices) if choices else []
        self.choices: dict[str, float] = {}
        for choice in parsed:
            for label in (choice.get("label_en", ""), choice.get("label_zh", "")):
                if label:
                    self.choices[text_key(label)] = float(choice["points"])
        self.choice_points = {float(choice["points"]) for choice in parsed}
        self.choice_labels = [(choice.get("label_en", ""), choice.get("label_zh", ""), float(choice["points"]))
                              for choice in parsed]
        self.numeric = not parsed

    @property
    def scale(self) -> str:
        return f"{number_text(self.low)}-{number_text(self.high)}"

    def choice_list(self) -> str:
        """The choices as staff read them: labels in the output language (English where an item has no Chinese)."""
        if language() == "zh":
            return "、".join(f"{label_zh or label_en}（{number_text(points)}）"
                            for label_en, label_zh, points in self.choice_labels)
        return ", ".join(f"{label_en} ({number_text(points)})" for label_en, _zh, points in self.choice_labels)


# An answer: (item_id, score or None, not_applicable, raw text, comment).
Answer = tuple


def percent_problem(rule: ItemRule, value: float) -> str:
    """A score cell formatted as a percentage: "90%" typed in Excel, WPS or LibreOffice is 0.9 in the file,
    a valid score on 0-100 that nobody meant (csat/sheets/marks.py finds these cells in xlsx files)."""
    return _("{shown} is a percentage (the cell is formatted as %), not a score for {item} ({scale}); type the"
             " score as a plain number", shown=f"{value * 100:g}%", item=rule.code,
             scale=rule.scale if rule.numeric else rule.choice_list())


def parse_score(rule: ItemRule, value: Any) -> Answer | str:
    """One cell's answer for an item, or a problem message (without the cell)."""
    if value is None:
        return (rule.item_id, None, False, "", "")
    if isinstance(value, bool):
        return _("{value} is not a score for {item} ({scale}, N/A or blank)", value="TRUE" if value else "FALSE",
                 item=rule.code, scale=rule.scale)
    if isinstance(value, (int, float)):
        return _number(rule, float(value), "")
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return (rule.item_id, None, False, "", "")
        key = text_key(text)
        if key in NOT_APPLICABLE:
            return (rule.item_id, None, True, text[:TEXT_LIMIT], "")
        if not rule.numeric and key in rule.choices:
            return (rule.item_id, rule.choices[key], False, text[:TEXT_LIMIT], "")
        number = typed_number(text)
        if number is None or not math.isfinite(number):
            if not rule.numeric:
                return _("{value!r} is not a choice for {item}: {choices}", value=text, item=rule.code,
                         choices=rule.choice_list())
            return _("{value} is not a score for {item} ({scale}, N/A or blank)", value=repr(text), item=rule.code,
                     scale=rule.scale)
        return _number(rule, number, "" if _plain_number(text, number) else text[:TEXT_LIMIT])
    if isinstance(value, (date, datetime, time, timedelta)):
        return _("{value} is a date or time, not a score for {item}", value=value, item=rule.code)
    return _("{value} is not a score for {item}", value=repr(value), item=rule.code)


def typed_number(text: str) -> float | None:
    """The number a person typed as text (９０, 92,5, 88 with spaces), or None when it is not plainly one."""
    typed = unicodedata.normalize("NFKC", text).strip()
    if not _TYPED_NUMBER.fullmatch(typed) or _THOUSANDS.fullmatch(typed):
        return None
    return float(typed.replace(",", "."))


def _plain_number(text: str, number: float) -> bool:
    """True when text is just how a number is written (90, 90.0, 92.5), so raw need not keep it."""
    return text in (repr(number), number_text(number), str(int(number)) if number.is_integer() else "")


def _number(rule: ItemRule, number: float, raw: str) -> Answer | str:
    if not math.isfinite(number):
        return _("{value} is not a score for {item}", value=number, item=rule.code)
    if not rule.numeric:
        if number in rule.choice_points:
            return (rule.item_id, number, False, raw, "")
        return _("score {score} is not a choice for {item}: {choices}", score=number_text(number), item=rule.code,
                 choices=rule.choice_list())
    if not rule.low <= number <= rule.high:
        return _("score {score} out of {scale}", score=number_text(number), scale=rule.scale)
    return (rule.item_id, number, False, raw, "")


def clean_text(value: Any, what: str, limit: int | None = TEXT_LIMIT, single_line: bool = True) -> tuple[str, str | None]:
    """(text, problem): a cell as text, NULs removed; names on one line and at most `limit` characters."""
    if value is None:
        return "", None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (datetime, date)):
        value = value.isoformat()
    text = str(value).replace("\0", "").strip()
    if single_line:
        text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        return text[:limit], _("{what} is longer than {limit} characters", what=what, limit=limit)
    return text, None


def parse_date(value: Any, order: str = "auto") -> tuple[date | None, str | None]:
    """(date, problem) from a date cell or text such as 2024-06-30, 2024/6/30, 2024年6月30日 or 30/06/2024.

    Day and month first (30/06/2024) are read in `order` (forms.date_order: dmy or mdy); with
    "auto" only when the day tells (above 12), else the problem says the order is unknown.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if float(value).is_integer() and _EXCEL_DAYS[0] <= value <= _EXCEL_DAYS[1]:
            return date(1899, 12, 30) + timedelta(days=int(value)), None
        return None, _("date {value} is not a date; write it as YYYY-MM-DD", value=number_text(float(value)))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    year_first, year_last = _YEAR_FIRST.match(text), _YEAR_LAST.match(text)
    try:
        if year_first:
            year, month, day = (int(part) for part in year_first.groups())
            return date(year, month, day), None
        if year_last:
            first, second, year = (int(part) for part in year_last.groups())
            if order == "dmy" or (order == "auto" and first > 12 >= second):
                return date(year, second, first), None
            if order == "mdy" or (order == "auto" and second > 12 >= first):
                return date(year, first, second), None
            if first == second:
                return date(year, first, second), None
            return None, _("date {value!r} may be day/month or month/day; set forms.date_order to dmy or mdy,"
                           " or write it as YYYY-MM-DD", value=str(value).strip())
    except ValueError:   # Python's own reason ("day is out of range for month") is English only
        return None, _("date {value!r} is not a date: no such day or month", value=str(value).strip())
    return None, _("date {value!r} is not a date; write it as YYYY-MM-DD", value=str(value).strip())


@dataclass
class Problems:
    """Problems of one run, one line each; at most `per_file` lines are kept per file."""

    per_file: int = 1000
    lines: list[str] = field(default_factory=list)
    _counts: Counter = field(default_factory=Counter)

    def add(self, where: str, message: str) -> None:
        source = where.split("!", 1)[0]
        self._counts[source] += 1
        if self._counts[source] <= self.per_file:
            self.lines.append(f"{where}: {message}")

    def __bool__(self) -> bool:
        return bool(self._counts)

    def __len__(self) -> int:
        return sum(self._counts.values())

    def report(self) -> list[str]:
        """The kept lines, plus one line per file whose further problems were not kept."""
        extra = [_("{source}: {n} more problems not shown", source=source, n=count - self.per_file)
                 for source, count in self._counts.items() if count > self.per_file]
        return self.lines + extra
