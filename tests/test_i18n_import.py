"""Importing answers speaks the workspace's language: every problem line of a sheet, a form or a
typed response, the choices a choice item offers, dates that are none, and the CAPA form's words.

CSAT_LANG=zh stands for a Chinese workspace here (it overrides company.lang for one shell);
what is checked is what the quality manager reads on stderr, with tests/prose.py.
"""

from __future__ import annotations

import json

from import_fixtures import write_sheet_csv
from prose import english_lines

from csat.i18n import use_language
from csat.importer.validate import ItemRule, parse_date

CHOICES = json.dumps([{"label_en": "Satisfied", "label_zh": "满意", "points": 80},
                      {"label_en": "Dissatisfied", "label_zh": "不满意", "points": 40}])


def test_a_choice_item_offers_its_labels_in_the_staff_language():
    rule = ItemRule("overall", 1, 0, 100, CHOICES, "Overall", "总体满意度")
    with use_language("zh"):
        assert rule.choice_list() == "满意（80）、不满意（40）"
    with use_language("en"):
        assert rule.choice_list() == "Satisfied (80), Dissatisfied (40)"


def test_a_date_that_is_none_is_said_in_the_staff_language():
    with use_language("zh"):
        assert parse_date("31/02/2024", "dmy")[1] == "日期 '31/02/2024' 不是有效日期：没有这一天或这个月"
        assert "可能是日/月" in parse_date("10/07/2024")[1]
    with use_language("en"):   # Python's own English reason is no longer passed on
        assert parse_date("31/02/2024", "dmy")[1] == "date '31/02/2024' is not a date: no such day or month"


def test_sheet_problems_in_a_chinese_workspace_are_chinese(workspace, cli, customers_csv, tmp_path, monkeypatch):
    assert cli("customer", "import", customers_csv).exit_code == 0
    monkeypatch.setenv("CSAT_LANG", "zh")
    no_customer = write_sheet_csv(tmp_path / "no-customer.csv", ["quality", "delivery"], [["90", "80"]])
    no_period = write_sheet_csv(tmp_path / "no-period.csv", ["customer", "quality"], [["C-001", "90"]])
    twice = write_sheet_csv(tmp_path / "twice.csv", ["customer", "quality", "产品质量"], [["C-001", "90", "80"]])
    for sheet, expected in ((no_customer, "没有客户列"), (no_period, "没有期间"), (twice, "项目 quality 又有一列")):
        result = cli("import", sheet)
        assert result.exit_code == 1 and expected in result.stderr, result
        assert english_lines(result.stderr, [sheet.name, "customer code"]) == [], result.stderr   # headers are data


def test_typed_answers_refused_in_a_chinese_workspace_are_chinese(workspace, cli, customers_csv, monkeypatch):
    assert cli("customer", "import", customers_csv).exit_code == 0
    monkeypatch.setenv("CSAT_LANG", "zh")
    result = cli("response", "add", "C-001", "--half", "2024H1", "--score", "qualität=90", "--score", "delivery=80",
                 "--score", "delivery=70", "--date", "31/02/2024")
    assert result.exit_code == 1, result
    assert "未知项目 'qualität'" in result.stderr and "项目 delivery 给了两次" in result.stderr
    assert "没有这一天" in result.stderr
    assert english_lines(result.stderr, ["qualität"]) == [], result.stderr


def test_the_capa_form_words_come_from_the_catalog():
    from csat.capa.form import label

    assert label("title", "zh") == "纠正和预防措施报告"
    assert label("title", "en") == "Corrective and Preventive Action Report"
    assert label("verification_n", "zh").format(n=2) == "第2次验证"


def test_a_response_shows_its_items_by_their_chinese_labels_in_a_chinese_workspace(workspace, cli, customers_csv,
                                                                                   monkeypatch):
    assert cli("customer", "import", customers_csv).exit_code == 0
    assert cli("response", "add", "C-001", "--half", "2024H1", "--score", "quality=90").exit_code == 0
    listed = json.loads(cli("response", "list", "--format", "json").stdout)
    shown_en = cli("response", "show", str(listed[0]["id"]))
    monkeypatch.setenv("CSAT_LANG", "zh")
    shown_zh = cli("response", "show", str(listed[0]["id"]))
    assert "Product quality" in shown_en.stdout and "产品质量" not in shown_en.stdout
    assert "产品质量" in shown_zh.stdout and "Product quality" not in shown_zh.stdout
    record = json.loads(cli("response", "show", str(listed[0]["id"]), "--format", "json").stdout)
    quality = next(answer for answer in record["answers"] if answer["item"] == "quality")
    assert (quality["label"], quality["label_zh"]) == ("Product quality", "产品质量")   # JSON keeps both
