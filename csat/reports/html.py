"""The HTML survey report: one self-contained, printable file for the management review.

No network: CSS is inline and charts are inline SVG. Jinja2 autoescapes every
value, so customer comments and names are shown as text, never run.
"""

from __future__ import annotations

from typing import Any

from csat.reports import text as words
from csat.reports.charts import item_charts
from csat.reports.render import focus_sentence
from csat.reports.survey import lowest_customers


def _environment():
    """The shared environment, with the report's number filters registered."""
    from csat.templating import environment

    shared = environment()
    shared.filters.update(number=words.number, percent=words.percent, signed=words.signed,
                          arrow=words.arrow, limit=words.limit_text)
    return shared


def render_html(data: dict[str, Any]) -> str:
    """The survey report of one round as a complete HTML document."""
    lang = data["lang"]
    template = _environment().get_template("reports/survey.html.j2")
    lowest = lowest_customers(data)
    return template.render(
        data=data, h=words.headings(lang), lang=lang, status=lambda code: words.status_word(code, lang),
        charts=item_charts(data["trend"]), lowest=lowest, focus=focus_sentence(data),
        more_below=_split_command(words.more_below_text(data, lowest)), comment_groups=words.comment_groups(data),
        more_comments=_split_command(words.more_comments_text(data)),
        colours=words.STATUS_COLOURS, fills=words.STATUS_FILLS, n_text=words.n_text, small_note=words.small_note(data),
        below_minimum=words.below_minimum_text(data),
    )


def _split_command(sentence: str | None) -> tuple[str, str, str] | None:
    """(text before, command, text after) of a sentence holding one `command`, for a <code> element."""
    return None if sentence is None else tuple(sentence.split("`", 2))


def render_trend_html(trend: dict[str, Any]) -> str:
    """Every round side by side, with a chart per item."""
    lang = trend["lang"]
    template = _environment().get_template("reports/trend.html.j2")
    return template.render(trend=trend, h=words.headings(lang), lang=lang,
                           status=lambda code: words.status_word(code, lang), charts=item_charts(trend),
                           colours=words.STATUS_COLOURS, fills=words.STATUS_FILLS)
