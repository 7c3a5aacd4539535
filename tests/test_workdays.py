"""Reply deadlines count working days as the company's country does: China's holidays and 调休, other countries', closings."""

import json
from datetime import date, datetime

import pytest

from csat.config import Workspace
from csat.workspace import config_set
from csat.errors import CsatError
from csat.feedback.log import reply_deadlines
from csat.workdays import WorkingCalendar, calendar_for
from csat.store.engine import open_store
from csat.workspace import create


def china() -> WorkingCalendar:
    return WorkingCalendar("CN")


def test_china_counts_the_make_up_saturday_and_skips_national_day():
    calendar = china()
    assert calendar.is_working_day(date(2024, 9, 29))       # Sunday, worked before National Day (调休)
    assert calendar.is_working_day(date(2024, 10, 12))      # Saturday, worked after it
    assert not calendar.is_working_day(date(2024, 10, 3))   # the holiday week
    # Received on Friday 27 Sep: Sunday 29 and Monday 30 are the two working days.
    assert calendar.add_working_days(date(2024, 9, 27), 2) == date(2024, 9, 30)
    # Received on Monday 30 Sep: the next working days are 8 and 9 October.
    assert calendar.add_working_days(date(2024, 9, 30), 2) == date(2024, 10, 9)
    # Received during the holiday: counting starts on the first working day after it.
    assert calendar.add_working_days(date(2024, 10, 2), 0) == date(2024, 10, 8)


@pytest.mark.parametrize("year, holiday, make_up", [
    (2024, date(2024, 2, 12), date(2024, 2, 4)),     # Spring Festival; Sunday 4 Feb worked
    (2025, date(2025, 5, 2), date(2025, 4, 27)),     # Labour Day; Sunday 27 Apr worked
    (2026, date(2026, 10, 6), date(2026, 10, 10)),   # National Day; Saturday 10 Oct worked
])
def test_china_is_covered_2024_to_2026(year, holiday, make_up):
    calendar = china()
    assert not calendar.is_working_day(holiday) and calendar.is_working_day(make_up)
    assert calendar.missing_years([year]) == []


def test_a_year_china_has_not_announced_counts_monday_to_friday_and_says_so():
    calendar = china()
    assert calendar.missing_years([2026, 2099]) == [2099]
    assert calendar.add_working_days(date(2099, 1, 2), 1) == date(2099, 1, 5)   # Friday -> Monday


def test_other_countries_and_company_closing_days():
    germany = WorkingCalendar("DE")
    assert not germany.is_working_day(date(2024, 10, 3))    # Tag der Deutschen Einheit
    assert germany.add_working_days(date(2024, 10, 2), 1) == date(2024, 10, 4)
    weekdays = WorkingCalendar("none", [date(2024, 8, 5), date(2024, 8, 6)])
    assert weekdays.add_working_days(date(2024, 8, 2), 1) == date(2024, 8, 7)   # Fri; Mon-Tue shut


def test_the_workspace_says_whose_calendar_counts(tmp_path, monkeypatch):
    chinese = Workspace.open(create(tmp_path / "zh", company="华南精密制造有限公司", lang="zh").root)
    open_store(chinese)   # company settings, [calendar] among them, live in the store
    assert calendar_for(chinese.settings).country == "CN"
    assert reply_deadlines([datetime(2024, 9, 30, 10, 0)], chinese.settings) == [date(2024, 10, 9)]
    english = Workspace.open(create(tmp_path / "en", company="Test Co.", lang="en").root)
    assert calendar_for(english.settings).country == "none"
    assert reply_deadlines([datetime(2024, 9, 30, 10, 0)], english.settings) == [date(2024, 10, 2)]
    config_set(english, "calendar.closing_days", "2024-10-01, 2024-10-02")
    assert reply_deadlines([datetime(2024, 9, 30, 10, 0)], english.settings) == [date(2024, 10, 4)]
    config_set(english, "calendar.country", "cn")
    reopened = Workspace.open(english.root)
    open_store(reopened)
    assert reopened.settings.calendar.country == "CN"
    with pytest.raises(CsatError, match="calendar.country"):
        config_set(english, "calendar.country", "Atlantis")


def test_a_complaint_in_a_chinese_workspace_is_due_after_the_holiday(tmp_path, monkeypatch, cli):
    root = create(tmp_path / "ws", company="华南精密制造有限公司", lang="zh").root
    monkeypatch.setenv("CSAT_HOME", str(root))
    monkeypatch.delenv("CSAT_LANG", raising=False)
    assert cli("customer", "add", "C-001", "--name", "深圳客户", "--email", "a@b.example").exit_code == 0
    added = cli("feedback", "add", "C-001", "--kind", "质量", "--channel", "电话", "--text", "外壳开裂",
                "--received", "2024-09-30 10:00", "--format", "json")
    assert added.exit_code == 0, added
    assert json.loads(added.stdout)["reply_due"] == "2024-10-09"
    shown = json.loads(cli("feedback", "show", "1", "--format", "json").stdout)
    assert shown["reply_due"] == "2024-10-09" and shown["overdue"] is True


def test_doctor_says_when_china_has_not_announced_the_year(tmp_path):
    from csat.doctor import _calendar

    chinese = Workspace.open(create(tmp_path / "zh", company="华南精密制造有限公司", lang="zh").root)
    assert _calendar(chinese, date(2025, 6, 1)).status == "ok"
    late = _calendar(chinese, date(2099, 12, 1))
    assert late.status == "warn" and "2099, 2100" in late.detail and "pip install -U chinesecalendar" in late.detail
    english = Workspace.open(create(tmp_path / "en", company="Test Co.", lang="en").root)
    assert _calendar(english, date(2099, 12, 1)).status == "ok"
