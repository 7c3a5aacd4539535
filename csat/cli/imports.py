"""`csat import FILE...` and `csat response add/list/show/withdraw`: survey answers into the store, and correcting them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (Format, Home, ShowFormatOption, emit, escape_markup, parse_or_usage, say, show_record, to_json, workspace,
                              workspace_and_store, write_stdout)

response_app = typer.Typer(no_args_is_help=True)

FEW_RESPONSES = 10   # the import summary names each response up to this many; beyond, -v
HalfOption = Annotated[Optional[str], typer.Option("--half", help="Half-year period, e.g. 2024H1.")]
REPORT_LABELS = {"files": "Files read", "responses_new": "Responses new", "responses_unchanged": "Responses unchanged",
                 "responses_replaced": "Responses replaced",
                 "responses_withdrawn": "Responses left withdrawn", "answers_stored": "Answers stored",
                 "response_rate": "Response rate"}


def _half(text: Optional[str]) -> Optional[str]:
    from csat.periods import Half

    return parse_or_usage(lambda value: str(Half.parse(value)), text, "--half")


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def import_files(
    files: Annotated[list[Path], typer.Argument(help="Returned forms and consolidated sheets (xlsx, xls, ods or csv), told apart by content.", dir_okay=False, show_default=False)],
    half: Annotated[Optional[str], typer.Option("--half", help="Period of sheets without a period column, e.g. 2024H1.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every file and report what would change, writing nothing.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite responses imported before with different answers (the old values stay in the audit trail).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help=f"Name every response stored, replaced or refused (by default only up to {FEW_RESPONSES}).")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Import returned survey forms and consolidated answer sheets, all or nothing.

    Every cell is checked first; any problem is listed as FILE!SHEET!CELL and nothing is written.
    The summary names each response (customer and period) stored, replaced or refused; -v when
    there are more than a few.

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
        _show_report(report, verbose)
    if report.problems:
        count = report.problem_count
        typer.echo(f"Error: {count} problem{'s' if count != 1 else ''} found, nothing written", err=True)
        raise typer.Exit(1)


_OUTCOMES = {"stored": "Stored", "replaced": "Replaced", "unchanged": "Unchanged", "withdrawn": "Left withdrawn",
             "removed": "Removed", "refused": "Refused"}
_OUTCOMES_DRY = {**_OUTCOMES, "stored": "Would store", "replaced": "Would replace", "removed": "Would remove"}


def _show_responses(report, verbose: bool) -> None:
    """Whose answers the import stored, replaced or refused: each one when there are a few (or -v)."""
    from collections import Counter

    from csat.cli._common import escape_markup

    lines = report.responses
    if not lines:
        return
    labels = _OUTCOMES_DRY if report.dry_run else _OUTCOMES
    if len(lines) > FEW_RESPONSES and not verbose:
        counts = Counter(line.status for line in lines)
        parts = ", ".join(f"{labels[status].lower()} {count}" for status, count in counts.items())
        say(f"{len(lines)} responses ({parts}): use -v to list them")
        return
    several_files = len({line.file for line in lines}) > 1
    for line in lines:
        who = f"{line.customer} {line.period}" + (f" ({line.respondent})" if line.respondent else "")
        source = f", from {line.file}" if several_files and line.file else ""
        say(escape_markup(f"{labels[line.status]}: {who}{source}"))


def _ended_note(period: str) -> str:
    """For answers typed in one at a time: the round of an ended half stays open until they are all in."""
    from datetime import date

    from csat.periods import Half

    end = Half.parse(period).end
    if end >= date.today():
        return ""
    return (f"; the half year ended on {end.isoformat()}: close the round with "
            f"`csat survey close --half {period}` once its answers are in")


def _closed_note(period: str) -> str:
    from csat.periods import Half

    return (f", closed: the half year ended on {Half.parse(period).end.isoformat()}, so nothing is sent for it "
            f"(`csat survey open --half {period} --reopen` to send or import more)")


def _show_report(report, verbose: bool = False) -> None:
    for summary in report.rounds:
        if summary.opened:
            verb = "Would open" if report.dry_run else "Opened"
            say(f"{verb} the {summary.period} round with the current item template"
                + (_closed_note(summary.period) if summary.closed else ""))
    record = {REPORT_LABELS[key]: value for key, value in report.record().items()
              if key in REPORT_LABELS and (value or key != "responses_withdrawn")}
    if report.responses_removed:
        record["Responses removed"] = report.responses_removed
    rates = [f"{summary.period}: {summary.responded} of {summary.invited} invited ({_percent(summary.response_rate)})"
             if summary.invited else
             f"{summary.period}: nobody invited; {summary.customers_answered} customers answered"
             for summary in report.rounds]
    record["Response rate"] = "; ".join(rates) or "-"
    if not report.problems:
        show_record(record, "table")
    _show_responses(report, verbose)
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
        while True:   # a bad answer is asked again at once; the answers given so far are kept
            value = typer.prompt(f"{label} [{hint}]", default="", show_default=False).strip()
            problem = item.problem(value)
            if problem is None:
                break
            say(f"[red]{escape_markup(problem)}[/]; enter it again (blank = no answer, N/A = not applicable)")
        scores.append((item.code, value))
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

    Without --score on a terminal, asks for each item in turn; an answer that does not fit the item
    is asked again at once with the reason. With --score every problem is listed and nothing is stored.

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
            scores = _prompt_scores(entry_items(session, period, code, respondent=respondent, title=title,
                                                answered_on=answered_on))
        try:
            result = add_response(session, code, period, scores, comment=comment, respondent=respondent, title=title,
                                  answered_on=answered_on, replace=replace,
                                  due_days=opened.settings.survey.due_days)
        except CsatError:
            session.rollback()
            raise
    if result.round_opened:
        say(f"Opened the {period} round with the current item template"
            + (_closed_note(period) if result.round_closed else _ended_note(period)))
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(result.record()))
        return
    verbs = {"new": "Added", "replaced": "Replaced", "unchanged": "Unchanged:"}
    rate = "" if result.response_rate is None else f"; response rate {_percent(result.response_rate)}"
    typer.echo(f"{verbs[result.status]} {code}'s {period} response ({result.answers} answers){rate}", err=True)


LIST_COLUMNS = [("id", "Id"), ("period", "Period"), ("customer", "Customer"), ("respondent", "Respondent"),
                ("source", "Source"), ("created_at", "Imported"), ("withdrawn", "Withdrawn")]
ANSWER_COLUMNS = [("item", "Item"), ("label", "Label"), ("answer", "Answer"), ("note", "Note")]
SHOW_LABELS = {"id": "Response", "period": "Period", "customer": "Customer", "customer_name": "Name",
               "respondent": "Respondent", "respondent_title": "Title", "answered_on": "Answered on",
               "comment": "Comment", "source": "Source", "source_file": "File", "created_at": "Imported at",
               "imported_by": "Imported by", "updated_at": "Updated at", "withdrawn": "Withdrawn",
               "withdrawn_at": "Withdrawn at", "withdraw_reason": "Withdraw reason"}


@response_app.command(name="list")
def response_list(
    half: HalfOption = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's responses (its code).")] = None,
    include_withdrawn: Annotated[bool, typer.Option("--all", help="Include withdrawn responses.")] = False,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """List stored survey responses (withdrawn ones with --all).

    Example: csat response list --half 2024H1 --customer C-001 --all
    """
    from csat.importer.records import list_responses

    period = _half(half)
    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        records = list_responses(session, period, customer, include_withdrawn)
    emit(records, LIST_COLUMNS, fmt, empty="no responses" + ("" if include_withdrawn else " (withdrawn ones show with --all)"))


@response_app.command(name="show")
def response_show(
    response_id: Annotated[int, typer.Argument(metavar="ID", help="The response's id (see `csat response list`).")],
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Show one response: its answers per item, where it came from, and whether it was withdrawn.

    Example: csat response show 12
    """
    from csat.importer.records import show_response

    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        record = show_response(session, response_id)
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(record))
        return
    fields = {key: value for key, value in record.items() if key in SHOW_LABELS}
    if not record["withdrawn"]:
        fields = {key: value for key, value in fields.items() if key not in ("withdrawn_at", "withdraw_reason")}
    show_record(fields, "table", SHOW_LABELS)
    rows = [{"item": answer["item"], "label": answer["label"], "note": answer["note"],
             "answer": "N/A" if answer["not_applicable"] else ("-" if answer["score"] is None else answer["score"])}
            for answer in record["answers"]]
    emit(rows, ANSWER_COLUMNS, "table", empty="no answers stored")
    verbs = {"insert": "stored", "replace": "replaced", "correct": "corrected", "withdraw": "withdrawn"}
    for entry in record["history"]:
        say(f"{entry['at']:%Y-%m-%d %H:%M} {verbs.get(entry['action'], entry['action'])} by {entry['actor']}")


@response_app.command(name="withdraw")
def response_withdraw(
    response_id: Annotated[int, typer.Argument(metavar="ID", help="The response's id (see `csat response list`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why it no longer counts, kept with the record.", show_default=False)],
    home: Home = None,
) -> None:
    """Withdraw a response entered in error: kept and audited, but counted in no statistic.

    The customer counts as not answered again (status, response rate, reminders).

    Example: csat response withdraw 12 --reason "entered for the wrong customer"
    """
    from csat.importer.records import withdraw_response

    if not reason.strip():
        raise typer.BadParameter("give the reason for withdrawing", param_hint="--reason")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        result = withdraw_response(session, response_id, reason)
    again = "; the customer counts as not answered again" if result["invitation_reopened"] else ""
    who = f" ({result['respondent']})" if result["respondent"] else ""
    say(f"Withdrew response #{result['id']}: {result['customer']}{who}, {result['period']}{again}")
