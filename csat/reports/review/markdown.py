"""The review pack as Markdown, for a wiki: headings, tables, and each chart as a small table of its values."""

from __future__ import annotations

from csat.reports import text as words
from csat.reports.review.cells import cell, numeric_columns
from csat.reports.review.model import Chart, Paragraph, ReviewDocument, Table


def _md(text: object, line: bool = False) -> str:
    """Text inside a table cell (or, with line=True, a line of its own): pipes escaped, line breaks folded."""
    text = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    # Angle brackets as entities, so a customer's "<Sons>" is text on the wiki, never markup.
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return "\\" + text if line and text[:1] in ("#", "*", "-", "+", "=", "`") else text


def _table(columns: list[str], rows: list[list[str]], numeric: list[bool]) -> list[str]:
    lines = ["| " + " | ".join(_md(column) for column in columns) + " |",
             "|" + "|".join("---:" if right else "---" for right in numeric) + "|"]
    lines += ["| " + " | ".join(_md(value) for value in row) + " |" for row in rows]
    return lines


def _block(block, lang: str) -> list[str]:
    if isinstance(block, Paragraph):
        return [_md(block.text, line=True)]
    if isinstance(block, Table):
        numeric = numeric_columns(block.columns, block.rows)
        lines = [f"**{_md(block.title)}**", ""] if block.title else []
        lines += _table(block.columns, [[cell(value, block.digits) for value in row] for row in block.rows], numeric)
        return lines + (["", _md(block.note, line=True)] if block.note else [])
    if isinstance(block, Chart):
        rows = [[series.name, *(cell(value) for value in series.values)] for series in block.series]
        rows += [[words.headings(lang)["chart_limit"], *(cell(series.limit) for _ in block.categories)]
                 for series in block.series[:1] if series.limit is not None]
        return [f"**{_md(block.title)}**", ""] + _table(["", *block.categories], rows,
                                                       [False] + [True] * len(block.categories))
    raise TypeError(f"unknown block {type(block).__name__}")


def render_md(document: ReviewDocument) -> str:
    lines = [f"# {_md(document.title)}", "", f"{_md(document.record_number)}", ""]
    for section in document.sections:
        lines += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            lines += _block(block, document.lang) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"
