"""Working days as the company counts them: the country's public holidays, its make-up working days, its own closings.

A complaint's reply is due `feedback.reply_days` working days after it came in.
In China the State Council moves working days around each holiday (调休): the
Saturday before National Day is a working day, the week of 1 October is not.
Counting Monday to Friday would put a deadline inside the holiday, or miss a
working Saturday, so China's calendar comes from the maintained
`chinesecalendar` package (holidays and adjusted working days, year by year);
other countries' public holidays from the `holidays` package. Extra company
closing days (the factory's own shutdown) come from `[calendar] closing_days`,
and the older `feedback.holidays` still counts as closing days.

`[calendar] country`: "CN", any ISO 3166 code the `holidays` package knows,
"none" (Monday to Friday only), or "auto" (the default of a workspace that
does not say): China for a workspace whose company.lang is zh, else "none".
`csat init` writes the choice into csat.toml so it is visible. A year the
package has no data for yet (chinesecalendar learns a year's 调休 when it is
announced, each November) is counted Monday to Friday plus the closing days;
`missing_years` tells which years those are, so `csat doctor` and the lead can
say so (upgrade the package, or list the days in closing_days).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Iterable

from csat.errors import ConfigError
from csat.i18n import _

NO_COUNTRY = "none"
AUTO = "auto"


def country_of(settings) -> str:
    """The country whose calendar counts: CN, another ISO code, or "none"."""
    calendar = getattr(settings, "calendar", None)
    country = (getattr(calendar, "country", AUTO) or AUTO).strip()
    if country.lower() == AUTO:
        return "CN" if settings.company.lang == "zh" else NO_COUNTRY
    return NO_COUNTRY if country.lower() == NO_COUNTRY else country.upper()


def closing_days(settings) -> frozenset[date]:
    calendar = getattr(settings, "calendar", None)
    days = list(getattr(calendar, "closing_days", []) or []) + list(settings.feedback.holidays)
    return frozenset(date.fromisoformat(str(day)) for day in days)


@lru_cache(maxsize=None)
def _country_holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        raise ConfigError(_("csat.toml: [calendar] country {country} is not a country the holidays package knows;"
                            " use an ISO code such as CN, DE or US, or \"none\"", country=repr(country))) from None


def _china_workday(day: date) -> bool | None:
    """China's answer for a day (adjusted working days included), or None for a year with no data yet."""
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


class WorkingCalendar:
    """Which days are working days for one workspace."""

    def __init__(self, country: str, closed: Iterable[date] = ()):
        self.country = country
        self.closed = frozenset(closed)
        self._known: dict[date, bool] = {}

    def is_working_day(self, day: date) -> bool:
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._decide(day)
        return known

    def _decide(self, day: date) -> bool:
        if day in self.closed:
            return False
        if self.country == "CN":
            answer = _china_workday(day)
            if answer is not None:
                return answer
        elif self.country != NO_COUNTRY and day in _country_holidays(self.country, day.year):
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """`count` working days after `start` (first moved forward to a working day, as numpy's busday_offset)."""
        day = start
        while not self.is_working_day(day):
            day += timedelta(days=1)
        for _step in range(count):
            day += timedelta(days=1)
            while not self.is_working_day(day):
                day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when end is not later).

        The inverse of add_working_days: `start` is first moved forward to a working day, so
        working_days_between(day, add_working_days(day, n)) == n.
        """
        day = start
        while not self.is_working_day(day) and day < end:
            day += timedelta(days=1)
        count = 0
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def missing_years(self, years: Iterable[int]) -> list[int]:
        """Years this calendar counts Monday to Friday only, for want of the country's data."""
        if self.country != "CN":
            return []
        return sorted({year for year in years if _china_workday(date(year, 6, 1)) is None})


def calendar_for(settings) -> WorkingCalendar:
    return WorkingCalendar(country_of(settings), closing_days(settings))


def valid_country(text: str) -> str:
    """A [calendar] country value checked: auto, none, CN, or a code the holidays package knows."""
    value = (text or "").strip()
    if value.lower() in (AUTO, NO_COUNTRY):
        return value.lower()
    code = value.upper()
    if code == "CN":
        return code
    import holidays

    if code not in holidays.list_supported_countries():
        raise ValueError(_("{country} is not a country the holidays package knows; use an ISO code such as CN, DE"
                           " or US, \"auto\" (China for a zh workspace) or \"none\" (Monday to Friday)",
                           country=repr(text)))
    return code
