"""The review pack as one self-contained printable HTML file (A4 print CSS, inline SVG charts, no network).

Jinja2 autoescapes every value; chart geometry comes from csat.reports.charts, as in the survey report.
"""

from __future__ import annotations

from csat.reports.review.cells import cell, numeric_columns
from csat.reports.review.model import Chart, Paragraph, ReviewDocument, Table


def _chart_entry(chart: Chart) -> dict:
    """What the shared chart macro draws: the first series against its action limit, dots coloured by it."""
    from csat.reports.charts import line_chart
    from csat.scoring import TOLERANCE

    series = chart.series[0] if chart.series else None
    values = list(series.values) if series else [None] * len(chart.categories)
    limit = series.limit if series else None
    statuses = [None if value is None else ("below" if limit is not None and value < limit - TOLERANCE else "ok")
                for value in values]
    return {"label": chart.title, "chart": line_chart(chart.categories, values, [limit] * len(values), statuses)}


def render_html(document: ReviewDocument) -> str:
    from csat.i18n import in_language
    from csat.reports import text as words
    from csat.templating import environment

    template = environment().get_template("reports/review.html.j2")
    sections = []
    for section in document.sections:
        blocks = []
        for block in section.blocks:
            if isinstance(block, Paragraph):
                blocks.append({"kind": "paragraph", "text": block.text})
            elif isinstance(block, Table):
                numeric = numeric_columns(block.columns, block.rows)
                blocks.append({"kind": "table", "title": block.title, "columns": block.columns, "numeric": numeric,
                               "rows": [[cell(value, block.digits) for value in row] for row in block.rows],
                               "note": block.note})
            elif isinstance(block, Chart):
                if blocks and blocks[-1]["kind"] == "charts":
                    blocks[-1]["charts"].append(_chart_entry(block))
                else:
                    blocks.append({"kind": "charts", "charts": [_chart_entry(block)]})
        sections.append({"key": section.key, "title": section.title, "blocks": blocks})
    h = words.headings(document.lang)
    return template.render(document=document, sections=sections, lang=document.lang,
                           colours=words.STATUS_COLOURS, fills=words.STATUS_FILLS,
                           legend=(h["chart_mean"], h["chart_limit"]),
                           record_label=in_language(document.lang, "Record number"))
