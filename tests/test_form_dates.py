"""Issue #20: dates respondents type on returned forms are read, or kept as written; never a refused form."""

import json
from datetime import date

import pytest
from import_fixtures import import_customers, make_filled_form, open_round_with_invitations

from csat.config import Workspace
from csat.workspace import config_set
from csat.importer.run import run_import
from csat.importer.validate import parse_date

SCORES = {"quality": 92, "delivery": 78, "price": 80, "responsiveness": 88, "tech_support": 90,
          "after_sales": 85, "communication": 85, "complaint_handling": 87}


@pytest.mark.parametrize("written, order, day", [
    ("2024/7/10", "auto", date(2024, 7, 10)),
    ("2024年7月10日", "auto", date(2024, 7, 10)),
    ("2024年7月10号", "auto", date(2024, 7, 10)),
    ("２０２４／７／１０", "auto", date(2024, 7, 10)),       # full-width, as a Chinese input method types
    ("2024.7.10", "auto", date(2024, 7, 10)),
    ("25/07/2024", "auto", date(2024, 7, 25)),              # the day tells the order
    ("07/25/2024", "auto", date(2024, 7, 25)),
    ("10/07/2024", "dmy", date(2024, 7, 10)),
    ("10/07/2024", "mdy", date(2024, 10, 7)),
    (45483, "auto", date(2024, 7, 10)),                    # a date cell that lost its format
])
def test_dates_people_type(written, order, day):
    assert parse_date(written, order) == (day, None)


@pytest.mark.parametrize("written, order", [("10/07/2024", "auto"), ("07/25/2024", "dmy"), ("7月上旬", "auto"),
                                            ("2024-02-30", "auto"), (2024, "auto")])
def test_what_is_not_a_date_says_so(written, order):
    day, problem = parse_date(written, order)
    assert day is None and problem and "\n" not in problem


@pytest.fixture
def invited(store, customers_csv):
    import_customers(store, customers_csv)
    return open_round_with_invitations(store, "2024H1")


def _response(cli, code):
    responses = json.loads(cli("response", "list", "--customer", code, "--format", "json").stdout)
    return json.loads(cli("response", "show", str(responses[0]["id"]), "--format", "json").stdout)


def test_a_form_with_a_date_that_is_no_date_is_imported_with_the_date_kept_as_written(workspace, store, invited,
                                                                                     tmp_path, cli, monkeypatch):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-003", invited["C-003"], SCORES, overall="总体满意",
                               respondent="李伟", day="7月上旬")
    report = run_import(workspace, [path])
    assert report.ok, report.problems
    assert report.responses_new == 1
    shown = _response(cli, "C-003")
    assert shown["answered_on"] is None
    assert shown["comment"] == "总体满意\n[date as written: 7月上旬]"
    # The record keeps the marker whatever language imported it; a Chinese reader sees it in Chinese.
    monkeypatch.setenv("CSAT_LANG", "zh")
    chinese = _response(cli, "C-003")
    assert chinese["comment"] == "总体满意\n[日期原文：7月上旬]"
    report = cli("report", "--half", "2024H1", "--format", "json", "--lang", "zh")   # a document: its own language
    assert "[日期原文：7月上旬]" in report.stdout and "date as written" not in report.stdout
    assert "C-003" in cli("survey", "status", "--half", "2024H1", "--format", "csv").stdout


def test_day_month_order_comes_from_the_workspace(workspace, store, invited, tmp_path, cli):
    path, _ = make_filled_form(store, workspace, tmp_path, "C-001", invited["C-001"], SCORES, respondent="Anna",
                               day="10/07/2024")
    config_set(workspace, "forms.date_order", "dmy")
    report = run_import(Workspace.open(workspace.root), [path])
    assert report.ok, report.problems
    shown = _response(cli, "C-001")
    assert (shown["answered_on"], shown["comment"]) == ("2024-07-10", "")


def test_a_consolidated_sheet_reads_day_month_dates_in_the_workspace_order(workspace, store, invited, tmp_path, cli):
    from import_fixtures import write_sheet_csv

    sheet = write_sheet_csv(tmp_path / "summary.csv", ["customer", "date", "quality"],
                            [["C-001", "10/07/2024", 90], ["C-002", "2024年7月11日", 80]])
    refused = run_import(workspace, [sheet], half="2024H1")
    assert not refused.ok and any("may be day/month or month/day" in line for line in refused.problems)
    config_set(workspace, "forms.date_order", "mdy")
    assert run_import(Workspace.open(workspace.root), [sheet], half="2024H1").ok
    assert [_response(cli, code)["answered_on"] for code in ("C-001", "C-002")] == ["2024-10-07", "2024-07-11"]
