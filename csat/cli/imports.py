"""`csat import FILE...` and `csat response add`: survey answers into the store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (Home, ShowFormatOption, parse_or_usage, say, show_record, to_json, workspace,
                              workspace_and_store, write_stdout)

response_app = typer.Typer(no_args_is_help=True)

HalfOption = Annotated[Optional[str], typer.Option("--half", help="Half-year period, e.g. 2024H1.")]
REPORT_LABELS = {"files": "Files read", "responses_new": "Responses new", "responses_unchanged": "Responses unchanged",
                 "responses_replaced": "Responses replaced", "answers_stored": "Answers stored",
                 "response_rate": "Response rate"}


def _half(text: Optional[str]) -> Optional[str]:
    from csat.periods import Half

    return parse_or_usage(lambda value: str(Half.parse(value)), text, "--half")


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def import_files(
    files: Annotated[list[Path], typer.Argument(help="Returned forms (xlsx) and consolidated sheets (xlsx or csv), told apart by content.", dir_okay=False, show_default=False)],
    half: Annotated[Optional[str], typer.Option("--half", help="Period of sheets without a period column, e.g. 2024H1.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every file and report what would change, writing nothing.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite responses imported before with different answers (the old values stay in the audit trail).")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Import returned survey forms and consolidated answer sheets, all or nothing.

    Every cell is checked first; any problem is listed as FILE!SHEET!CELL and nothing is written.

    Example: csat import returned/*.xlsx examples/responses-2024H1.csv --half 2024H1
    """
    from csat.importer.run import run_import, start_reading

    period = _half(half)
    reading = start_reading(files)   # the workbooks parse while the workspace and store open
    try:
        report = run_import(workspace(home), files, half=period, dry_run=dry_run, replace=replace, reading=reading)
    finally:
        reading.close()
    for line in report.problems:
        typer.echo(line, err=True)
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(report.record()))
    else:
        _show_report(report)
    if report.problems:
        count = report.problem_count
        typer.echo(f"Error: {count} problem{'s' if count != 1 else ''} found, nothing written", err=True)
        raise typer.Exit(1)


def _closed_note(period: str) -> str:
    from csat.periods import Half

    return (f", closed: the half year ended on {Half.parse(period).end.isoformat()}, so nothing is sent for it "
            f"(`csat survey open --half {period} --reopen` to send or import more)")


def _show_report(report) -> None:
    for summary in report.rounds:
        if summary.opened:
            verb = "Would open" if report.dry_run else "Opened"
            say(f"{verb} the {summary.period} round with the current item template"
                + (_closed_note(summary.period) if summary.closed else ""))
    record = {REPORT_LABELS[key]: value for key, value in report.record().items() if key in REPORT_LABELS}
    rates = [f"{summary.period}: {summary.responded} of {summary.invited} invited ({_percent(summary.response_rate)})"
             if summary.invited else
             f"{summary.period}: nobody invited; {summary.customers_answered} customers answered"
             for summary in report.rounds]
    record["Response rate"] = "; ".join(rates) or "-"
    if not report.problems:
        show_record(record, "table")
    if report.dry_run and not report.problems:
        say("Dry run: nothing was written")


def _is_terminal() -> bool:
    return sys.stdin.isatty()


def _prompt_scores(items) -> list[tuple[str, str]]:
    say("Enter a score for each item: blank = no answer, N/A = not applicable.")
    scores = []
    for item in items:
        label = item.label_en + (f" / {item.label_zh}" if item.label_zh else "")
        hint = item.choices or item.scale
        value = typer.prompt(f"{label} [{hint}]", default="", show_default=False)
        scores.append((item.code, value.strip()))
    return scores


@response_app.command(name="add")
def response_add(
    code: Annotated[str, typer.Argument(help="The customer's code.")],
    half: HalfOption = None,
    score: Annotated[Optional[list[str]], typer.Option("--score", help="ITEM=VALUE, e.g. quality=90, overall=Satisfied or price=N/A; repeat for each item.", show_default=False)] = None,
    comment: Annotated[str, typer.Option("--comment", help="The customer's overall comment.")] = "",
    respondent: Annotated[str, typer.Option("--respondent", help="Who answered (one response per customer and respondent).")] = "",
    title: Annotated[str, typer.Option("--title", help="The respondent's job title.")] = "",
    answered_on: Annotated[Optional[str], typer.Option("--date", help="When the answers were given, YYYY-MM-DD.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite this customer's earlier answers for the period.")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Enter one customer's answers taken by phone or at a visit.

    Without --score on a terminal, asks for each item in turn.

    Example: csat response add C-001 --half 2024H1 --score quality=90 --score delivery=80 --comment "Fast delivery"
    """
    from csat.errors import CsatError
    from csat.importer.responses import add_response, entry_items, latest_open_period, parse_score_options

    period = _half(half)
    scores = parse_or_usage(parse_score_options, score or [], "--score") if score else []
    opened, store = workspace_and_store(home)
    with store.session() as session:
        if period is None:
            period = latest_open_period(session)
            if period is None:
                raise typer.BadParameter("no open round; name the period, e.g. --half 2024H1", param_hint="--half")
        if not scores:
            if not _is_terminal():
                raise typer.BadParameter("give --score ITEM=VALUE for each answer (or run on a terminal to be asked)",
                                         param_hint="--score")
            scores = _prompt_scores(entry_items(session, period))
        try:
            result = add_response(session, code, period, scores, comment=comment, respondent=respondent, title=title,
                                  answered_on=answered_on, replace=replace,
                                  due_days=opened.settings.survey.due_days)
        except CsatError:
            session.rollback()
            raise
    if result.round_opened:
        say(f"Opened the {period} round with the current item template"
            + (_closed_note(period) if result.round_closed else ""))
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(result.record()))
        return
    verbs = {"new": "Added", "replaced": "Replaced", "unchanged": "Unchanged:"}
    rate = "" if result.response_rate is None else f"; response rate {_percent(result.response_rate)}"
    typer.echo(f"{verbs[result.status]} {code}'s {period} response ({result.answers} answers){rate}", err=True)
