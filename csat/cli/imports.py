"""`csat import FILE...` and `csat response add/list/show/withdraw`: survey answers into the store, and correcting them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (Format, Home, Reason, ShowFormatOption, emit, escape_markup, keep_until_exit, parse_or_usage, require_reason, say, say_styled,
                              show_record, to_json, workspace,
                              workspace_and_store, write_stdout)
from csat.i18n import N_, _, ngettext

response_app = typer.Typer(no_args_is_help=True)

SHORT_HASH = 12      # hex digits of a SHA-256 shown to people; `csat sources get` takes any prefix of 6 or more
FEW_RESPONSES = 10   # the import summary names each response up to this many; beyond, -v
HalfOption = Annotated[Optional[str], typer.Option("--half", help="Half-year period, e.g. 2024H1.")]
REPORT_LABELS = {"files": N_("Files read"), "responses_new": N_("Responses new"),
                 "responses_unchanged": N_("Responses unchanged"), "responses_replaced": N_("Responses replaced"),
                 "responses_withdrawn": N_("Responses left withdrawn"), "answers_stored": N_("Answers stored"),
                 "responses_removed": N_("Responses removed"), "response_rate": N_("Response rate")}


def _half(text: Optional[str]) -> Optional[str]:
    from csat.periods import Half

    return parse_or_usage(lambda value: str(Half.parse(value)), text, "--half")


def _percent(rate: Optional[float]) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def import_files(
    files: Annotated[list[Path], typer.Argument(help="Returned forms and consolidated sheets (xlsx, xls, ods or csv), told apart by content.", dir_okay=False, show_default=False)],
    half: Annotated[Optional[str], typer.Option("--half", help="Period of sheets without a period column, e.g. 2024H1.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every file and report what would change, writing nothing.")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite responses imported before with different answers (the old values stay in the audit trail); needs --reason.")] = False,
    reason: Reason = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Name every response stored, replaced or refused (by default only up to 10).")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Import returned survey forms and consolidated answer sheets, all or nothing (or a `csat export` .json file).

    Every cell is checked first; any problem is listed as FILE!SHEET!CELL and nothing is written.
    The summary names each response (customer and period) stored, replaced or refused; -v when
    there are more than a few. Every file imported is archived in the store under its SHA-256
    (`csat sources list`). --dry-run also checks a file against a closed round: each response is
    identical to what is stored, or its differences are listed and the exit code is 4.

    Example: csat import returned/*.xlsx examples/responses-2024H1.csv --half 2024H1
    """
    from csat.importer import early_start
    from csat.importer.run import run_import, start_reading
    from csat.store import audit

    from csat.exchange.load import is_export

    if any(file.suffix.lower() == ".json" or is_export(file) for file in files):
        _import_export(files, half, dry_run, replace, home)
        return
    period = _half(half)
    if replace and not dry_run:
        require_reason(reason, "--replace")
    # The workbooks parse while the workspace and store open (from before Typer loaded, when run as a program).
    reading = early_start.take(files) or start_reading(files)
    try:
        with audit.reason(reason):
            report = run_import(workspace(home), files, half=period, dry_run=dry_run, replace=replace, reading=reading)
    finally:
        reading.close()
    keep_until_exit(report)
    for line in report.problems:
        say(line)
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(report.record()))
    else:
        _show_report(report, verbose)
    if report.problems:
        count = report.problem_count
        typer.echo(_("Error:") + " " + ngettext("{n} problem found, nothing written", "{n} problems found, nothing written",
                                                count), err=True)
        raise typer.Exit(1)
    if report.dry_run and report.responses_differing:
        raise typer.Exit(EXIT_DIFFERS)


def _import_export(files: list[Path], half: Optional[str], dry_run: bool, replace: bool, home) -> None:
    """A .json file is a csat export (`csat export`): loaded whole into an empty workspace, on its own."""
    from csat.exchange.load import import_export

    if len(files) > 1 or half or dry_run or replace:
        raise typer.BadParameter(_("an export (.json) is imported on its own, without --half, --dry-run or --replace"),
                                 param_hint="FILE")
    done = import_export(workspace(home), files[0])
    rows = sum(done.counts.values())
    say(_("Imported {rows} rows of {tables} tables from {path} (export format {version}, made {when})",
          rows=rows, tables=len(done.counts), path=files[0], version=done.format_version, when=done.exported_at))


_OUTCOMES = {"stored": N_("Stored"), "replaced": N_("Replaced"), "unchanged": N_("Unchanged"),
             "withdrawn": N_("Left withdrawn"), "removed": N_("Removed"), "refused": N_("Refused")}
_OUTCOMES_DRY = {**_OUTCOMES, "stored": N_("Would store"), "replaced": N_("Would replace"), "removed": N_("Would remove"),
                 "unchanged": N_("Identical to what is stored"),
                 "differs": N_("Differs from what is stored (closed round)"),
                 "missing": N_("Not stored (closed round)")}
# `csat import --dry-run`: a file that differs from what its closed round holds (a check of an archived
# file against the store, e.g. from cron). 1 stays "problems found", 3 is `csat check`'s major gaps.
EXIT_DIFFERS = 4


def _show_responses(report, verbose: bool) -> None:
    """Whose answers the import stored, replaced or refused: each one when there are a few (or -v)."""
    counts = report.outcomes()
    total = sum(counts.values())
    if not total:
        return
    labels = _OUTCOMES_DRY if report.dry_run else _OUTCOMES
    if total > FEW_RESPONSES and not verbose:
        parts = _(", ").join(f"{_(labels[status]).lower()} {count}" for status, count in counts.items())
        say(_("{n} responses ({outcomes}): use -v to list them", n=total, outcomes=parts))
        if not report.dry_run:     # only a dry run's lines say what differs
            return
        lines = [line for line in report.responses if line.differences or line.status == "missing"]  # always named
    else:
        lines = report.responses
    several_files = len({line.file for line in report.responses}) > 1
    for line in lines:
        who = (_("{customer} {period} ({respondent})", customer=line.customer, period=line.period,
                 respondent=line.respondent) if line.respondent else f"{line.customer} {line.period}")
        source = _(", from {file}", file=line.file) if several_files and line.file else ""
        say(_("{outcome}: {who}{source}", outcome=_(labels[line.status]), who=who, source=source))
        for change in line.differences:
            say("  " + _("{what}: stored {stored!r}, file {file!r}", what=change["what"],
                                       stored=change["stored"], file=change["file"]))


def _ended_note(period: str) -> str:
    """For answers typed in one at a time: the round of an ended half stays open until they are all in."""
    from datetime import date

    from csat.periods import Half

    end = Half.parse(period).end
    if end >= date.today():
        return ""
    return _("; the half year ended on {end}: close the round with `csat survey close --half {period}` once its answers are in",
             end=end.isoformat(), period=period)


def _closed_note(period: str) -> str:
    from csat.periods import Half

    return _(", closed: the half year ended on {end}, so nothing is sent for it"
             " (`csat survey open --half {period} --reopen` to send or import more)",
             end=Half.parse(period).end.isoformat(), period=period)


def _show_report(report, verbose: bool = False) -> None:
    for summary in report.rounds:
        if summary.opened:
            opening = (_("Would open the {period} round with the current item template", period=summary.period)
                       if report.dry_run else
                       _("Opened the {period} round with the current item template", period=summary.period))
            say(opening + (_closed_note(summary.period) if summary.closed else ""))
    record = {key: value for key, value in report.totals().items()
              if key in REPORT_LABELS and (value or key != "responses_withdrawn")}
    if report.responses_removed:
        record["responses_removed"] = report.responses_removed
    rates = [_("{period}: {responded} of {invited} invited ({rate})", period=summary.period,
               responded=summary.responded, invited=summary.invited, rate=_percent(summary.response_rate))
             if summary.invited else
             _("{period}: nobody invited; {n} customers answered", period=summary.period, n=summary.customers_answered)
             for summary in report.rounds]
    record["response_rate"] = _("; ").join(rates) or "-"
    if not report.problems:
        show_record(record, "table", REPORT_LABELS)
    _show_responses(report, verbose)
    if report.dry_run and not report.problems:
        if report.identical:
            say(_("Identical to what is stored"))
        elif report.responses_differing:
            say(ngettext("{n} response differs from what its closed round holds",
                         "{n} responses differ from what their closed rounds hold", report.responses_differing))
        say(_("Dry run: nothing was written"))


def _is_terminal() -> bool:
    return sys.stdin.isatty()


def _prompt_scores(items) -> list[tuple[str, str]]:
    say(_("Enter a score for each item: blank = no answer, N/A = not applicable."))
    scores = []
    for item in items:
        label = item.label_en + (f" / {item.label_zh}" if item.label_zh else "")
        hint = item.choices or item.scale
        while True:   # a bad answer is asked again at once; the answers given so far are kept
            value = typer.prompt(f"{label} [{hint}]", default="", show_default=False).strip()
            problem = item.problem(value)
            if problem is None:
                break
            say_styled(f"[red]{escape_markup(problem)}[/]" + escape_markup(_("; enter it again (blank = no answer, N/A = not applicable)")))
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
    replace: Annotated[bool, typer.Option("--replace", help="Overwrite this customer's earlier answers for the period (with --reason).")] = False,
    reason: Reason = None,
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

    from csat.store import audit

    period = _half(half)
    if replace:
        require_reason(reason, "--replace")
    scores = parse_or_usage(parse_score_options, score or [], "--score") if score else []
    opened, store = workspace_and_store(home)
    with store.session() as session, audit.reason(reason):
        if period is None:
            period = latest_open_period(session)
            if period is None:
                raise typer.BadParameter(_("no open round; name the period, e.g. --half 2024H1"), param_hint="--half")
        if not scores:
            if not _is_terminal():
                raise typer.BadParameter(_("give --score ITEM=VALUE for each answer (or run on a terminal to be asked)"),
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
        say(_("Opened the {period} round with the current item template", period=period)
            + (_closed_note(period) if result.round_closed else _ended_note(period)))
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(result.record()))
        return
    done = {"new": N_("Added {customer}'s {period} response ({n} answers)"),
            "replaced": N_("Replaced {customer}'s {period} response ({n} answers)"),
            "unchanged": N_("Unchanged: {customer}'s {period} response ({n} answers)")}
    rate = "" if result.response_rate is None else _("; response rate {rate}", rate=_percent(result.response_rate))
    say(_(done[result.status], customer=code, period=period, n=result.answers) + rate)


LIST_COLUMNS = [("id", "Id"), ("period", N_("Period")), ("customer", N_("Customer")), ("respondent", N_("Respondent")),
                ("source", N_("Source")), ("created_at", N_("Imported")), ("withdrawn", N_("Withdrawn"))]
ANSWER_COLUMNS = [("item", N_("Item")), ("label", N_("Label")), ("answer", N_("Answer")), ("note", N_("Note"))]
SHOW_LABELS = {"id": N_("Response"), "period": N_("Period"), "customer": N_("Customer"), "customer_name": N_("Name"),
               "respondent": N_("Respondent"), "respondent_title": N_("Title"), "answered_on": N_("Answered on"),
               "comment": N_("Comment"), "source": N_("Source"), "source_file": N_("File"),
               "source_archived": N_("Archived as"), "source_sheet": N_("Sheet"), "source_row": N_("Row"),
               "created_at": N_("Imported at"), "imported_by": N_("Imported by"), "updated_at": N_("Updated at"),
               "withdrawn": N_("Withdrawn"), "withdrawn_at": N_("Withdrawn at"), "withdraw_reason": N_("Withdraw reason")}


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
    from csat.vocabulary import labelled, staff_lang

    period = _half(half)
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        records = list_responses(session, period, customer, include_withdrawn)
    records = [labelled(record, {"source": "source"}, staff_lang(opened.settings)) for record in records]
    emit(records, LIST_COLUMNS, fmt, empty=N_("no responses") if include_withdrawn
         else N_("no responses (withdrawn ones show with --all)"))


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
    from csat.vocabulary import labelled, staff_lang

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        record = show_response(session, response_id)
    record = labelled(record, {"source": "source"}, staff_lang(opened.settings))
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(record))
        return
    fields = {}
    for key, value in record.items():
        if key in SHOW_LABELS or key == "source_label":
            fields[key] = value
        if key == "source_file" and record["source_sha256"]:   # the archived copy: `csat sources get SHA256`
            fields["source_archived"] = _("{name}, SHA-256 {sha256}", name=record["source_file_name"],
                                          sha256=record["source_sha256"][:SHORT_HASH])
    if record["source_sheet"] is None:
        fields.pop("source_sheet", None)
    if record["source_row"] is None:
        fields.pop("source_row", None)
    if not record["withdrawn"]:
        fields = {key: value for key, value in fields.items() if key not in ("withdrawn_at", "withdraw_reason")}
    show_record(fields, "table", SHOW_LABELS)
    chinese = staff_lang(opened.settings) == "zh"   # the item's own Chinese label where it has one
    rows = [{"item": answer["item"], "label": (chinese and answer["label_zh"]) or answer["label"], "note": answer["note"],
             "answer": "N/A" if answer["not_applicable"] else ("-" if answer["score"] is None else answer["score"])}
            for answer in record["answers"]]
    emit(rows, ANSWER_COLUMNS, "table", empty=N_("no answers stored"))
    verbs = {"insert": N_("{at} stored by {actor}"), "replace": N_("{at} replaced by {actor}"),
             "correct": N_("{at} corrected by {actor}"), "withdraw": N_("{at} withdrawn by {actor}")}
    for entry in record["history"]:
        say(_(verbs.get(entry["action"], "{at} {action} by {actor}"), at=entry["at"].strftime("%Y-%m-%d %H:%M"),
                            action=entry["action"], actor=entry["actor"]))


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
        raise typer.BadParameter(_("give the reason for withdrawing"), param_hint="--reason")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        result = withdraw_response(session, response_id, reason)
    again = _("; the customer counts as not answered again") if result["invitation_reopened"] else ""
    who = f" ({result['respondent']})" if result["respondent"] else ""
    say(_("Withdrew response #{number}: {customer}{who}, {period}", number=result["id"],
                        customer=result["customer"], who=who, period=result["period"]) + again)
