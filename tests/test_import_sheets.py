"""Consolidated sheets: xlsx and csv (UTF-8, GBK), headers by code or label, every problem named by cell."""

from datetime import date
from pathlib import Path

import pytest
from import_fixtures import (
    count_rows,
    import_customers,
    open_round_with_invitations,
    stored_answers,
    write_sheet_csv,
    write_sheet_xlsx,
)

from csat.importer.run import run_import
from csat.store.auditlog import entries

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def customers(store, customers_csv):
    import_customers(store, customers_csv)


def test_example_sheet_imports(workspace, store, customers):
    report = run_import(workspace, [EXAMPLES / "responses-2024H1.csv"], half="2024H1")
    assert report.ok, report.problems
    assert (report.responses_new, report.answers_stored) == (8, 64)
    assert report.record()["rounds_opened"] == ["2024H1"]
    assert report.response_rate is None                      # nobody was invited: no rate, as in `csat report`
    assert report.record()["rounds"][0]["customers_answered"] == 8
    stored = stored_answers(store, "2024H1")
    assert stored[("C-001", "Anna Becker")]["after_sales"] == (None, True, "N/A", "")
    assert stored[("C-002", "James Hall")]["complaint_handling"] == (None, False, "", "")
    assert stored[("C-003", "李伟")]["quality"] == (95.0, False, "", "")
    with store.read_session() as session:
        from sqlmodel import select

        from csat.store.models import Response

        comments = set(session.exec(select(Response.comment)).all())
    assert "产品质量稳定，希望缩短交货周期。" in comments
    again = run_import(workspace, [EXAMPLES / "responses-2024H1.csv"], half="2024H1")
    assert (again.responses_new, again.responses_unchanged, again.answers_stored) == (0, 8, 0)


def test_xlsx_with_labels_dates_decimals_and_a_period_column(workspace, store, customers, tmp_path):
    path = write_sheet_xlsx(tmp_path / "汇总.xlsx",
                            ["客户代码", "期间", "日期", "产品质量", "On-time delivery", "price", "备注"],
                            [["C-001", "2024H2", date(2024, 12, 1), 91.5, 80, "不适用", "良好"],
                             ["C-002", "2024h2", "2024/12/3", 77, None, 60, None]])
    report = run_import(workspace, [path])
    assert report.ok, report.problems
    assert report.period == "2024H2"
    stored = stored_answers(store, "2024H2")
    assert stored[("C-001", "")] == {"quality": (91.5, False, "", ""), "delivery": (80.0, False, "", ""),
                                     "price": (None, True, "不适用", "")}
    assert stored[("C-002", "")]["delivery"] == (None, False, "", "")


def test_csv_gbk_with_chinese_headers(workspace, store, customers, tmp_path):
    path = write_sheet_csv(tmp_path / "gbk.csv", ["客户名称", "产品质量", "交货准时", "意见"],
                           [["深圳华科电子有限公司", 90, 85, "希望加快交货"], ["Acme Motors GmbH", 70, "N/A", ""]],
                           encoding="gbk")
    assert "产品质量".encode("gbk") in path.read_bytes()
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok, report.problems
    stored = stored_answers(store, "2024H1")
    assert stored[("C-003", "")]["quality"] == (90.0, False, "", "")
    assert stored[("C-001", "")]["delivery"] == (None, True, "N/A", "")


def test_csv_utf8_without_bom(workspace, store, customers, tmp_path):
    path = write_sheet_csv(tmp_path / "plain.csv", ["customer", "quality", "respondent"],
                           [["C-004", "88", "王芳"], ["C-004", "72", "Li"]], encoding="utf-8")
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok, report.problems
    assert set(stored_answers(store, "2024H1")) == {("C-004", "王芳"), ("C-004", "Li")}


def test_every_problem_is_named_by_cell_and_nothing_is_written(workspace, store, customers, tmp_path):
    path = write_sheet_xlsx(tmp_path / "results.xlsx", ["customer", "period", "quality", "delivery"], [
        ["C-001", "2024H1", 90, 80],
        ["C-99", "2024H1", 90, 80],
        ["C-002", "2024H1", 120, 80],
        ["C-003", "2024H3", 90, 80],
        ["C-001", "2024H1", 91, 80],
        [None, "2024H1", 90, 80],
    ])
    report = run_import(workspace, [path])
    assert report.problems == [
        "results.xlsx!Responses!A3: unknown customer 'C-99'",
        "results.xlsx!Responses!C4: score 120 out of 0-100",
        "results.xlsx!Responses!B5: period '2024H3' is not a half year; expected YYYYH1 or YYYYH2, e.g. 2024H1",
        "results.xlsx!Responses!A7: no customer given",
        "results.xlsx!Responses!A6: same customer C-001 twice in one sheet, first in row 2",
    ]
    assert count_rows(store, "response") == 0 and count_rows(store, "survey_round") == 0


CODES = ["C-001", "C-002", "C-003", "C-004", "C-005", "C-007", "C-008", "C-009", "C-010"]
NAMES = ["Anna Becker", "James Hall", "李伟", "王芳", "Carlos Ruiz", "Priya Nair", "张敏", "Liam O'Brien", "Sofia Rossi"]


@pytest.mark.parametrize("header, row, expected", [
    # A misspelt item column: its answers would be dropped.
    (["customer", "period", "quality", "deliverry"], lambda i: [CODES[i % 9], "2024H1", 90, 80],
     "D1: unknown column 'deliverry': did you mean 'delivery'?"),
    # A misspelt code column: the customers were looked up by the contact names (one error per row).
    (["custmer", "name", "period", "quality"], lambda i: [CODES[i % 9], NAMES[i % 9], "2024H1", 90],
     "A1: unknown column 'custmer': did you mean 'customer'?"),
    # A misspelt respondent column: two respondents of a customer became the same customer twice.
    (["customer", "respondant", "period", "quality"], lambda i: [CODES[i % 9], f"R{i}", "2024H1", 90],
     "B1: unknown column 'respondant': did you mean 'respondent'?"),
    # A column csat has no use for, and nothing close: what it could be is named.
    (["customer", "Plant", "period", "quality"], lambda i: [CODES[i % 9], "Shenzhen", "2024H1", 90],
     "B1: unknown column 'Plant': name an item (its code or label), or customer, period, date, respondent, "
     "title or comment"),
])
def test_a_header_typo_is_one_problem_before_any_row_check(workspace, store, customers, cli, tmp_path,
                                                           header, row, expected):
    path = write_sheet_xlsx(tmp_path / "sheet.xlsx", header, [row(i) for i in range(36)])
    report = run_import(workspace, [path])
    assert report.problems == [f"sheet.xlsx!Responses!{expected}"]
    assert count_rows(store, "response") == 0
    result = cli("import", path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"sheet.xlsx!Responses!{expected}", "Error: 1 problem found, nothing written"]


def test_a_column_with_values_but_no_header_is_refused(workspace, store, customers, tmp_path):
    # The header row is one cell short: the delivery scores in D would be dropped without a word.
    path = write_sheet_csv(tmp_path / "short.csv", ["customer", "period", "quality", ""],
                           [["C-001", "2024H1", 90, 80], ["C-002", "2024H1", 85, None]])
    assert run_import(workspace, [path]).problems == [
        "short.csv!short!D1: column D has values (first in row 2) but no header; name it (an item's code or label, "
        "or customer, period, date, respondent, title or comment) or delete the column"]
    assert count_rows(store, "response") == 0


def test_one_bad_file_stops_all_files(workspace, store, customers, tmp_path):
    good = write_sheet_csv(tmp_path / "good.csv", ["customer", "quality"], [["C-001", 90]])
    bad = write_sheet_csv(tmp_path / "bad.csv", ["customer", "quality"], [["C-002", 101]])
    report = run_import(workspace, [good, bad], half="2024H1")
    assert report.problems == ["bad.csv!bad!B2: score 101 out of 0-100"]
    assert (report.responses_new, report.answers_stored) == (0, 0)
    assert count_rows(store, "response") == 0


def test_no_period_anywhere(workspace, store, customers, tmp_path):
    path = write_sheet_csv(tmp_path / "p.csv", ["customer", "quality"], [["C-001", 90]])
    assert run_import(workspace, [path]).problems == [
        "p.csv!p!A1: no period: add a period column or pass --half, e.g. --half 2024H1"]


def test_period_cell_must_agree_with_half(workspace, store, customers, tmp_path):
    path = write_sheet_csv(tmp_path / "p.csv", ["customer", "period", "quality"], [["C-001", "2024H2", 90]])
    assert run_import(workspace, [path], half="2024H1").problems == [
        "p.csv!p!B2: period 2024H2 differs from --half 2024H1"]


def test_unique_name_accepted_ambiguous_name_refused(workspace, store, customers, tmp_path):
    from csat.registry import customers as customer_module

    with store.session() as session:
        customer_module.add(session, code="C-011", name="Twin Co")
        customer_module.add(session, code="C-012", name="Twin Co")
    path = write_sheet_csv(tmp_path / "names.csv", ["customer", "quality"],
                           [["Northwind Pumps Ltd", 80], ["twin co", 70], ["c-005", 60]])
    report = run_import(workspace, [path], half="2024H1")
    assert report.problems == ["names.csv!names!A3: customer 'twin co' matches several customers (C-011, C-012); "
                               "use the code"]
    fixed = write_sheet_csv(tmp_path / "names.csv", ["customer", "quality"],
                            [["Northwind Pumps Ltd", 80], ["c-005", 60]])
    assert run_import(workspace, [fixed], half="2024H1").ok
    assert set(stored_answers(store, "2024H1")) == {("C-002", ""), ("C-005", "")}


def test_labelled_choices(workspace, store, customers, tmp_path, cli):
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0
    path = write_sheet_csv(tmp_path / "choices.csv", ["customer", "overall", "packaging"],
                           [["C-001", "Very satisfied", 70], ["C-002", "满意", 75], ["C-003", "60", None]])
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok, report.problems
    stored = stored_answers(store, "2024H1")
    assert stored[("C-001", "")]["overall"] == (100.0, False, "Very satisfied", "")
    assert stored[("C-002", "")]["overall"] == (80.0, False, "满意", "")
    assert stored[("C-003", "")]["overall"] == (60.0, False, "", "")
    bad = write_sheet_csv(tmp_path / "bad.csv", ["customer", "overall"], [["C-004", "Good"], ["C-005", 70]])
    assert run_import(workspace, [bad], half="2024H1").problems == [
        "bad.csv!bad!B2: 'Good' is not a choice for overall: Very satisfied (100), Satisfied (80), Neutral (60), "
        "Dissatisfied (40), Very dissatisfied (20)",
        "bad.csv!bad!B3: score 70 is not a choice for overall: Very satisfied (100), Satisfied (80), Neutral (60), "
        "Dissatisfied (40), Very dissatisfied (20)",
    ]


def test_closed_round_is_reported_once(workspace, store, customers, tmp_path):
    open_round_with_invitations(store, "2024H1", codes=[])
    with store.session() as session:
        from csat.survey.rounds import get_round

        get_round(session, "2024H1").status = "closed"
    path = write_sheet_csv(tmp_path / "c.csv", ["customer", "quality"], [["C-001", 90], ["C-002", 80]])
    assert run_import(workspace, [path], half="2024H1").problems == [
        "c.csv!c!A2: the 2024H1 round is closed; reopen it with `csat survey open --half 2024H1 --reopen` "
        "to import answers"]


def test_answers_go_to_the_round_template_and_mark_invitations(workspace, store, customers, tmp_path):
    open_round_with_invitations(store, "2024H1", codes=["C-001", "C-002"])
    path = write_sheet_csv(tmp_path / "r.csv", ["customer", "quality"], [["C-001", 90], ["C-003", 80]])
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok
    assert report.record()["rounds"] == [{"period": "2024H1", "opened": False, "invited": 2, "responded": 1,
                                          "customers_answered": 2, "response_rate": 0.5, "closed": False}]


def test_conflict_then_replace(workspace, store, customers, tmp_path):
    open_round_with_invitations(store, "2024H1", codes=[])  # an import opens an ended half's round closed
    first = write_sheet_csv(tmp_path / "r.csv", ["customer", "quality", "comment"], [["C-001", 90, "ok"]])
    assert run_import(workspace, [first], half="2024H1").ok
    second = write_sheet_csv(tmp_path / "r2.csv", ["customer", "quality", "comment"], [["C-001", 60, "worse"]])
    conflict = run_import(workspace, [second], half="2024H1")
    assert conflict.problems == [f"r2.csv!r2!A2: C-001 (2024H1) was already imported with different answers "
                                 f"(from {first}); use --replace --reason TEXT to overwrite"]
    replaced = run_import(workspace, [second], half="2024H1", replace=True)
    assert (replaced.responses_replaced, replaced.answers_stored) == (1, 1)
    assert stored_answers(store, "2024H1")[("C-001", "")]["quality"] == (60.0, False, "", "")
    with store.read_session() as session:
        trail = entries(session, table="response", key="2024H1/C-001")
    assert trail[0]["changes"]["old"]["comment"] == "ok"
    assert trail[0]["changes"]["old"]["answers"] == {"quality": [90.0, False, "", ""]}


def test_dry_run_reports_and_writes_nothing(workspace, store, customers):
    report = run_import(workspace, [EXAMPLES / "responses-2024H1.csv"], half="2024H1", dry_run=True)
    assert report.ok and report.dry_run
    assert (report.responses_new, report.answers_stored) == (8, 64)
    assert report.record()["rounds_opened"] == ["2024H1"]
    assert count_rows(store, "response") == 0 and count_rows(store, "survey_round") == 0


def test_xlsx_content_with_a_csv_name_is_read_as_a_workbook(workspace, store, customers, tmp_path):
    path = write_sheet_xlsx(tmp_path / "disguised.csv", ["customer", "quality"], [["C-001", 90]])
    report = run_import(workspace, [path], half="2024H1")
    assert report.ok, report.problems
    assert report.sources[0].kind == "sheet (xlsx)"


def test_item_outside_the_round_is_refused(workspace, store, customers, tmp_path, cli):
    open_round_with_invitations(store, "2024H1", codes=[])
    assert cli("items", "load", EXAMPLES / "items.toml").exit_code == 0   # adds packaging after the round opened
    path = write_sheet_csv(tmp_path / "late.csv", ["customer", "quality", "packaging"], [["C-001", 90, 80]])
    assert run_import(workspace, [path], half="2024H1").problems == [
        "late.csv!late!C2: item packaging is not part of the 2024H1 round"]
