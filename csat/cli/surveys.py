"""`csat survey ...`: half-year survey rounds, forms and invitations."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Format,
    Home,
    Reason,
    console,
    emit,
    escape_markup,
    parse_or_usage,
    require_reason,
    say,
    say_styled,
    to_json,
    workspace_and_store,
    write_stdout,
)
from csat.i18n import N_, _

app = typer.Typer(no_args_is_help=True)

HALF_HELP = N_("Half year: YYYYH1 (January-June) or YYYYH2 (July-December), e.g. 2024H1.")
HalfRequired = Annotated[str, typer.Option("--half", help=HALF_HELP, show_default=False)]
HalfOptional = Annotated[Optional[str], typer.Option(
    "--half", help=N_("Half year: YYYYH1 (January-June) or YYYYH2 (July-December), e.g. 2024H1."
                      " Default: the latest open round, else the current half year."), show_default=False)]

LIST_COLUMNS = [("period", N_("Period")), ("status", N_("Status")), ("opened_at", N_("Opened")), ("due_date", N_("Due")),
                ("closed_at", N_("Closed")), ("items", N_("Items")), ("invited", N_("Invited")), ("sent", N_("Sent")),
                ("failed", N_("Failed")), ("responded", N_("Responded"))]
STATUS_COLUMNS = [("code", N_("Customer")), ("name", N_("Name")), ("contact", N_("Contact")), ("status", N_("Status")),
                  ("sent_at", N_("Sent at")), ("reminders", N_("Reminders")), ("responded", N_("Responded")),
                  ("error", N_("Error"))]
# What `survey open` did (csat.survey.rounds.open_or_update).
OPEN_ACTIONS = {"opened": N_("Opened"), "already open": N_("Already open"), "reopened": N_("Reopened"),
                "due date changed": N_("Due date changed"), "reopened, due date changed": N_("Reopened, due date changed")}


def _half(text: Optional[str]) -> Optional[str]:
    from csat.periods import Half

    parsed = parse_or_usage(Half.parse, text, "--half")
    return None if parsed is None else str(parsed)


def _date(text: Optional[str], option: str):
    from datetime import date

    def parse(value: str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(_("{text!r} is not a date; expected YYYY-MM-DD, e.g. 2024-07-31", text=value)) from None

    return parse_or_usage(parse, text, option)


@app.command(name="open")
def survey_open(
    half: HalfRequired,
    due: Annotated[Optional[str], typer.Option("--due", help="Date answers are due (YYYY-MM-DD), after the day the round opens; default: survey.due_days after today. On an open round, changes its due date.", show_default=False)] = None,
    reopen: Annotated[bool, typer.Option("--reopen", help="Open a closed round again (with --reason).")] = False,
    reason: Reason = None,
    home: Home = None,
) -> None:
    """Open the survey round of a half year, freezing the current item template.

    Reopening a closed round, or moving an open round's due date, needs --reason (audited).

    Example: csat survey open --half 2024H1 --due 2024-07-31
    """
    from csat.store import audit
    from csat.survey import rounds

    period = _half(half)
    due_date = _date(due, "--due")
    if reopen:
        require_reason(reason, "--reopen")
    opened, store = workspace_and_store(home)
    with store.session() as session, audit.reason(reason):
        round_, action = rounds.open_or_update(session, period, due=due_date, reopen=reopen,
                                               due_days=opened.settings.survey.due_days, reason=reason,
                                               minimum=opened.settings.procedure.min_action_limit)
        item_count = len(rounds.round_items(session, round_))
    say(_("{action}: {period} round, {items} items, template {version}, due {due}",
          action=_(OPEN_ACTIONS.get(action, action)), period=round_.period, items=item_count,
          version=round_.template_version, due=round_.due_date.isoformat()))


@app.command(name="extend")
def survey_extend(
    half: HalfRequired,
    due: Annotated[str, typer.Option("--due", help="The new due date (YYYY-MM-DD), later than the current one.", show_default=False)],
    reason: Reason = None,
    home: Home = None,
) -> None:
    """Extend an open round's due date, so reminders resume and state the new date (audited, with --reason).

    Example: csat survey extend --half 2024H1 --due 2024-08-31 --reason "customers closed for the holiday"
    """
    from datetime import date

    from csat.store import audit
    from csat.survey import rounds

    period = _half(half)
    due_date = _date(due, "--due")
    _workspace, store = workspace_and_store(home)
    with store.session() as session, audit.reason(reason):
        old = rounds.extend_round(session, period, due_date, reason=reason)
    say(_("Extended the {period} round: due {due} (was {old})", period=period, due=due_date.isoformat(),
          old=old.isoformat()))
    if due_date < date.today():
        say_styled("[yellow]" + escape_markup(_("Note:")) + "[/] " + escape_markup(_(
            "{due} has passed too; no reminder is sent for a round past its due date", due=due_date.isoformat())))


@app.command(name="list")
def survey_list(fmt: Format = "table", home: Home = None) -> None:
    """List survey rounds with their invitation and response counts (invited `-`: no invitation was sent).

    Example: csat survey list --format json
    """
    from csat.survey import rounds
    from csat.vocabulary import labelled, staff_lang

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        records = rounds.list_rounds(session)
    lang = staff_lang(opened.settings)
    records = [labelled(record, {"status": "round_status"}, lang) for record in records]
    if getattr(fmt, "value", fmt) == "table":
        records = [{key: "-" if value is None and key in ("invited", "sent", "failed") else value
                    for key, value in record.items()} for record in records]
    emit(records, LIST_COLUMNS, fmt, empty=N_("no survey rounds yet; start one with `csat survey send`"))


@app.command(name="close")
def survey_close(half: HalfRequired, home: Home = None) -> None:
    """Close a round: nothing more is sent for it.

    Example: csat survey close --half 2024H1
    """
    from csat.survey import rounds

    period = _half(half)
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        round_ = rounds.close_round(session, period)
    say(_("Closed the {period} round", period=round_.period))


@app.command(name="form")
def survey_form(
    code: Annotated[str, typer.Argument(help="The customer's code.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .xlsx (fillable, signed) or .html (printable A4).", dir_okay=False, show_default=False)],
    half: HalfOptional = None,
    home: Home = None,
) -> None:
    """Write one customer's survey form to a file, for a phone interview, a visit or fax.

    Example: csat survey form C-006 --half 2024H1 -o C-006.xlsx
    """
    from csat.survey import send as survey

    if output.suffix.lower() not in (".xlsx", ".html", ".htm"):
        raise typer.BadParameter(_("{name}: use a .xlsx or .html file name", name=output.name), param_hint="--output")
    period = _half(half)
    opened, store = workspace_and_store(home)
    written = survey.write_form(opened, store, code, output, period)
    if written.opened:
        say(_("Opened the {period} round", period=written.period))
    say(_("Wrote the {period} form of {customer} to {path}", period=written.period, customer=code, path=written.path))


@app.command(name="send")
def survey_send(
    half: HalfOptional = None,
    customer: Annotated[Optional[list[str]], typer.Option("--customer", "-c", help="Only this customer (repeat for several).", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show who would get a form; send and store nothing.")] = False,
    resend: Annotated[bool, typer.Option("--resend", help="Send again to customers already sent to (not to those who answered).")] = False,
    home: Home = None,
) -> None:
    """Send the survey form to every active customer with an e-mail address (SMTP, or outbox/ when none is set).

    Example: csat survey send --half 2024H1
    """
    from csat.survey import send as survey

    period = _half(half)
    opened, store = workspace_and_store(home)
    with _progress() as on_progress:
        report = survey.send_round(opened, store, period, customers=customer or None, dry_run=dry_run,
                                   resend=resend, on_progress=on_progress)
    _print_report(report)
    if report.interrupted:
        raise typer.Exit(130)
    if report.failed and not dry_run:
        raise typer.Exit(1)


class _progress:
    """A rich progress bar on a terminal; nothing otherwise."""

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), console=console(stderr=True), transient=True)
        self.progress.start()
        self.task = None

        def advance(recipient, outcome, done, total):
            if self.task is None:
                self.task = self.progress.add_task(_("Sending"), total=total)
            self.progress.update(self.task, completed=done,
                                 description=escape_markup(_("Sent {customer}", customer=recipient.code)))

        return advance

    def __exit__(self, *exc_info):
        if hasattr(self, "progress"):
            self.progress.stop()


def _print_report(report) -> None:
    period = report.period
    if report.opened:
        fields = {"period": period, "due": report.due_date.isoformat()}
        say(_("Would open the {period} round (due {due})", **fields) if report.dry_run
            else _("Opened the {period} round (due {due})", **fields))
    if report.dry_run:
        records = [{"code": recipient.code, "name": recipient.name, "email": recipient.email,
                    "language": recipient.language} for recipient in report.planned]
        emit(records, [("code", N_("Code")), ("name", N_("Name")), ("email", N_("E-mail")), ("language", N_("Lang"))],
             "table", title=_("Would send the {period} survey to", period=period), empty=N_("nobody to send to"))
        say(_("Dry run: would send {planned}, skip {skipped} (already sent or answered); nothing was sent or stored",
              planned=len(report.planned), skipped=len(report.skipped)))
    else:
        say(_("{period} round, due {due}, via {destination}: {sent} sent, {skipped} skipped"
                            " (already sent or answered), {failed} failed", period=period,
                            due=report.due_date.isoformat(), destination=report.destination, sent=len(report.sent),
                            skipped=len(report.skipped), failed=len(report.failed)))
    for code, reason in report.failed:
        say_styled(f"  [red]{escape_markup(_('failed'))}[/] {escape_markup(code)}: {escape_markup(reason)}")
    if report.interrupted:
        say_styled("[yellow]" + escape_markup(_("Interrupted:")) + "[/] " + escape_markup(_(
            "{n} left pending; run `csat survey send --half {period}` again to send them",
            n=len(report.pending), period=period)))
    elif report.failed and not report.dry_run:
        say(_("Run `csat survey send --half {period}` again to retry the failed ones", period=period))
    if report.no_email:
        say(_("To reach by phone/fax (no e-mail address):"))
        for recipient in report.no_email:
            phone = f" {recipient.phone}" if recipient.phone else ""
            say(f"  {recipient.code} {' '.join(recipient.name.split())}{phone}: csat survey form {recipient.code} "
                f"--half {period} -o {recipient.code.replace('/', '_')}.xlsx")


@app.command(name="status")
def survey_status(half: HalfOptional = None, fmt: Format = "table", home: Home = None) -> None:
    """Show who was sent the survey, who failed, answered and was reminded, with the response rate.

    CSV has one row per customer; JSON also carries the totals.

    Example: csat survey status --half 2024H1 --format json
    """
    from csat.survey import rounds

    from csat.vocabulary import labelled, staff_lang

    period = _half(half)
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        status = rounds.round_status(session, rounds.resolve_round(session, period))
    lang = staff_lang(opened.settings)
    status["customers"] = [labelled(customer, {"status": "invitation_status"}, lang) for customer in status["customers"]]
    fmt = getattr(fmt, "value", fmt)
    if fmt == "json":
        write_stdout(to_json(status))
        return
    emit(status["customers"], STATUS_COLUMNS, fmt, title=_("Survey {period}", period=status["period"]),
         empty=_("nobody invited in {period}; `csat survey send --half {period}` sends the forms", period=status["period"]))
    if status["response_rate"] is None:
        say(_("{period}: nobody invited; {n} customer(s) answered", period=status["period"], n=status["responded"]))
        return
    say(_("{period}: {invited} invited, {sent} sent, {failed} failed, {responded} responded, response rate {rate:.0%}",
          period=status["period"], invited=status["invited"], sent=status["sent"], failed=status["failed"],
          responded=status["responded"], rate=status["response_rate"]))
