"""`csat check`: the procedure's gaps, each with what to do; exit code 3 when one is major (for cron)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Optional

import typer

from csat.cli._common import Home, emit, parse_or_usage, say, to_json, workspace_and_store, write_stdout
from csat.i18n import N_, _

COLUMNS = [("severity", N_("Severity")), ("rule", N_("Rule")), ("record", N_("Record")), ("what", N_("What")),
           ("fix", N_("Fix"))]
# Exit code when a major gap exists: distinct from errors (1) and usage mistakes (2).
MAJOR_EXIT = 3


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(_("{text!r} is not a date; expected YYYY-MM-DD, e.g. 2024-07-15", text=text)) from None


def check(
    half: Annotated[Optional[str], typer.Option("--half", help="Only gaps of this half year's records, e.g. 2025H2.", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only gaps of records from this date on, YYYY-MM-DD.", show_default=False)] = None,
    today: Annotated[Optional[str], typer.Option("--today", help="Judge as if today were this date (YYYY-MM-DD), for back-filling and tests.", show_default=False)] = None,
    fmt: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.table,
    home: Home = None,
) -> None:
    """List where the procedure was not followed, each gap with the command that fixes it; exit 3 if one is major.

    Example: csat check --half 2025H2
    """
    from csat.periods import Half
    from csat.procedure.check import find_gaps
    from csat import vocabulary

    if half is not None and since is not None:
        raise typer.BadParameter(_("give --half or --since, not both"), param_hint="--half/--since")
    period = parse_or_usage(Half.parse, half, "--half")
    start = parse_or_usage(_day, since, "--since")
    day = parse_or_usage(_day, today, "--today")
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        result = find_gaps(session, opened.settings, half=period, since=start, today=day)
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(result.as_json()))
    else:
        lang = vocabulary.staff_lang(opened.settings)
        rows = [gap.as_json() | {"severity_label": vocabulary.word("gap_severity", gap.severity, lang)}
                for gap in result.gaps]
        emit(rows, COLUMNS, fmt, empty=N_("no gaps: every step of the procedure is on record"))
        counts = result.counts
        if result.gaps:
            say(_("{total} gap(s): {major} major, {minor} minor", total=counts["total"], major=counts["major"],
                  minor=counts["minor"]))
    if result.has_major:
        raise typer.Exit(MAJOR_EXIT)
