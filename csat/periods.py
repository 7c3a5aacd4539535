"""Half-year (`2024H1`) and quarter (`2024Q3`) periods.

The procedure surveys every half year and summarises feedback every quarter;
both are named by a short string that sorts in time order. Parsing is strict:
a bad string raises ValueError with the expected form, which the CLI shows as
a usage error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from csat.i18n import _

_HALF = re.compile(r"^(\d{4})H([12])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True, order=True)
class Half:
    """A half year: H1 is January to June, H2 is July to December."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Half":
        match = _HALF.match(str(text).strip().upper())
        if not match:
            raise ValueError(_("period {text!r} is not a half year; expected YYYYH1 or YYYYH2, e.g. 2024H1", text=text))
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> "Half":
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def start(self) -> date:
        return date(self.year, 1 if self.number == 1 else 7, 1)

    @property
    def end(self) -> date:
        """The last day of the half (inclusive)."""
        return date(self.year, 6, 30) if self.number == 1 else date(self.year, 12, 31)

    def previous(self) -> "Half":
        return Half(self.year - 1, 2) if self.number == 1 else Half(self.year, 1)

    def next(self) -> "Half":
        return Half(self.year, 2) if self.number == 1 else Half(self.year + 1, 1)

    def __str__(self) -> str:
        return f"{self.year}H{self.number}"


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: Q1 is January to March."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> "Quarter":
        match = _QUARTER.match(str(text).strip().upper())
        if not match:
            raise ValueError(_("quarter {text!r} is not valid; expected YYYYQ1 to YYYYQ4, e.g. 2024Q3", text=text))
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, day: date) -> "Quarter":
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * (self.number - 1) + 1, 1)

    @property
    def end(self) -> date:
        """The last day of the quarter (inclusive)."""
        return self.next().start - timedelta(days=1)

    def previous(self) -> "Quarter":
        return Quarter(self.year, self.number - 1) if self.number > 1 else Quarter(self.year - 1, 4)

    def next(self) -> "Quarter":
        return Quarter(self.year, self.number + 1) if self.number < 4 else Quarter(self.year + 1, 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

