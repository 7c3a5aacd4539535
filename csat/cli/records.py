"""`csat records check` / `csat records purge`: record retention (records.keep_years)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Optional

import typer

from csat.i18n import N_, _
from csat.cli._common import (
    Format,
    Home,
    Reason,
    emit,
    parse_or_usage,
    require_reason,
    say,
    to_json,
    workspace_and_store,
    write_stdout,
)

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("kind", N_("Record")), ("key", N_("Key")), ("date", N_("Dated")), ("customer", N_("Customer")),
           ("invitations", N_("Invitations")), ("responses", N_("Responses")), ("answers", N_("Answers")),
           ("kept_for", N_("Kept for"))]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(_("{text!r} is not a date; expected YYYY-MM-DD, e.g. 2024-07-15", text=text)) from None


def _show(plan, fmt, today: Optional[date] = None) -> None:
    from csat.procedure.retention import rows

    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(plan.as_json(today)))
        return
    emit(rows(plan), COLUMNS, fmt, empty=N_("no record is older than that"))


def _counts_line(counts: dict) -> str:
    return _("survey rounds {rounds} (responses {responses}, answers {answers}), feedback entries {feedback},"
             " closed CAPAs {capas}", **{name: counts[name] for name in
                                                      ("rounds", "responses", "answers", "feedback", "capas")})


@app.command(name="check")
def records_check(
    today: Annotated[Optional[str], typer.Option("--today", help="Judge as if today were this date (YYYY-MM-DD).", show_default=False)] = None,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """List the records older than records.keep_years: rounds by period end, feedback by received date, CAPAs by close date.

    Example: csat records check --format json
    """
    from csat.procedure.retention import check

    day = parse_or_usage(_day, today, "--today") or date.today()
    opened, store = workspace_and_store(home)
    keep_years = opened.settings.records.keep_years
    with store.read_session() as session:
        plan = check(session, keep_years, day)
    _show(plan, fmt, day)
    say(_("Older than {years} years (before {before}): {counts}", years=keep_years,
                        before=plan.before.isoformat(), counts=_counts_line(plan.counts())))
    if plan.kept:
        say(_("{n} of them must stay while a kept record refers to them (column 'Kept for')",
                            n=len(plan.kept)))


@app.command(name="purge")
def records_purge(
    before: Annotated[str, typer.Option("--before", help="Purge the records dated before this day (YYYY-MM-DD).", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", help="Really delete them; without it nothing is deleted (a dry run).")] = False,
    reason: Reason = None,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """Purge the records dated before a day and older than records.keep_years; a dry run unless --yes.

    Example: csat records purge --before 2021-01-01 --yes --reason "record control procedure: kept 3 years"
    """
    from csat.procedure.retention import plan, purge, refuse_young
    from csat.store import audit

    day = parse_or_usage(_day, before, "--before")
    if yes:
        require_reason(reason, "records purge --yes")
    opened, store = workspace_and_store(home)
    keep_years = opened.settings.records.keep_years
    refuse_young(keep_years, day, date.today())
    if not yes:
        with store.read_session() as session:
            planned = plan(session, keep_years, day)
        _show(planned, fmt)
        say(_("Dry run, nothing deleted: {counts} would be purged; add --yes --reason TEXT to purge them",
                            counts=_counts_line(planned.counts())))
        return
    with store.session() as session, audit.reason(reason):
        done = purge(session, keep_years, day)
    _show(done, fmt)
    say(_("Purged {counts} dated before {before}, in one audit entry",
                        counts=_counts_line(done.counts()), before=day.isoformat()))
