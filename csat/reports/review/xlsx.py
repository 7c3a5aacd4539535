"""The review pack as an Excel workbook: one sheet per section, the "built from" sheet last.

Tables are real cells: numbers stay numbers (shown with the table's `digits`), and every text,
from the data or not, is a text cell: a customer called "=HYPERLINK(...)" is stored as that string,
never as a formula (csat.sheets.write.set_text_cell). Each Chart becomes its data (periods down,
one column per line and one per action limit) and a native Excel line chart beside it, the limit
drawn as its own dashed line, so the meeting can restyle or extend it in Excel. Sheets print on A4,
fitted to the page width, with the record number and page numbers in the footer.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from csat.files import replace_into
from csat.i18n import in_language
from csat.reports.review.model import Chart, Paragraph, ReviewDocument, Section, Table
from csat.reports.review.pictures import limit_name
from csat.sheets.write import set_text_cell

CHART_ROWS = 18          # rows a chart takes on the sheet
CHART_WIDTH_CM, CHART_HEIGHT_CM = 16.0, 8.5
MAX_COLUMN_WIDTH = 60
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")


def sheet_names(titles: list[str]) -> list[str]:
    """Safe, unique (ignoring case) sheet names of at most 31 characters, one per title."""
    names: list[str] = []
    taken: set[str] = set()
    for position, title in enumerate(titles, start=1):
        base = " ".join(_SHEET_FORBIDDEN.sub(" ", title).split()).strip("'").strip() or f"Sheet {position}"
        base = base[:31].rstrip(" '") or f"Sheet {position}"
        name, counter = base, 1
        while name.casefold() in taken or name.casefold() == "history":   # Excel reserves "History"
            counter += 1
            suffix = f" ({counter})"
            name = base[:31 - len(suffix)] + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def _number_format(digits: int) -> str:
    return "0" if digits <= 0 else "0." + "0" * digits


def _clean(value):
    """A cell value openpyxl can store: control characters removed, NaN and infinities left empty."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Writer:
    """Writes blocks down one sheet, keeping the next free row and the widest text of each column."""

    def __init__(self, sheet, styles):
        self.sheet, self.styles = sheet, styles
        self.row = 1
        self.widths: dict[int, float] = {}

    def put(self, row: int, column: int, value, style: str | None = None, number_format: str | None = None):
        cell = self.sheet.cell(row=row, column=column)
        value = _clean(value)
        set_text_cell(cell, value)
        if style:
            for name, setting in self.styles[style].items():
                setattr(cell, name, setting)
        if number_format and isinstance(value, (int, float)) and not isinstance(value, bool):
            cell.number_format = number_format
        if value is not None and style not in ("title", "wide"):
            shown = str(value) if not isinstance(value, float) else f"{value:.2f}"
            width = sum(2 if ord(character) > 0x2E7F else 1 for character in shown) + 2
            self.widths[column] = max(self.widths.get(column, 8), min(width, MAX_COLUMN_WIDTH))
        return cell

    def line(self, text: str, style: str | None = None) -> None:
        self.put(self.row, 1, text, style or "wide")
        self.row += 1

    def paragraph(self, block: Paragraph) -> None:
        self.line(block.text, "wide")
        self.row += 1

    def table(self, block: Table) -> None:
        if block.title:
            self.line(block.title, "bold")
        for column, heading in enumerate(block.columns, start=1):
            self.put(self.row, column, heading, "header")
        self.row += 1
        number_format = _number_format(block.digits)
        for values in block.rows:
            for column, value in enumerate(values, start=1):
                self.put(self.row, column, value, number_format=number_format if isinstance(value, float) else None)
            self.row += 1
        if block.note:
            self.line(block.note, "note")
        self.row += 1

    def chart(self, block: Chart, lang: str) -> None:
        from openpyxl.chart import LineChart, Reference
        from openpyxl.chart.data_source import AxDataSource, StrRef
        from openpyxl.chart.series import SeriesLabel

        if block.title:
            self.line(block.title, "bold")
        limit_word = limit_name(lang)
        several = len(block.series) > 1
        columns: list[tuple[str, list, bool, int]] = []   # (heading, values, is limit, series index)
        for index, series in enumerate(block.series):
            columns.append((series.name, list(series.values), False, index))
            if series.limit is not None:
                heading = f"{series.name}: {limit_word}" if several else limit_word
                columns.append((heading, [series.limit] * len(block.categories), True, index))
        header_row = self.row
        self.put(header_row, 1, "", "header")
        for column, (heading, _values, _limit, _index) in enumerate(columns, start=2):
            self.put(header_row, column, heading, "header")
        for offset, category in enumerate(block.categories, start=1):
            self.put(header_row + offset, 1, category)
            for column, (_heading, values, _limit, _index) in enumerate(columns, start=2):
                value = values[offset - 1] if offset - 1 < len(values) else None
                self.put(header_row + offset, column, value, number_format="0.0")
        last_row = header_row + len(block.categories)
        chart = LineChart()
        chart.title = block.title or None
        chart.y_axis.title = block.y_label or None
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.display_blanks = "gap"      # a round without a value breaks the line, it does not drop to 0
        chart.width, chart.height = CHART_WIDTH_CM, CHART_HEIGHT_CM
        chart.legend.position = "b"
        if block.categories and columns:
            from openpyxl.chart.marker import Marker

            from csat.reports.review.pictures import COLOURS, LIMIT_COLOUR

            categories = Reference(self.sheet, min_col=1, min_row=header_row + 1, max_row=last_row)
            for column, (heading, _values, is_limit, index) in enumerate(columns, start=2):
                chart.add_data(Reference(self.sheet, min_col=column, min_row=header_row + 1, max_row=last_row),
                               titles_from_data=False)
                line = chart.series[-1]
                line.tx = SeriesLabel(v=heading)
                # Periods are text: a string reference, so Excel labels the axis 2024H1... not 1, 2, 3.
                line.cat = AxDataSource(strRef=StrRef(f=str(categories)))
                line.smooth = False
                colour = COLOURS[index % len(COLOURS)].lstrip("#")
                if is_limit:
                    line.graphicalProperties.line.solidFill = colour if several else LIMIT_COLOUR.lstrip("#")
                    line.graphicalProperties.line.dashStyle = "dash"
                    line.marker = Marker(symbol="none")
                else:
                    line.graphicalProperties.line.solidFill = colour
                    line.graphicalProperties.line.width = 28575
                    line.marker = Marker(symbol="circle", size=6)
            from openpyxl.utils import get_column_letter

            self.sheet.add_chart(chart, f"{get_column_letter(len(columns) + 3)}{header_row}")
        self.row = max(last_row, header_row + CHART_ROWS) + 2


def _styles():
    from openpyxl.styles import Alignment, Font, PatternFill

    return {
        "title": {"font": Font(bold=True, size=14)},
        "bold": {"font": Font(bold=True)},
        "header": {"font": Font(bold=True), "fill": PatternFill("solid", start_color="DDDDDD", end_color="DDDDDD"),
                   "alignment": Alignment(wrap_text=True, vertical="top")},
        "note": {"font": Font(italic=True, color="555555")},
        "wide": {},
    }


def _built_from_section(document: ReviewDocument) -> Section:
    """The "built from" block from document.built_from, for a document gathered without one."""
    lang, built = document.lang, document.built_from
    rows = [
        [in_language(lang, "Record number"), document.record_number],
        [in_language(lang, "Half year"), built.half],
        [in_language(lang, "Survey rounds"), ", ".join(built.rounds)],
        [in_language(lang, "Responses in {half}", half=built.half), built.responses],
        [in_language(lang, "Feedback entries in {half}", half=built.half), built.feedback_entries],
        [in_language(lang, "Last import"), built.last_import],
        [in_language(lang, "csat version"), built.csat_version],
        [in_language(lang, "Made at"), built.made_at],
        [in_language(lang, "Content hash (SHA-256)"), built.content_hash],
    ]
    title = in_language(lang, "Built from")
    return Section("built_from", title, [Table(title, [in_language(lang, "Figure"), in_language(lang, "Value")], rows)])


def _print_setup(sheet, record_number: str) -> None:
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.gridLines = False
    sheet.oddFooter.left.text = record_number.replace("&", "&&")
    sheet.oddFooter.right.text = "&P / &N"


def ordered_sections(document: ReviewDocument) -> list[Section]:
    """The sections in print order, the "built from" one last (made from document.built_from if absent)."""
    others = [section for section in document.sections if section.key != "built_from"]
    built = [section for section in document.sections if section.key == "built_from"]
    return [*others, *(built or [_built_from_section(document)])]


def build_workbook(document: ReviewDocument):
    """The openpyxl Workbook of the document."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = document.title
    workbook.properties.identifier = document.record_number
    styles = _styles()
    sections = ordered_sections(document)
    for section, name in zip(sections, sheet_names([section.title or section.key for section in sections])):
        sheet = workbook.create_sheet(name)
        writer = _Writer(sheet, styles)
        writer.line(section.title or section.key, "title")
        if section.key == sections[0].key:
            writer.line(document.title, "bold")
        writer.line(f"{document.record_number}", "note")
        writer.row += 1
        for block in section.blocks:
            if isinstance(block, Paragraph):
                writer.paragraph(block)
            elif isinstance(block, Table):
                writer.table(block)
            elif isinstance(block, Chart):
                writer.chart(block, document.lang)
        for column, width in writer.widths.items():
            sheet.column_dimensions[get_column_letter(column)].width = width
        _print_setup(sheet, document.record_number)
    return workbook


def write(document: ReviewDocument, path: Path | str) -> Path:
    """Write the review pack as an .xlsx file at path (whole or not at all)."""
    path = Path(path)
    workbook = build_workbook(document)
    return replace_into(path, lambda partial: workbook.save(partial))
