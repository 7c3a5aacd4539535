"""`csat report` in every format, written by the real command and read back."""

from __future__ import annotations

import json
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from openpyxl import load_workbook

from report_fixtures import FORMULA_COMMENT, RESPONSE_COMMENT, seed, standard

ITEM_KEYS = {"code", "label", "n", "mean", "sd", "median", "min", "max", "ci_low", "ci_high", "below_share",
             "top_box_share", "previous_mean", "change", "status", "reason"}
TOP_KEYS = {"period", "action_limit", "invited", "responses", "response_rate", "csi", "items", "customers", "drivers"}


@pytest.fixture
def seeded(store):
    standard(store)
    return store


def _no_nan(text: str):
    def refuse(constant):
        raise AssertionError(f"JSON holds {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_contract(seeded, cli):
    result = cli("report", "--half", "2024H2", "--format", "json")
    assert result.exit_code == 0, result
    data = _no_nan(result.stdout)
    assert TOP_KEYS <= set(data)
    assert data["period"] == "2024H2" and data["csi"] > 0
    for item in data["items"]:
        assert ITEM_KEYS <= set(item)
    communication = next(item for item in data["items"] if item["code"] == "communication")
    assert communication["mean"] is None and communication["status"] == "no_data"
    assert {"code", "name", "score", "n_answers"} <= set(data["customers"][0])
    assert {"code", "label", "correlation", "n", "mean", "status"} <= set(data["drivers"][0])
    quality = next(item for item in data["items"] if item["code"] == "quality")
    assert quality["sd"] == 2.581988897471611  # unrounded
    assert "answers" not in data and "trend" not in data


def test_table_is_the_default(seeded, cli):
    result = cli("report")
    assert result.exit_code == 0, result
    for text in ("2024H2", "CSI", "88.9", "On-time delivery", "below", "at risk", "mean 83.5 < 85", "↓", "80.0%"):
        assert text in result.stdout, text


def test_fail_on_flag_exits_3(seeded, cli):
    result = cli("report", "--fail-on-flag", "--format", "json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["period"] == "2024H2"  # the report is still written
    assert "3 item(s)" in result.stderr


def test_fail_on_flag_passes_when_all_is_well(store, cli):
    seed(store, {"2024H1": [{"customer": "C-001", "scores": {"quality": 95, "delivery": 96}}]})
    result = cli("report", "--fail-on-flag")
    assert result.exit_code == 0, result


def test_markdown(seeded, cli, tmp_path):
    target = tmp_path / "minutes.md"
    result = cli("report", "--format", "md", "-o", target)
    assert result.exit_code == 0, result
    assert result.stdout == "" and "Wrote" in result.stderr
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Customer satisfaction survey 2024H2")
    assert "| On-time delivery | 4\\* | 83.5 |" in text
    assert "\\* fewer than 5 answers: read the mean and its interval with care." in text
    assert "- **On-time delivery** (below): mean 83.5 \\< 85" in text
    assert "\\<script\\>" in text and "<script>" not in text
    assert "| Product quality | 90.0 | 91.0 | 92.0 | 93.0 |" in text  # the trend table
    lines = [line for line in text.splitlines() if line.startswith("| C-004")]
    assert lines == ["| C-004 | -Minus & \\<Sons\\> | 90.6 | 5 |"]


def test_markdown_in_chinese(seeded, cli):
    text = cli("report", "--format", "md", "--lang", "zh").stdout
    assert text.startswith("# 2024H2 顾客满意度调查统计分析")
    assert "## 需采取措施的项目" in text
    assert "**交货准时** (低于行动限): 均值 83.5 \\< 85" in text


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_and_escaped(seeded, cli, tmp_path):
    target = tmp_path / "review.html"
    assert cli("report", "--format", "html", "-o", target).exit_code == 0
    document = target.read_text(encoding="utf-8")
    parser = _Collector()
    parser.feed(document)
    tags = [tag for tag, _ in parser.tags]
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    assert not any("src" in attrs or attrs.get("href", "").startswith("http") for _, attrs in parser.tags)
    assert tags.count("svg") == 8 and tags.count("polyline") >= 16  # a mean and a limit line per item
    assert "&lt;script&gt;alert" in document
    headings = [line for line in document.splitlines() if line.startswith("<h2>")]
    assert headings == ["<h2>Summary</h2>", "<h2>Items needing action</h2>", "<h2>Items</h2>", "<h2>Trend</h2>",
                        "<h2>Key drivers</h2>", "<h2>Lowest-scoring customers</h2>", "<h2>Comments</h2>"]
    assert RESPONSE_COMMENT in "".join(parser.text)  # shown as text
    assert "-Minus &amp; &lt;Sons&gt;" in document
    text = " ".join(parser.text)
    for expected in ("mean 83.5 < 85", "falling 3.8 points a round, projected 84.7 next round", "Technical support",
                     "Lowest-scoring customers", "@media print"):
        assert expected in text or expected in document
    for svg in document.split("<svg")[1:]:
        ElementTree.fromstring("<svg" + svg.split("</svg>")[0] + "</svg>")  # well-formed SVG


def _sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")}


def test_xlsx_workbook(seeded, cli, tmp_path):
    result = cli("report", "--format", "xlsx")
    assert result.exit_code == 0, result
    path = tmp_path / "report-2024H2.xlsx"  # the default name, in the current folder
    assert path.is_file() and "Wrote report-2024H2.xlsx" in result.stderr
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Trend", "Customers", "Answers", "Comments"]
    summary = workbook["Summary"]
    rows = [[cell.value for cell in row] for row in summary.iter_rows()]
    header = next(index for index, row in enumerate(rows) if row[0] == "Code")
    delivery = next(row for row in rows[header:] if row[0] == "delivery")
    assert delivery[3] == 83.5 and delivery[15] == "below" and delivery[16] == "mean 83.5 < 85; only 4 answers"
    rules = [rule for cf in summary.conditional_formatting for rule in cf.rules]
    assert any('="below"' in rule.formula[0] for rule in rules)
    trend = workbook["Trend"]
    assert len(trend._charts) == 8
    xml = _sheet_xml(path)
    charts = [text for name, text in xml.items() if name.startswith("xl/charts/chart")]
    assert len(charts) == 8
    assert all(text.count("<ser>") == 2 and "<lineChart>" in text and "<strRef>" in text and 'prstDash val="dash"' in text for text in charts)
    customers = [[cell.value for cell in row] for row in workbook["Customers"].iter_rows(min_row=2)]
    assert customers[0][0] == "C-001" and customers[-1][1] == "-Minus & <Sons>"
    answers = workbook["Answers"]
    assert answers.max_row == 5 and answers.cell(1, 5).value == "Product quality"
    comments = [[cell.value for cell in row] for row in workbook["Comments"].iter_rows(min_row=2)]
    assert [FORMULA_COMMENT, RESPONSE_COMMENT] == sorted(row[4] for row in comments)
    # Text that looks like a formula is stored as text: no <f> element anywhere.
    assert not any("<f>" in text or "<f " in text for name, text in xml.items() if name.startswith("xl/worksheets/"))


def test_xlsx_keeps_hostile_text_as_text(store, cli, tmp_path):
    customers = [("C-001", "+cmd|' /C calc'!A0", "en"), ("C-002", "@SUM(1+1)", "en")]
    nul = "\x00" if store.is_sqlite else ""  # PostgreSQL text cannot hold NUL at all
    plan = {"2024H1": [
        {"customer": "C-001", "scores": {"quality": 80}, "comment": f"-2+3 bell\x07 and NUL{nul} inside",
         "respondent": "=1+1"},
        {"customer": "C-002", "scores": {"quality": 90}, "item_comments": {"quality": "\t=cmd"}},
    ]}
    seed(store, plan, customers=customers)
    assert cli("report", "-o", tmp_path / "r.xlsx").exit_code == 0
    workbook = load_workbook(tmp_path / "r.xlsx")
    answers = [[cell.value for cell in row] for row in workbook["Answers"].iter_rows(min_row=2)]
    assert answers[0][:3] == ["C-001", "+cmd|' /C calc'!A0", "=1+1"]
    # control characters no xlsx can hold are shown as their escapes (as on the terminal), not dropped
    assert answers[0][-1] == ("-2+3 bell\\x07 and NUL\\x00 inside" if nul else "-2+3 bell\\x07 and NUL inside")
    assert answers[1][1] == "@SUM(1+1)"
    assert "=cmd" in [row[4] for row in workbook["Comments"].iter_rows(min_row=2, values_only=True)]
    xml = _sheet_xml(tmp_path / "r.xlsx")
    assert not any("<f>" in text or "<f " in text for name, text in xml.items() if name.startswith("xl/worksheets/"))


def test_xlsx_in_chinese(seeded, cli, tmp_path):
    assert cli("report", "-f", "xlsx", "--lang", "zh", "-o", tmp_path / "zh.xlsx").exit_code == 0
    workbook = load_workbook(tmp_path / "zh.xlsx")
    assert workbook.sheetnames[0] == "概况"
    values = [cell.value for row in workbook["概况"].iter_rows() for cell in row]
    assert "交货准时" in values and "低于行动限" in values


def test_format_follows_the_output_file_name(seeded, cli, tmp_path):
    for name, check in (("review.html", "<!DOCTYPE html>"), ("r.json", '"period": "2024H2"'), ("m.md", "# Customer")):
        assert cli("report", "-o", tmp_path / name).exit_code == 0
        assert check in (tmp_path / name).read_text(encoding="utf-8")
    assert cli("report", "-o", tmp_path / "book.xlsx").exit_code == 0
    assert load_workbook(tmp_path / "book.xlsx").sheetnames[0] == "Summary"
    assert cli("report", "-o", tmp_path / "plain.txt").exit_code == 0
    assert "On-time delivery" in (tmp_path / "plain.txt").read_text(encoding="utf-8")
    assert cli("report", "-f", "json", "-o", tmp_path / "forced.md").exit_code == 0
    assert json.loads((tmp_path / "forced.md").read_text(encoding="utf-8"))["period"] == "2024H2"


def test_trend_side_by_side(seeded, cli, tmp_path):
    table = cli("report", "--trend")
    assert table.exit_code == 0, table
    assert "2023H1" in table.stdout and "2024H2" in table.stdout and "n=4" in table.stdout
    data = _no_nan(cli("report", "--trend", "-f", "json").stdout)
    assert data["periods"] == ["2023H1", "2023H2", "2024H1", "2024H2"]
    delivery = next(item for item in data["items"] if item["code"] == "delivery")
    assert [point["status"] for point in delivery["series"]] == ["ok", "at_risk", "at_risk", "below"]
    assert "| On-time delivery | 88.0 |" in cli("report", "--trend", "-f", "md").stdout
    assert cli("report", "--trend", "-f", "html", "-o", tmp_path / "t.html").exit_code == 0
    assert (tmp_path / "t.html").read_text(encoding="utf-8").count("<svg") == 8
    assert cli("report", "--trend", "-f", "xlsx", "-o", tmp_path / "t.xlsx").exit_code == 0
    assert len(load_workbook(tmp_path / "t.xlsx")["Trend"]._charts) == 8
    assert cli("report", "--trend", "--fail-on-flag").exit_code == 3


def test_round_without_responses_says_so(seeded, store, cli):
    seed(store, {"2025H1": []})
    result = cli("report", "--half", "2025H1")
    assert result.exit_code == 0, result
    assert "The 2025H1 round has no responses yet (5 invited): nothing to score." in result.stderr
    assert _no_nan(cli("report", "--half", "2025H1", "-f", "json").stdout)["responses"] == 0
    assert "no responses yet" in cli("report", "--half", "2025H1", "-f", "html").stdout


def test_user_mistakes(seeded, cli, tmp_path):
    bad = cli("report", "--half", "2024H3")
    assert bad.exit_code == 2 and "YYYYH1 or YYYYH2" in bad.stderr
    missing = cli("report", "--half", "2030H1")
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: no survey round for 2030H1")
    both = cli("report", "--trend", "--half", "2024H1")
    assert both.exit_code == 2
    nowhere = cli("report", "-f", "md", "-o", tmp_path / "no" / "such" / "folder.md")
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.stderr
    assert "Traceback" not in bad.stderr + missing.stderr + nowhere.stderr


def test_empty_store_is_one_line(workspace, cli):
    result = cli("report")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no survey rounds yet")


def test_help(cli):
    result = cli("report", "--help")
    assert result.exit_code == 0
    assert "Example: csat report --half 2024H1" in result.stdout
    for option in ("--half", "--format", "--output", "--lang", "--trend", "--fail-on-flag"):
        assert option in result.stdout
