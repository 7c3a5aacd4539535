"""The quarterly summary against hand-counted figures of examples/feedback-log.csv."""

from datetime import date, datetime

import pytest
from feedback_fixtures import with_customers, with_log  # noqa: F401
from openpyxl import load_workbook

from csat.errors import CsatError
from csat.feedback import summary as summaries
from csat.feedback import summary_record
from csat.periods import Quarter

# Made on Saturday 5 Oct 2024: entries 8 and 13 have had no reply past their deadline
# (14 Aug, 20 Sep); only 5 and 8 of the unclosed complaints are older than 30 days.
MADE_ON = date(2024, 10, 5)


def build(store, settings, quarter="2024Q3", today=MADE_ON):
    with store.read_session() as session:
        return summaries.build(session, settings, Quarter.parse(quarter), today=today)


def test_q3_figures_match_the_hand_count(workspace, with_log):
    summary = build(with_log, workspace.settings)
    assert summary["quarter"] == "2024Q3"
    assert (summary["total"], summary["complaints"]) == (12, 8)
    assert summary["by_kind"] == {"quality": 4, "requirement": 1, "contract": 1, "market": 1, "conduct": 1,
                                  "service": 3, "other": 1}
    assert summary["by_channel"] == {"phone": 4, "fax": 1, "email": 4, "meeting": 1, "visit": 1, "wechat": 1}
    assert summary["by_customer"] == {"C-003": 4, "C-001": 1, "C-002": 1, "C-005": 1, "C-006": 1, "C-007": 1,
                                      "C-008": 1, "C-009": 1, "C-010": 1}
    assert summary["by_dept"] == {"engineering": 4, "quality": 4, "sales": 2, "finance": 1}
    assert summary["no_dept"] == 1
    assert summary["complaints_by_customer"] == {"C-003": 4, "C-001": 1, "C-007": 1, "C-009": 1, "C-010": 1}
    assert summary["repeat_topics"] == [{"customer": "C-003", "kind": "quality", "product": "HX-200", "count": 3,
                                         "entries": [4, 5, 13]}]
    assert summary["open"] == [5, 7, 8, 13, 15]
    assert summary["overdue"] == [8, 13]
    assert summary["long_unresolved"] == [5, 8]
    assert summary["replied_late"] == [5]
    # Reply times of the six answered complaints, in days: 0.75, 1, 1, 1 8h45m, 1 10h01m, 3 21h40m.
    assert summary["reply_days_median"] == pytest.approx((1 + (1 + 8.75 / 24)) / 2)
    assert summary["reply_days_max"] == pytest.approx(3 + 21 / 24 + 40 / 1440)
    assert summary["special_attention"] == ["C-003"]
    assert (summary["previous_quarter"], summary["previous_total"], summary["previous_complaints"]) == ("2024Q2", 3, 1)


def test_other_quarters_and_the_threshold(workspace, with_log):
    q4 = build(with_log, workspace.settings, "2024Q4", today=date(2025, 1, 6))
    assert (q4["total"], q4["complaints"], q4["previous_total"]) == (3, 2, 12)
    assert q4["open"] == [] and q4["special_attention"] == []
    assert q4["reply_days_median"] == pytest.approx((34 / 24 + 4) / 2)
    empty = build(with_log, workspace.settings, "2024Q1", today=date(2025, 1, 6))
    assert (empty["total"], empty["reply_days_median"], empty["reply_days_max"], empty["by_kind"]) == (0, None, None, {})
    workspace.settings.feedback.special_attention = 1
    assert build(with_log, workspace.settings)["special_attention"] == ["C-003", "C-001", "C-007", "C-009", "C-010"]


def test_a_quarter_not_started_is_refused(workspace, with_log):
    with pytest.raises(CsatError, match="quarter 2024Q4 has not started yet"):
        build(with_log, workspace.settings, "2024Q4", today=date(2024, 9, 30))


def test_recording_and_quarters_without_summary(workspace, with_log):
    settings = workspace.settings
    with with_log.read_session() as session:
        assert summaries.quarters_without_summary(session, settings, date(2024, 10, 5)) == ["2024Q2", "2024Q3"]
    with with_log.session() as session:
        row, summary = summary_record.record(session, settings, Quarter.parse("2024Q2"), now=datetime(2024, 7, 3, 9))
        assert (row.version, summary["version"], summary["summarised_at"]) == (1, 1, datetime(2024, 7, 3, 9))
        # A quarter still running is shown as a preview, never recorded: entries may still come in.
        with pytest.raises(CsatError, match="2024Q3 has not ended"):
            summary_record.record(session, settings, Quarter.parse("2024Q3"), now=datetime(2024, 9, 30, 23, 59))
        preview = summary_record.show(session, settings, Quarter.parse("2024Q3"), now=datetime(2024, 9, 30, 23, 59))
        assert (preview.state, preview.summary["recorded"], preview.summary["version"]) == ("preview", False, None)
    with with_log.read_session() as session:
        assert summaries.quarters_without_summary(session, settings, date(2024, 10, 5)) == ["2024Q3"]
    with with_log.session() as session:
        marked, _summary = summary_record.record(session, settings, Quarter.parse("2024Q3"), now=datetime(2024, 10, 1, 0, 0))
    assert (marked.quarter, marked.version, marked.total, marked.complaints) == ("2024Q3", 1, 12, 8)
    with with_log.read_session() as session:
        assert summaries.quarters_without_summary(session, settings, date(2024, 10, 5)) == []
        assert summaries.quarters_without_summary(session, settings, date(2025, 2, 1)) == ["2024Q4"]


def test_no_feedback_at_all_still_asks_for_the_last_quarter(workspace, store):
    with store.read_session() as session:
        assert summaries.quarters_without_summary(session, workspace.settings, date(2024, 10, 5)) == ["2024Q3"]


def test_markdown_and_xlsx_read_back(workspace, with_log, tmp_path):
    summary = build(with_log, workspace.settings)
    markdown = summaries.render_md(summary, "en", company="Southbridge")
    assert markdown.startswith("# Feedback and complaints 2024Q3\n")
    assert "| Complaints | 8 |" in markdown
    assert "| Complaints without reply, overdue | #8, #13 |" in markdown
    assert "| C-003 | Product quality | HX-200 | 3 | #4, #5, #13 |" in markdown
    chinese = summaries.render_md(summary, "zh")
    assert "| 投诉数 | 8 |" in chinese and "| 产品质量或性能 | 4 |" in chinese and "| 工程部 | 4 |" in chinese

    path = summaries.render_xlsx(summary, tmp_path / "q3.xlsx", "en", company="Southbridge")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Summary", "Entries", "Repeated complaint topics"]
    figures = {row[0]: row[1] for row in workbook["Summary"].iter_rows(min_row=3, values_only=True) if row[0]}
    assert figures["Entries"] == "12" and figures["Complaints"] == "8"
    assert figures["Customers needing special attention"] == "C-003"
    assert figures["Product quality or performance"] == 4 and figures["Quality"] == 4
    detail = list(workbook["Entries"].iter_rows(values_only=True))
    assert detail[0][:3] == ("No.", "Received", "Customer") and len(detail) == 13
    assert detail[-1][0] == 15 and detail[-1][1] == datetime(2024, 9, 30, 23, 59)
    assert not list(tmp_path.glob(".*.tmp"))


def test_json_is_plain(workspace, with_log):
    import json

    data = json.loads(summaries.render_json(build(with_log, workspace.settings)))
    assert data["start"] == "2024-07-01" and data["entries"][0]["received"] == "2024-07-02T08:45:00"
