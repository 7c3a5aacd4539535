"""`csat export`: every record to one JSON or xlsx file (`csat import FILE.json` reads it back)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from csat.cli._common import Home, parse_or_usage, say, workspace
from csat.i18n import _


def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .json (every record, re-importable) or .xlsx (one sheet per table).", dir_okay=False)],
    half: Annotated[str | None, typer.Option("--half", help="Only this half year's round, feedback and CAPAs, e.g. 2024H1.")] = None,
    home: Home = None,
) -> None:
    """Export every record of the store to one JSON or xlsx file (secrets are never exported).

    Example: csat export -o backups/csat-2024H1.json
    """
    from csat.exchange.export import export as write_export
    from csat.periods import Half

    if output.suffix.lower() not in (".json", ".xlsx"):
        raise typer.BadParameter(_("write a .json or .xlsx file"), param_hint="-o")
    period = parse_or_usage(lambda value: str(Half.parse(value)), half, "--half")
    done = write_export(workspace(home), output, period)
    rows = sum(done.counts.values())
    say(_("Exported {rows} rows of {tables} tables to {path}", rows=rows, tables=len(done.counts), path=done.path))
