"""The survey statistics analysis workbook (xlsx).

Sheets: a summary (key figures, the item table coloured by status through
conditional formatting, key drivers), the trend over all rounds up to this
one with a native Excel line chart per item and its action limit drawn as a
second line, the customers' scores, every raw answer, and every comment.
The workbook is written in openpyxl's write-only mode: a round with a quarter
of a million answers streams to disk instead of building millions of cell
objects. Text that starts with = + - @ is stored as text, never a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from csat.reports import text as words
from csat.files import replace_into
from csat.reports.render import focus_sentence
from csat.sheets.write import is_dangerous, set_text_cell, xlsx_text

MEAN_FORMAT = "0.0"
SHARE_FORMAT = "0.0%"
CHART_ROWS = 16
CHART_COLUMNS = 9


class _Sheet:
    """A write-only sheet that counts its rows, so charts and rules can address them."""

    def __init__(self, workbook, title: str, widths: list[float], freeze: str | None = None):
        from openpyxl.utils import get_column_letter

        self.sheet = workbook.create_sheet(title)
        if freeze:
            self.sheet.freeze_panes = freeze  # write-only sheets write their view before the first row
        for index, width in enumerate(widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.row = 0

    def append(self, values: list[Any], style: dict[str, Any] | None = None, formats: dict[int, str] | None = None) -> int:
        """Append one row; styled, number-formatted and formula-like text cells become WriteOnlyCells."""
        from openpyxl.cell import WriteOnlyCell

        row = []
        for index, value in enumerate(values):
            if isinstance(value, str):
                # Control characters pasted into a comment would make openpyxl refuse the whole workbook.
                value = xlsx_text(value)
            number_format = formats.get(index) if formats and isinstance(value, (int, float)) else None
            if style or number_format or (isinstance(value, str) and is_dangerous(value)):
                cell = WriteOnlyCell(self.sheet)
                set_text_cell(cell, value)
                for name, setting in (style or {}).items():
                    setattr(cell, name, setting)
                if number_format:
                    cell.number_format = number_format
                value = cell
            row.append(value)
        self.sheet.append(row)
        self.row += 1
        return self.row

    def blank(self) -> None:
        self.sheet.append([])
        self.row += 1


def _styles():
    from openpyxl.styles import Font, PatternFill

    return {
        "title": {"font": Font(bold=True, size=14)},
        "header": {"font": Font(bold=True), "fill": PatternFill("solid", start_color="DDDDDD", end_color="DDDDDD")},
        "bold": {"font": Font(bold=True)},
    }


def _status_rules(sheet, cell_range: str, status_column: str, first_row: int, lang: str) -> None:
    """Colour whole rows by the status word in status_column."""
    from openpyxl.formatting.rule import FormulaRule
    from openpyxl.styles import Font, PatternFill

    for status in ("below", "at_risk", "ok"):
        word = words.status_word(status, lang).replace('"', '""')
        fill = PatternFill("solid", start_color=words.STATUS_FILLS[status], end_color=words.STATUS_FILLS[status])
        font = Font(color=words.STATUS_COLOURS[status], bold=status != "ok")
        sheet.conditional_formatting.add(
            cell_range, FormulaRule(formula=[f'${status_column}{first_row}="{word}"'], fill=fill, font=font))


def _summary(workbook, data: dict[str, Any], h: dict[str, str], styles) -> None:
    lang = data["lang"]
    sheet = _Sheet(workbook, h["summary"], [18, 36, 9, 9, 9, 9, 9, 9, 9, 9, 11, 11, 9, 9, 9, 12, 70])
    sheet.append([h["title"].format(period=data["period"])], styles["title"])
    sheet.append([data["company"]])
    sheet.append([f"{h['generated']} {data['generated_at']}"])
    sheet.blank()
    figures = [(h["invited"], data["invited"], None), (h["responses"], data["responses"], None),
               (h["response_rate"], data["response_rate"], SHARE_FORMAT), (h["csi_long"], data["csi"], MEAN_FORMAT),
               (h["previous_csi"], data["previous_csi"], MEAN_FORMAT), (h["action_limit"], data["action_limit"], None),
               (h["min_action_limit"], data["min_action_limit"], None)]
    for label, value, number_format in figures:
        # The label overflows into the empty item column; the value sits under n.
        sheet.append([label, None, value], formats={2: number_format} if number_format else None)
    if words.below_minimum_text(data):
        sheet.append([words.below_minimum_text(data)], styles["bold"])
    if not data["responses"]:
        sheet.append([h["no_responses"].format(period=data["period"], invited=data["invited"])], styles["bold"])
    sheet.blank()
    header = [h["code"], h["item"], h["n"], h["mean"], h["sd"], h["median"], h["min"], h["max"], h["ci_low"],
              h["ci_high"], h["below_share"], h["top_box_share"], h["previous_mean"], h["change"], h["limit"],
              h["status"], h["reason"]]
    sheet.append(header, styles["header"])
    first = sheet.row + 1
    formats = {index: MEAN_FORMAT for index in (3, 4, 5, 6, 7, 8, 9, 12, 13)} | {10: SHARE_FORMAT, 11: SHARE_FORMAT}
    for item in data["items"]:
        sheet.append([item["code"], item["label"], item["n"], item["mean"], item["sd"], item["median"], item["min"],
                      item["max"], item["ci_low"], item["ci_high"], item["below_share"], item["top_box_share"],
                      item["previous_mean"], item["change"], item["action_limit"],
                      words.status_word(item["status"], lang), item["reason"]], formats=formats)
    if data["items"]:
        _status_rules(sheet.sheet, f"A{first}:Q{sheet.row}", "P", first, lang)
    note = words.small_note(data)
    if note:                                  # the reason column says "only 2 answers" on each such item
        sheet.append([note.lstrip("* ")])
    sheet.blank()
    sheet.append([h["drivers"]], styles["bold"])
    sheet.append([h["drivers_overall"] if data["driver_basis"] == "overall" else h["drivers_weighted"]])
    sentence = focus_sentence(data)
    if sentence:
        sheet.append([sentence])
    sheet.append([h["code"], h["item"], h["n"], h["correlation"], h["mean"], h["status"]], styles["header"])
    for driver in data["drivers"]:
        sheet.append([driver["code"], driver["label"], driver["n"], driver["correlation"], driver["mean"],
                      words.status_word(driver["status"], lang)], formats={3: "0.00", 4: MEAN_FORMAT})


def trend_sheet(workbook, trend: dict[str, Any], h: dict[str, str], styles) -> None:
    """Means, limits and n per round (rows) and item (columns), with a line chart per item."""
    from openpyxl.chart import LineChart, Reference
    from openpyxl.chart.data_source import AxDataSource, StrRef
    from openpyxl.utils import get_column_letter

    labels = [item["label"] for item in trend["items"]]
    sheet = _Sheet(workbook, h["trend"], [12] + [16] * max(len(labels), 4))
    blocks = {}
    for key, heading, value_of, number_format in (
        ("mean", h["mean"], lambda point: point["mean"], MEAN_FORMAT),
        ("limit", h["action_limit"], lambda point: point["action_limit"], None),
        ("n", h["n"], lambda point: point["n"] or None, None),
    ):
        sheet.append([heading], styles["bold"])
        header_row = sheet.append([h["period"], *labels], styles["header"])
        for index, period in enumerate(trend["periods"]):
            values = [value_of(item["series"][index]) for item in trend["items"]]
            sheet.append([period, *values], formats={column: number_format for column in range(1, len(values) + 1)}
                         if number_format else None)
        blocks[key] = header_row
        sheet.blank()
    sheet.append([h["period"], h["csi"], h["response_rate"], h["invited"], h["responses"]], styles["header"])
    for record in trend["rounds"]:
        sheet.append([record["period"], record["csi"], record["response_rate"], record["invited"], record["responses"]],
                     formats={1: MEAN_FORMAT, 2: SHARE_FORMAT})
    charts_row = sheet.row + 2
    count = len(trend["periods"])
    for index, item in enumerate(trend["items"]):
        chart = LineChart()
        chart.title = item["label"]
        chart.y_axis.title = h["mean"]
        chart.x_axis.title = h["period"]
        chart.x_axis.delete = False
        chart.y_axis.delete = False
        chart.height, chart.width = 7.5, 15
        for key in ("mean", "limit"):
            reference = Reference(sheet.sheet, min_col=index + 2, min_row=blocks[key] + 1, max_row=blocks[key] + count)
            chart.add_data(reference, titles_from_data=False)
        # Periods are text: a string reference, so Excel labels the axis 2024H1... rather than 1, 2, 3.
        periods = Reference(sheet.sheet, min_col=1, min_row=blocks["mean"] + 1, max_row=blocks["mean"] + count)
        for series in chart.series:
            series.cat = AxDataSource(strRef=StrRef(f=str(periods)))
        _style_series(chart, h)
        column = get_column_letter(1 + (index % 2) * CHART_COLUMNS)
        sheet.sheet.add_chart(chart, f"{column}{charts_row + (index // 2) * CHART_ROWS}")


def _style_series(chart, h: dict[str, str]) -> None:
    """Mean as a solid blue line with markers, the action limit as a dashed red line, both named."""
    from openpyxl.chart.series import SeriesLabel

    mean, limit = chart.series
    mean.tx = SeriesLabel(v=h["chart_mean"])
    limit.tx = SeriesLabel(v=h["chart_limit"])
    mean.graphicalProperties.line.solidFill = "1F4E79"
    mean.graphicalProperties.line.width = 28575
    mean.marker.symbol = "circle"
    mean.smooth = False
    limit.graphicalProperties.line.solidFill = words.STATUS_COLOURS["below"]
    limit.graphicalProperties.line.dashStyle = "dash"
    limit.marker.symbol = "none"
    limit.smooth = False


def _customers(workbook, data: dict[str, Any], h: dict[str, str], styles) -> None:
    sheet = _Sheet(workbook, h["customers"], [14, 36, 10, 10, 12], freeze="A2")
    sheet.append([h["customer"], h["name"], h["score"], h["n_answers"], h["respondents"]], styles["header"])
    first = sheet.row + 1
    for customer in data["customers"]:
        sheet.append([customer["code"], customer["name"], customer["score"], customer["n_answers"],
                      customer["respondents"]], formats={2: MEAN_FORMAT})
    if data["customers"]:
        from openpyxl.formatting.rule import CellIsRule
        from openpyxl.styles import Font, PatternFill

        fill = PatternFill("solid", start_color=words.STATUS_FILLS["below"], end_color=words.STATUS_FILLS["below"])
        sheet.sheet.conditional_formatting.add(
            f"C{first}:C{sheet.row}", CellIsRule(operator="lessThan", formula=[repr(float(data["action_limit"]))],
                                                 fill=fill, font=Font(color=words.STATUS_COLOURS["below"])))


def _answers(workbook, data: dict[str, Any], h: dict[str, str], styles) -> None:
    answers = data.get("answers") or {"items": [], "rows": []}
    labels = {item["code"]: item["label"] for item in data["items"]}
    sheet = _Sheet(workbook, h["answers"], [14, 30, 18, 12] + [12] * len(answers["items"]) + [60], freeze="E2")
    sheet.append([h["customer"], h["name"], h["respondent"], h["answered_on"],
                  *(labels.get(code, code) for code in answers["items"]), h["comment"]], styles["header"])
    not_applicable = h["not_applicable"]
    for row in answers["rows"]:
        scores = [not_applicable if score == "N/A" else score for score in row["scores"]]
        sheet.append([row["customer"], row["name"], row["respondent"], row["answered_on"], *scores, row["comment"]])


def _comments(workbook, data: dict[str, Any], h: dict[str, str], styles) -> None:
    sheet = _Sheet(workbook, h["comments"], [14, 30, 18, 28, 80])
    sheet.append([h["customer"], h["name"], h["respondent"], h["item"], h["comment"]], styles["header"])
    for comment in data["comments"]:
        sheet.append([comment["customer"], comment["name"], comment["respondent"], comment["item_label"] or "",
                      comment["text"]])


def render_xlsx(data: dict[str, Any], path: Path) -> Path:
    """Write the survey workbook of a built report (build with answers=True for the raw answers sheet)."""
    from openpyxl import Workbook

    h = words.headings(data["lang"])
    styles = _styles()

    def write(temporary: Path) -> None:
        workbook = Workbook(write_only=True)
        _summary(workbook, data, h, styles)
        trend_sheet(workbook, data["trend"], h, styles)
        _customers(workbook, data, h, styles)
        _answers(workbook, data, h, styles)
        _comments(workbook, data, h, styles)
        workbook.save(temporary)

    return replace_into(path, write)


def render_trend_xlsx(trend: dict[str, Any], path: Path) -> Path:
    """Write a workbook holding only the trend sheet of every round."""
    from openpyxl import Workbook

    h = words.headings(trend["lang"])

    def write(temporary: Path) -> None:
        workbook = Workbook(write_only=True)
        trend_sheet(workbook, trend, h, _styles())
        workbook.save(temporary)

    return replace_into(path, write)
