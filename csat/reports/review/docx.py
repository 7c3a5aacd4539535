"""The review pack as a Word document (python-docx): review minutes are kept in Word.

A4 portrait, the document title, a heading per section, its paragraphs, its tables (floats shown
with the table's `digits`, numbers right-aligned, an empty cell shown as a dash) and its charts as
PNG pictures (csat.reports.review.pictures). The footer carries the record number and
"page N of M" as Word fields, so every printed page can be matched to the data. Every run names an
East Asian font (w:eastAsia) and Chinese documents are marked zh-CN, so Word draws Chinese with a
Chinese font instead of guessing.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from csat.files import replace_into
from csat.i18n import in_language
from csat.reports.review.model import Chart, Paragraph, ReviewDocument, Table
from csat.reports.review.pictures import png
from csat.numbers import fixed
from csat.reports.review.xlsx import ordered_sections

LATIN_FONT = "Calibri"
EAST_ASIAN_FONT = "Microsoft YaHei"     # on every Chinese Windows; Word substitutes a CJK font elsewhere
PICTURE_WIDTH_CM = 16.0
DASH = "–"
PAGE_MARK, PAGES_MARK = "\x00page\x00", "\x00pages\x00"


def cell_text(value, digits: int) -> str:
    """How a table value reads in the document."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    if isinstance(value, float):
        return fixed(value, digits)   # as every other format shows it (half away from zero, as Excel)
    return str(value)


def _set_fonts(element, lang: str) -> None:
    """Name the Latin and East Asian fonts (and the language) on a run's or a style's properties."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    properties = element.get_or_add_rPr()
    fonts = properties.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        properties.insert(0, fonts)
    fonts.set(qn("w:ascii"), LATIN_FONT)
    fonts.set(qn("w:hAnsi"), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme"):   # a theme font would win over the names
        fonts.attrib.pop(qn(theme), None)
    if lang == "zh":
        language = properties.find(qn("w:lang"))
        if language is None:
            language = OxmlElement("w:lang")
            properties.append(language)
        language.set(qn("w:eastAsia"), "zh-CN")


def _run(paragraph, text: str, lang: str, bold: bool = False, italic: bool = False):
    run = paragraph.add_run(text)
    run.bold = bold or None
    run.italic = italic or None
    _set_fonts(run._r, lang)
    return run


def _styles(document, lang: str) -> None:
    for name in ("Normal", "Title", "Heading 1", "Heading 2", "Caption"):
        try:
            style = document.styles[name]
        except KeyError:
            continue
        _set_fonts(style.element, lang)


def _field(paragraph, instruction: str, shown: str, lang: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word fills in when it lays the pages out."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for kind, text in (("begin", None), ("instr", f" {instruction} "), ("separate", None), ("text", shown), ("end", None)):
        run = _run(paragraph, "", lang)
        if kind == "instr":
            element = OxmlElement("w:instrText")
            element.set(qn("xml:space"), "preserve")
            element.text = text
        elif kind == "text":
            element = OxmlElement("w:t")
            element.text = text
        else:
            element = OxmlElement("w:fldChar")
            element.set(qn("w:fldCharType"), kind)
        run._r.append(element)


def _footer(section, document: ReviewDocument) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    line = in_language(document.lang, "{record_number} · page {page} of {pages}",
                       record_number=document.record_number, page=PAGE_MARK, pages=PAGES_MARK)
    for piece in line.replace(PAGES_MARK, "\x01" + PAGES_MARK + "\x01").replace(PAGE_MARK, "\x01" + PAGE_MARK + "\x01").split("\x01"):
        if piece == PAGE_MARK:
            _field(paragraph, "PAGE", "1", document.lang)
        elif piece == PAGES_MARK:
            _field(paragraph, "NUMPAGES", "1", document.lang)
        elif piece:
            _run(paragraph, piece, document.lang)


def _table(word, block: Table, lang: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    if block.title:
        _run(word.add_paragraph(style="Heading 2"), block.title, lang)
    columns = max(1, len(block.columns), *(len(row) for row in block.rows))
    table = word.add_table(rows=1 + len(block.rows), cols=columns)
    table.style = "Table Grid"
    table.autofit = True
    for cell, heading in zip(table.rows[0].cells, block.columns):
        _run(cell.paragraphs[0], heading, lang, bold=True)
    for row, values in zip(table.rows[1:], block.rows):
        for cell, value in zip(row.cells, values):
            paragraph = cell.paragraphs[0]
            _run(paragraph, cell_text(value, block.digits), lang)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if block.note:
        _run(word.add_paragraph(), block.note, lang, italic=True)


def _chart(word, block: Chart, lang: str) -> None:
    from docx.shared import Cm

    paragraph = word.add_paragraph()
    paragraph.add_run().add_picture(io.BytesIO(png(block, lang)), width=Cm(PICTURE_WIDTH_CM))


def build(document: ReviewDocument):
    """The python-docx Document of the review pack."""
    from docx import Document
    from docx.shared import Mm

    word = Document()
    word.core_properties.title = document.title
    word.core_properties.identifier = document.record_number
    word.core_properties.language = "zh-CN" if document.lang == "zh" else "en"
    _styles(word, document.lang)
    section = word.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(20)
    section.top_margin = section.bottom_margin = Mm(20)
    _footer(section, document)
    _run(word.add_paragraph(style="Title"), document.title, document.lang)
    for part in ordered_sections(document):
        _run(word.add_heading(level=1), part.title or part.key, document.lang)
        for block in part.blocks:
            if isinstance(block, Paragraph):
                _run(word.add_paragraph(), block.text, document.lang)
            elif isinstance(block, Table):
                _table(word, block, document.lang)
            elif isinstance(block, Chart):
                _chart(word, block, document.lang)
    return word


def write(document: ReviewDocument, path: Path | str) -> Path:
    """Write the review pack as a .docx file at path (whole or not at all; FontMissing before any file)."""
    word = build(document)
    return replace_into(Path(path), lambda partial: word.save(str(partial)))
