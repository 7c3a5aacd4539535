"""The printable CAPA form: every field, in xlsx and HTML, read back."""

from datetime import date, datetime
from html.parser import HTMLParser

import pytest
from feedback_fixtures import open_survey_round, with_customers, with_log  # noqa: F401
from openpyxl import load_workbook

from csat.capa import records as capas
from csat.capa.form import write_form
from csat.errors import CsatError


class Cells(HTMLParser):
    """(th, td) pairs of an HTML form, and whether a <script> element appeared."""

    def __init__(self):
        super().__init__()
        self.pairs, self.current, self.scripts, self._field = [], [], 0, None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._field = tag
            self.current.append("")
        if tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._field = None
        if tag == "tr" and self.current:
            self.pairs.append(tuple(self.current))
            self.current = []

    def handle_data(self, data):
        if self._field:
            self.current[-1] += data


@pytest.fixture
def worked_capa(workspace, with_log):
    settings = workspace.settings
    with with_log.session() as session:
        capa, _ = capas.open_for_feedback(session, settings, 13, today=date(2024, 10, 8), due=date(2024, 11, 30))
        capas.update(session, settings, capa.number, cause="=HYPERLINK(\"http://evil\")  <script>alert(1)</script>",
                     correction="Sorted 1,200 housings at the customer",
                     action="Shot counter on mould M-17\nPM every 50k shots", prevention="Counters on all moulds")
        capas.verify(session, capa.number, by="Zhou Li", result="effective", note="No cracks in 3 lots",
                     now=datetime(2024, 11, 20, 10, 0))
    return capa.number


def read_xlsx(path) -> dict:
    sheet = load_workbook(path)["CAPA"]
    return {row[0].value: row[1] for row in sheet.iter_rows(min_row=3, max_col=2) if row[0].value}


def test_xlsx_form_has_every_field(workspace, with_log, worked_capa, tmp_path):
    with with_log.read_session() as session:
        path = write_form(session, workspace.settings, worked_capa, tmp_path / "capa.xlsx", "en")
    fields = read_xlsx(path)
    values = {name: cell.value for name, cell in fields.items()}
    assert values["CAPA number"] == "CAPA-2024-001"
    assert values["Status"] == "Verified" and values["Due date"] == "2024-11-30"
    assert values["Owner department"] == "Quality"
    assert values["Source"] == "Customer feedback" and values["Feedback entry"] == "#13"
    assert values["Customer"] == "C-003 深圳华科电子有限公司" and values["Product"] == "HX-200"
    assert values["Received"] == "2024-09-18 14:30"
    assert values["Root cause"] == "=HYPERLINK(\"http://evil\")  <script>alert(1)</script>"
    assert fields["Root cause"].data_type == "s"  # text, never a live formula
    assert values["Corrective action"] == "Shot counter on mould M-17\nPM every 50k shots"
    assert values["Preventive action"] == "Counters on all moulds"
    assert values["Correction"] == "Sorted 1,200 housings at the customer"
    assert values["Verification 1"] == "2024-11-20 10:00 · Effective · Verified by: Zhou Li\nNo cracks in 3 lots"
    assert "Verified by" not in values  # the blank fields are for a CAPA not verified yet
    assert "HX-200外壳裂纹问题仍未彻底解决" in values["Description of the nonconformity"]
    for signature in ("Prepared by (quality)", "Acknowledged by (owner department)", "Approved by"):
        assert signature in values


def test_html_form_is_escaped_and_complete_in_chinese(workspace, with_log, worked_capa, tmp_path):
    with with_log.read_session() as session:
        path = write_form(session, workspace.settings, worked_capa, tmp_path / "capa.html", "zh")
    html = path.read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    parser = Cells()
    parser.feed(html)
    cells = dict(pair for pair in parser.pairs if len(pair) == 2)
    assert parser.scripts == 0
    assert cells["编号"] == "CAPA-2024-001" and cells["状态"] == "已验证" and cells["责任部门"] == "品质部"
    assert cells["来源"] == "顾客反馈" and cells["类型"] == "产品质量或性能" and cells["渠道"] == "邮件"
    assert cells["根本原因"] == "=HYPERLINK(\"http://evil\")  <script>alert(1)</script>"
    assert cells["第1次验证"] == "2024-11-20 10:00 · 有效 · 验证人: Zhou Li\nNo cracks in 3 lots"
    assert "纠正和预防措施报告" in html and '<html lang="zh-CN">' in html


def test_item_source_form(workspace, with_customers, tmp_path):
    open_survey_round(with_customers, "2024H1")
    with with_customers.session() as session:
        capa, _ = capas.open_for_item(session, workspace.settings, "2024H1", "after_sales",
                                      reason="Scored 81.2 (limit 85), 3 of 8 customers below 80", today=date(2024, 7, 10))
    with with_customers.read_session() as session:
        path = write_form(session, workspace.settings, capa.number, tmp_path / "item.xlsx", "zh")
    values = {name: cell.value for name, cell in read_xlsx(path).items()}
    assert values["来源"] == "顾客满意度调查" and values["调查期间"] == "2024H1"
    assert values["调查项目"] == "after_sales 售后及安装服务" and values["行动界限"] == "85"
    assert values["不合格描述"] == "Scored 81.2 (limit 85), 3 of 8 customers below 80"
    assert values["责任部门"] == "工程部" and values["状态"] == "未开始"


def test_form_refuses_other_suffixes_and_missing_folders(workspace, with_log, worked_capa, tmp_path):
    with with_log.read_session() as session:
        with pytest.raises(CsatError, match="written as .xlsx or .html"):
            write_form(session, workspace.settings, worked_capa, tmp_path / "capa.pdf")
        with pytest.raises(CsatError, match="does not exist"):
            write_form(session, workspace.settings, worked_capa, tmp_path / "nope" / "capa.xlsx")
    assert [path.name for path in tmp_path.iterdir()] == ["ws"]
