"""`csat review`: the management review pack of a half year (survey, feedback, CAPA, customers)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Home,
    LangOption,
    parse_or_usage,
    say,
    workspace_and_store,
    write_stdout,
)
from csat.i18n import _


class ReviewFormat(str, Enum):
    table = "table"
    json = "json"


def review(
    half: Annotated[Optional[str], typer.Option("--half", help="Half year to review, e.g. 2024H2 (default: the last half year that has ended).", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the pack to this file: .html, .xlsx, .docx or .md (default: a summary on the terminal).", dir_okay=False, show_default=False)] = None,
    fmt: Annotated[Optional[ReviewFormat], typer.Option("--format", "-f", help="Without -o: table (default) or json (the whole document as data).", show_default=False)] = None,
    lang: LangOption = None,
    home: Home = None,
) -> None:
    """Write the management review pack of a half year: survey results, feedback, CAPAs, customers needing attention.

    Example: csat review --half 2024H2 -o review-2024H2.html
    """
    from datetime import date

    from csat.periods import Half
    from csat.reports.review.write import SUFFIXES, format_of

    period = parse_or_usage(Half.parse, half, "--half") or Half.containing(date.today()).previous()
    if output is not None and format_of(output) is None:
        raise typer.BadParameter(_("{name}: the review pack is written as {known}", name=output.name,
                                   known=", ".join(SUFFIXES)), param_hint="--output")
    if output is not None and fmt is not None:
        raise typer.BadParameter(_("--format is for the terminal; with -o the file's suffix gives the format"),
                                 param_hint="--format")
    opened, store = workspace_and_store(home)
    from csat.reports.review.gather import build_review

    with store.read_session() as session:
        document = build_review(session, opened.settings, period, lang.value if lang else None)
    if output is not None:
        from csat.reports.review.write import write_review

        write_review(document, output)
        say(_("Wrote {path} ({record})", path=output, record=document.record_number))
    elif fmt is ReviewFormat.json:
        from csat.reports.review.write import render_json

        write_stdout(render_json(document))
    else:
        _print_document(document)


def _print_document(document) -> None:
    """The pack on the terminal: every table, paragraph and chart (as a row of values per series)."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    from csat.cli._common import console as records_console
    from csat.reports.review.cells import cell, numeric_columns
    from csat.reports.review.model import Chart, Paragraph, Table

    console = records_console()
    console.print(f"[bold]{escape(document.title)}[/] · {escape(document.record_number)}")
    for section in document.sections:
        console.print()
        console.print(f"[bold underline]{escape(section.title)}[/]")
        charts = [block for block in section.blocks if isinstance(block, Chart)]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                console.print(escape(block.text))
            elif isinstance(block, Table):
                shown_title = block.title if block.title and block.title != section.title else None
                table = RichTable(title=escape(shown_title) if shown_title else None, title_justify="left",
                                  header_style="bold", caption=escape(block.note) if block.note else None,
                                  caption_justify="left")
                numeric = numeric_columns(block.columns, block.rows)
                for index, column in enumerate(block.columns):
                    # The first column names the row (a CAPA number, a customer code): never cut it.
                    table.add_column(escape(column), justify="right" if numeric[index] else "left", no_wrap=index == 0)
                for row in block.rows:
                    table.add_row(*(escape(cell(value, block.digits)) for value in row))
                console.print(table)
        if charts:
            trend = RichTable(title=escape(charts[0].y_label or ""), title_justify="left", header_style="bold")
            trend.add_column("")
            for category in charts[0].categories:
                trend.add_column(escape(category), justify="right")
            trend.add_column(escape(_("Action limit")), justify="right")
            for chart in charts:
                for series in chart.series:
                    trend.add_row(escape(chart.title), *(cell(value) for value in series.values), cell(series.limit))
            console.print(trend)
