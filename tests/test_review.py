"""`csat review`: the management review pack, checked against `csat report` and `csat feedback summary`.

The workspace (tests/review_fixtures.py) has four rounds up to 2024H2, the example feedback log
(2024Q2-Q4) and CAPAs in different states. Every format must show the same numbers as the
report and the quarterly summaries, under the same content hash.
"""

from __future__ import annotations

import json
from datetime import date
from html.parser import HTMLParser

import pytest

from tests.review_fixtures import review_store


@pytest.fixture
def reviewed(workspace, store):
    return review_store(workspace, store)


def ok(result):
    assert result.exit_code == 0, result
    return result


def review_json(cli, *args: str) -> dict:
    return json.loads(ok(cli("review", "--half", "2024H2", "--format", "json", *args)).stdout)


def section(document: dict, key: str) -> dict:
    return next(part for part in document["sections"] if part["key"] == key)


def table(document: dict, key: str, position: int = 0) -> dict:
    return [block for block in section(document, key)["blocks"] if block["kind"] == "table"][position]


def rows_by_first(block: dict) -> dict:
    return {row[0]: row[1:] for row in block["rows"]}


def texts(document: dict, key: str) -> list[str]:
    return [block["text"] for block in section(document, key)["blocks"] if block["kind"] == "paragraph"]


def test_numbers_equal_the_report_and_the_quarterly_summaries(reviewed, cli):
    report = json.loads(ok(cli("report", "--half", "2024H2", "--format", "json")).stdout)
    quarters = [json.loads(ok(cli("feedback", "summary", "--quarter", quarter, "--format", "json")).stdout)
                for quarter in ("2024Q3", "2024Q4")]
    document = review_json(cli)

    assert [part["key"] for part in document["sections"]] == ["survey", "feedback", "capa", "customers", "built_from"]
    figures = rows_by_first(table(document, "survey"))
    assert figures["CSI"] == [report["csi"]]
    assert figures["Previous CSI (2024H1)"] == [report["previous_csi"]]
    assert figures["CSI change"] == [report["csi_change"]]
    assert figures["Response rate (%)"] == [report["response_rate"] * 100]
    assert figures["Responses"] == [report["responses"]] == [4]
    items = table(document, "survey", 1)
    assert [row[0] for row in items["rows"]] == [item["code"] for item in report["items"]]
    for row, item in zip(items["rows"], report["items"]):
        assert row[2:7] == [item["n"], item["mean"], item["ci_low"], item["ci_high"], item["change"]]
        assert row[9] == (item["reason"] or "")
    assert dict((row[0], row[8]) for row in items["rows"])["delivery"] == "below"
    charts = [block for block in section(document, "survey")["blocks"] if block["kind"] == "chart"]
    assert [chart["title"] for chart in charts] == [item["label"] for item in report["items"]]
    delivery = charts[[item["code"] for item in report["items"]].index("delivery")]
    assert delivery["categories"] == ["2023H1", "2023H2", "2024H1", "2024H2"]
    assert delivery["series"][0]["values"] == [88.0, 87.0, 86.0, 83.5]
    assert delivery["series"][0]["limit"] == 85.0

    # The quarterly summaries were recorded by `feedback summary`: the review shows those versions.
    assert texts(document, "feedback")[:2] == [
        f"2024Q{number}: summary version 1 as recorded on {summary['summarised_at'][:16].replace('T', ' ')}."
        for number, summary in zip((3, 4), quarters)]
    quarterly = rows_by_first(table(document, "feedback"))
    assert quarterly["Entries"] == [quarter["total"] for quarter in quarters] == [12, 3]
    assert quarterly["Complaints"] == [quarter["complaints"] for quarter in quarters]
    assert quarterly["Open entries"] == [len(quarter["open"]) for quarter in quarters]
    assert quarterly["Complaints without reply, overdue"] == [len(quarter["overdue"]) for quarter in quarters]
    assert quarterly["Complaints long unresolved"] == [len(quarter["long_unresolved"]) for quarter in quarters]
    assert quarterly["Reply time, median (days)"] == [quarter["reply_days_median"] for quarter in quarters]
    for position, key in enumerate(("by_kind", "by_channel", "by_customer", "by_dept"), start=1):
        counts = table(document, "feedback", position)
        for index, quarter in enumerate(quarters, start=1):
            assert sorted(row[index] for row in counts["rows"] if row[index]) == sorted(quarter[key].values())
        assert sum(row[-1] for row in counts["rows"]) == sum(sum(quarter[key].values()) for quarter in quarters)

    capa = rows_by_first(table(document, "capa"))
    assert capa["Opened in the half"] == [3]
    assert capa["Closed in the half"] == [1]
    assert capa["Verified effective"] == [1]
    assert capa["Verified not effective"] == [1]
    assert capa[f"Overdue on {date.today().isoformat()}"] == [2]
    listing = rows_by_first(table(document, "capa", 1))
    assert sorted(listing) == ["CAPA-2024-002", "CAPA-2024-003", "CAPA-2024-004"]   # 001 was all in 2024H1
    title, source, dept, opened, due, status, verified = listing["CAPA-2024-003"]
    assert title == "On-time delivery below the action limit in the 2024H2 survey"
    assert (source, dept, opened, due, status, verified) == ("Survey item delivery (2024H2)", "Materials Control",
                                                             "2024-11-10", "2024-12-10", "Closed", "Effective 2024-12-01")
    assert listing["CAPA-2024-002"][1] == "Feedback #13, C-003"
    assert listing["CAPA-2024-002"][5] == "Verified, not effective (overdue)"
    assert listing["CAPA-2024-004"][3:5] == ["2024-11-15", "2024-12-15"]

    lowest = table(document, "customers")
    assert [row[:3] for row in lowest["rows"]] == [[customer["code"], customer["name"], customer["score"]]
                                                  for customer in report["customers"] if customer["score"] is not None]
    complaints = table(document, "customers", 1)
    half = {}
    for quarter in quarters:
        for code, count in quarter["complaints_by_customer"].items():
            half[code] = half.get(code, 0) + count
    assert {row[0]: row[2] for row in complaints["rows"]} == half
    assert complaints["rows"][0][:3] == ["C-003", "深圳华科电子有限公司", 4]

    built = document["built_from"]
    assert built["rounds"] == ["2023H1", "2023H2", "2024H1", "2024H2"]
    assert (built["responses"], built["feedback_entries"]) == (4, 15)
    assert built["last_import"] is not None   # the feedback log was imported from a file
    assert document["record_number"] == f"REV-2024H2-{built['content_hash'][:8]}"
    shown = rows_by_first(table(document, "built_from"))
    assert shown["Content hash (SHA-256)"] == [built["content_hash"]]
    assert shown["Record number"] == [document["record_number"]]


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.tags, self.addresses = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.addresses += [value for name, value in attrs if name in ("src", "href", "action", "srcset") and value]

    def handle_data(self, data):
        self.text.append(data)


def test_html_markdown_and_terminal_show_the_same_numbers_and_hash(reviewed, cli, tmp_path):
    from csat.store.models import Customer

    with reviewed.session() as session:   # a customer's name shows in the feedback and complaint tables
        session.add(Customer(code="C-666", name="<script>alert('x')</script> <img src=http://evil.example/x.png>",
                             language="en"))
    ok(cli("feedback", "add", "C-666", "--kind", "quality", "--channel", "email", "--text", "Leaking seal",
           "--received", "2024-12-20 09:00"))
    document = review_json(cli)
    digest = document["built_from"]["content_hash"]
    ok(cli("review", "--half", "2024H2", "-o", tmp_path / "review.html"))
    ok(cli("review", "--half", "2024H2", "-o", tmp_path / "review.md"))
    terminal = ok(cli("review", "--half", "2024H2")).stdout

    page = _Page()
    html = (tmp_path / "review.html").read_text(encoding="utf-8")
    page.feed(html)
    words = " ".join(page.text)
    assert page.addresses == []                       # nothing fetched or linked: one self-contained file
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert page.tags.count("svg") == 8                # a chart per item
    assert "@page" in html and "A4" in html
    markdown = (tmp_path / "review.md").read_text(encoding="utf-8")
    for shown in (words, markdown, terminal):
        assert digest in shown and document["record_number"] in shown
        assert "88.9" in shown and "83.5" in shown     # CSI and the delivery mean, as the report prints them
        assert "Survey results" in shown and "Customers needing attention" in shown
        assert "CAPA-2024-004" in shown and "CAPA-2024-001" not in shown
    assert "<script>" not in html and "&lt;script&gt;" in html and "<img" not in html
    assert "&lt;script&gt;" in markdown and "<script>" not in markdown
    assert "| On-time delivery | 4 | 83.5 |" in markdown.replace("| delivery ", "")
    assert "| Mean | 88.0 | 87.0 | 86.0 | 83.5 |" in markdown   # the chart as a table of values
    assert "mean 83.5 &lt; 85" in markdown                     # angle brackets never become markup on a wiki


def test_the_hash_is_the_same_in_every_format_and_changes_with_an_answer(reviewed, cli, tmp_path):
    from sqlmodel import select

    from csat.store.models import Answer, Item, Response, SurveyRound

    first = review_json(cli)
    again = review_json(cli)
    assert again["built_from"]["content_hash"] == first["built_from"]["content_hash"]
    ok(cli("review", "--half", "2024H2", "-o", tmp_path / "kept.json"))
    kept = json.loads((tmp_path / "kept.json").read_text(encoding="utf-8"))
    assert kept["built_from"]["content_hash"] == first["built_from"]["content_hash"]

    with reviewed.session() as session:
        answer = session.exec(select(Answer).join(Response).join(SurveyRound).join(Item, Item.id == Answer.item_id)
                              .where(SurveyRound.period == "2024H2", Item.code == "quality")).first()
        answer.score = answer.score - 10
        session.add(answer)
    changed = review_json(cli)
    assert changed["built_from"]["content_hash"] != first["built_from"]["content_hash"]
    assert changed["record_number"] != first["record_number"]
    report = json.loads(ok(cli("report", "--half", "2024H2", "--format", "json")).stdout)
    assert rows_by_first(table(changed, "survey"))["CSI"] == [report["csi"]]


def test_a_half_without_round_feedback_or_capa_says_so(reviewed, cli, tmp_path):
    document = json.loads(ok(cli("review", "--half", "2022H2", "--format", "json")).stdout)
    assert texts(document, "survey") == ["No survey round for 2022H2: there are no survey results for this half year."]
    assert texts(document, "feedback")[-1] == "No feedback or complaint was logged in 2022H2."
    assert texts(document, "capa") == ["No CAPA was opened, closed or verified in 2022H2, and none is overdue."] \
        or rows_by_first(table(document, "capa"))["Opened in the half"] == [0]
    assert texts(document, "customers") == ["No customer has a survey score for this half year.",
                                            "No complaint was logged in this half year."]
    assert document["built_from"]["rounds"] == [] and document["built_from"]["responses"] == 0
    for name in ("empty.html", "empty.md"):
        ok(cli("review", "--half", "2022H2", "-o", tmp_path / name))
        assert "2022H2" in (tmp_path / name).read_text(encoding="utf-8")
    assert "No survey round for 2022H2" in ok(cli("review", "--half", "2022H2")).stdout


def test_a_fresh_workspace_reviews_without_failing(workspace, cli):
    document = json.loads(ok(cli("review", "--half", "2024H1", "--format", "json")).stdout)
    assert texts(document, "survey") == ["No survey round for 2024H1: there are no survey results for this half year."]
    assert document["built_from"]["feedback_entries"] == 0


def test_a_round_without_responses_says_so(workspace, store, cli):
    from tests.report_fixtures import seed

    seed(store, {"2024H2": []})
    document = review_json(cli)
    assert texts(document, "survey")[0] == "The 2024H2 round has no responses yet (5 invited): nothing to score."
    assert rows_by_first(table(document, "survey"))["CSI"] == [None]


def test_a_stale_summary_is_shown_as_recorded_and_named_stale(reviewed, cli):
    ok(cli("feedback", "summary", "--quarter", "2024Q3", "--format", "json"))
    ok(cli("feedback", "add", "C-001", "--kind", "quality", "--channel", "phone", "--text", "Late seal kit",
           "--received", "2024-08-01 10:00"))
    document = review_json(cli)
    assert texts(document, "feedback")[0].startswith("2024Q3: summary version 1 as recorded on ")
    assert "entries were added or changed since" in texts(document, "feedback")[0]
    assert rows_by_first(table(document, "feedback"))["Entries"] == [12, 3]   # the record, as made
    assert texts(document, "feedback")[1].startswith("2024Q4 has no recorded summary yet")


def test_a_summary_made_before_records_were_kept_is_computed_and_says_so(reviewed, cli):
    from datetime import datetime

    from csat.store.models import QuarterSummary

    with reviewed.session() as session:   # as 0.7 kept it: counts and date, no figures
        session.add(QuarterSummary(quarter="2024Q3", version=1, summarised_at=datetime(2024, 10, 8, 9, 0),
                                   made_by="qa", total=12, complaints=8, figures=""))
    document = review_json(cli)
    assert texts(document, "feedback")[0] == ("2024Q3 was summarised before csat kept the figures of a summary:"
                                              " its figures are computed now.")
    assert rows_by_first(table(document, "feedback"))["Entries"] == [12, 3]


def test_chinese_pack(reviewed, cli, tmp_path):
    document = review_json(cli, "--lang", "zh")
    assert document["lang"] == "zh"
    assert [part["title"] for part in document["sections"]] == ["调查结果", "客户反馈与投诉", "纠正和预防措施（CAPA）",
                                                                "需关注的客户", "数据来源"]
    items = table(document, "survey", 1)
    assert dict((row[0], row[8]) for row in items["rows"])["delivery"] == "低于行动限"
    english = review_json(cli)
    assert rows_by_first(table(document, "survey"))["满意度指数"] == rows_by_first(table(english, "survey"))["CSI"]
    ok(cli("review", "--half", "2024H2", "--lang", "zh", "-o", tmp_path / "review.html"))
    html = (tmp_path / "review.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "调查结果" in html and document["record_number"] in html
    terminal = ok(cli("review", "--half", "2024H2", "--lang", "zh")).stdout
    assert "需关注的客户" in terminal and "Survey results" not in terminal


def test_usage_mistakes(reviewed, cli, tmp_path):
    refused = cli("review", "--half", "2024H2", "-o", tmp_path / "review.pdf")
    assert refused.exit_code == 2 and ".html" in refused.stderr and ".docx" in refused.stderr
    assert not (tmp_path / "review.pdf").exists()
    assert cli("review", "--half", "2024H5").exit_code == 2
    assert cli("review", "--half", "2024H2", "--format", "json", "-o", tmp_path / "r.md").exit_code == 2


@pytest.mark.parametrize("suffix", [".xlsx", ".docx"])
def test_xlsx_and_docx_go_to_their_writers(reviewed, cli, tmp_path, suffix):
    import importlib.util

    target = tmp_path / f"review{suffix}"
    result = cli("review", "--half", "2024H2", "-o", target)
    if importlib.util.find_spec(f"csat.reports.review.{suffix[1:]}") is None:
        assert result.exit_code == 1 and "cannot write the review pack as " + suffix in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and not target.exists()
    else:
        assert result.exit_code == 0, result
        assert target.stat().st_size > 0


@pytest.mark.sqlite_only("the benchmark writes its store with sqlite3")
def test_the_review_benchmark_store_gives_the_reports_numbers(tmp_path):
    """The speed case reviews the report benchmark's store: the review must show that report's CSI."""
    from benchmarks.bench_report import ROUNDS, build_store
    from csat.config import Workspace
    from csat.reports import survey
    from csat.reports.review.gather import build_review
    from csat.reports.review.model import as_data
    from csat.store.engine import open_store

    build_store(tmp_path / "bench", answers=8_000)
    workspace = Workspace.open(tmp_path / "bench")
    with open_store(workspace).read_session() as session:
        report = survey.build(session, workspace.settings, ROUNDS[-1])
        document = as_data(build_review(session, workspace.settings, ROUNDS[-1], "en", today=date(2025, 1, 15)))
    assert rows_by_first(table(document, "survey"))["CSI"] == [report["csi"]]
    assert document["built_from"]["rounds"] == ROUNDS
