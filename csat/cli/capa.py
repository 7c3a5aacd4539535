"""`csat capa ...`: corrective and preventive action records, from opening to closing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.cli._common import (
    Format,
    Home,
    LangOption,
    Reason,
    ShowFormatOption,
    emit,
    parse_or_usage,
    say,
    show_record,
    to_json,
    workspace_and_store,
    write_stdout,
)
from csat.i18n import N_, _
from csat.vocabulary import in_sentence

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("number", "CAPA"), ("status", N_("Status")), ("source", N_("Source")), ("title", N_("Title")),
           ("dept", N_("Dept")), ("due", N_("Due")), ("overdue", N_("Overdue"))]
# The names of a CAPA's fields in `capa show` (JSON keeps the keys).
LABELS = dict(COLUMNS) | {
    "number": N_("Number"), "id": "ID", "source_kind": N_("Source kind"), "period": N_("Period"), "item": N_("Item"),
    "feedback": N_("Feedback"), "customer": N_("Customer"), "description": N_("Nonconformity"),
    "root_cause": N_("Root cause"), "correction": N_("Correction"), "corrective_action": N_("Corrective action"),
    "preventive_action": N_("Preventive action"), "verified_by": N_("Verified by"), "verified_at": N_("Verified on"),
    "verification_result": N_("Verification result"), "verification_note": N_("Verification note"),
    "created_at": N_("Opened"), "updated_at": N_("Updated"), "closed_at": N_("Closed"), "cancel_reason": N_("Reason for cancelling"),
}


Reference = Annotated[str, typer.Argument(help="The CAPA number, e.g. CAPA-2024-007.")]
Title = Annotated[Optional[str], typer.Option("--title", help="Short title (default: from the source).")]
Dept = Annotated[Optional[str], typer.Option("--dept", help="Owner department: code or name, English or Chinese.")]
Due = Annotated[Optional[str], typer.Option("--due", help="Due date YYYY-MM-DD, after the date the CAPA was opened"
                                                           " (default: capa.due_days after it).")]
At = Annotated[Optional[str], typer.Option("--at", help="For a record written after the fact: the date it happened,"
                                                         " YYYY-MM-DD (not in the future; kept beside the real time of entry).")]
VERIFICATION_COLUMNS = [("number", "#"), ("date", N_("Date")), ("result", N_("Result")), ("by", N_("By")),
                        ("note", N_("Note")), ("entered_at", N_("Entered"))]
REOPENING_COLUMNS = [("date", N_("Reopened")), ("by", N_("By")), ("from", N_("From")), ("reason", N_("Reason")),
                     ("entered_at", N_("Entered"))]


def _date(text: Optional[str], option: str):
    from datetime import date

    return parse_or_usage(date.fromisoformat, text, option)


@app.command(name="open")
def capa_open(
    from_item: Annotated[Optional[str], typer.Option("--from-item", help="Survey item code below its limit (with --half).")] = None,
    half: Annotated[Optional[str], typer.Option("--half", help="The survey round of the item, e.g. 2024H1.")] = None,
    from_feedback: Annotated[Optional[int], typer.Option("--from-feedback", help="Feedback entry number.")] = None,
    title: Title = None, dept: Dept = None, due: Due = None,
    reason: Annotated[str, typer.Option("--reason", help="Description of the nonconformity (item sources).")] = "",
    at: At = None,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Open a CAPA from a survey item of a round or from a feedback entry; prints its number.

    A CAPA written up after the fact takes --at DATE, the date it was opened (its number follows that year).

    Example: csat capa open --from-item delivery --half 2024H1 --dept materials --due 2024-09-30
    """
    from csat.capa import records as capas

    if (from_item is None) == (from_feedback is None):
        raise typer.BadParameter(_("give exactly one source: --from-item CODE --half P, or --from-feedback N"),
                                 param_hint="--from-item/--from-feedback")
    if from_item is not None and not half:
        raise typer.BadParameter(_("--from-item needs the round, e.g. --half 2024H1"), param_hint="--half")
    due_date, at_date = _date(due, "--due"), _date(at, "--at")
    opened, store = workspace_and_store(home)
    with store.session() as session:
        if from_item is not None:
            capa, created = capas.open_for_item(session, opened.settings, half, from_item, reason=reason,
                                                title=title, dept=dept, due=due_date, at=at_date)
        else:
            capa, created = capas.open_for_feedback(session, opened.settings, from_feedback, title=title,
                                                    dept=dept, due=due_date, at=at_date)
        record = capas.record(session, opened.settings, capa)
    if created:
        say(_("Opened {capa}: {title} (owner {owner}, due {due})", capa=capa.number, title=capa.title,
                            owner=record.get("dept_label") or record.get("dept") or _("none"), due=capa.due_date))
    else:
        say(_("{capa} already exists for this source ({status}); nothing opened", capa=capa.number,
              status=record.get("status_label") or capa.status))
    write_stdout(to_json(record) if getattr(fmt, "value", fmt) == "json" else f"{capa.number}\n")


@app.command(name="list")
def capa_list(
    status: Annotated[Optional[str], typer.Option("--status", help="Only CAPAs in this state: open, in_progress, verified, verified_not_effective, closed or cancelled (or its word, e.g. 进行中).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open or in-progress CAPAs past their due date.")] = False,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """List CAPAs.

    Example: csat capa list --status in_progress --overdue
    """
    from csat.capa import records as capas

    from csat import vocabulary

    wanted = parse_or_usage(lambda text: vocabulary.parse("capa_status", text), status, "--status")
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        found = capas.list_capas(session, status=wanted, overdue=overdue)
        records = capas.records(session, opened.settings, found)
    emit(records, COLUMNS, fmt, empty=N_("no CAPAs match"))


@app.command(name="show")
def capa_show(reference: Reference, fmt: ShowFormatOption = "table", home: Home = None) -> None:
    """Show every field of one CAPA, with every verification and reopening.

    Example: csat capa show CAPA-2024-007
    """
    from csat.capa import records as capas

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        record = capas.record(session, opened.settings, capas.get(session, reference))
    if getattr(fmt, "value", fmt) == "json":
        show_record(record, fmt)
        return
    fields = {key: value for key, value in record.items() if key not in ("verifications", "reopenings")}
    show_record(fields, fmt, LABELS)
    if record["verifications"]:
        emit([{"number": number} | verification for number, verification in enumerate(record["verifications"], 1)],
             VERIFICATION_COLUMNS, fmt, title=N_("Verifications"))
    if record["reopenings"]:
        emit(record["reopenings"], REOPENING_COLUMNS, fmt, title=N_("Reopenings"))


@app.command(name="update")
def capa_update(
    reference: Reference,
    cause: Annotated[Optional[str], typer.Option("--cause", help="Root cause found.")] = None,
    correction: Annotated[Optional[str], typer.Option("--correction", help="Immediate correction of the nonconformity.")] = None,
    action: Annotated[Optional[str], typer.Option("--action", help="Corrective action against the cause.")] = None,
    prevention: Annotated[Optional[str], typer.Option("--prevention", help="Preventive action against recurrence elsewhere.")] = None,
    description: Annotated[Optional[str], typer.Option("--description", help="Description of the nonconformity.")] = None,
    title: Title = None, dept: Dept = None, due: Due = None,
    reason: Reason = None,
    home: Home = None,
) -> None:
    """Record the root cause and actions (the work starts: open -> in_progress), or change title, owner, due date.

    Moving the due date needs --reason (audited).

    Example: csat capa update CAPA-2024-007 --cause "Mould wear not tracked" --action "Shot counter and PM every 50k shots"
    """
    from csat.capa import records as capas
    from csat.store import audit

    due_date = _date(due, "--due")
    opened, store = workspace_and_store(home)
    with store.session() as session, audit.reason(reason):
        capa = capas.update(session, opened.settings, reference, cause=cause, correction=correction, action=action,
                            prevention=prevention, title=title, description=description, dept=dept, due=due_date,
                            reason=reason)
    say(_("Updated {capa} ({status})", capa=capa.number, status=in_sentence("capa_status", capa.status)))


@app.command(name="verify")
def capa_verify(
    reference: Reference,
    by: Annotated[str, typer.Option("--by", help="Who checked the effectiveness.")],
    result: Annotated[str, typer.Option("--result", help="effective (有效), or not-effective (无效): back to in_progress.")],
    note: Annotated[str, typer.Option("--note", help="Evidence or remarks.")] = "",
    at: At = None,
    home: Home = None,
) -> None:
    """Record an effectiveness check of the actions; every check is kept, the last one decides.

    effective -> verified; not-effective -> verified_not_effective (reopen it to rework the actions).

    Example: csat capa verify CAPA-2024-007 --by "Zhou Li" --result effective --note "No cracks in 3 lots"
    """
    from csat.capa import records as capas

    from csat import vocabulary

    at_date = _date(at, "--at")
    code = parse_or_usage(lambda text: vocabulary.parse("result", text), result, "--result")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        capa = capas.verify(session, reference, by=by, result=code, note=note, at=at_date)
    say(_("{capa}: verification {result}; now {status}", capa=capa.number, result=in_sentence("result", code),
          status=in_sentence("capa_status", capa.status)))


@app.command(name="close")
def capa_close(reference: Reference, at: At = None, home: Home = None) -> None:
    """Close a CAPA verified effective (--at DATE: not before its last verification).

    Example: csat capa close CAPA-2024-007
    """
    from csat.capa import records as capas

    at_date = _date(at, "--at")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        capa = capas.close(session, reference, at=at_date)
    say(_("Closed {capa}", capa=capa.number))


@app.command(name="reopen")
def capa_reopen(
    reference: Reference,
    reason: Annotated[str, typer.Option("--reason", help="Why it goes back into the work; kept on the record.")],
    at: At = None,
    home: Home = None,
) -> None:
    """Reopen a CAPA verified not effective, verified or closed: back to in_progress, with the reason.

    Its verifications stay on the record; it needs a new effective one to close again.

    Example: csat capa reopen CAPA-2024-007 --reason "Cracks again in lot 2411-03"
    """
    from csat.capa import records as capas

    at_date = _date(at, "--at")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        capa = capas.reopen(session, reference, reason=reason, at=at_date)
    say(_("Reopened {capa}; now {status}", capa=capa.number, status=in_sentence("capa_status", capa.status)))


@app.command(name="cancel")
def capa_cancel(
    reference: Reference,
    reason: Annotated[str, typer.Option("--reason", help="Why it is not needed; kept on the record.")],
    home: Home = None,
) -> None:
    """Cancel an open, in-progress or verified-not-effective CAPA, with the reason.

    Example: csat capa cancel CAPA-2024-008 --reason "Duplicate of CAPA-2024-007"
    """
    from csat.capa import records as capas

    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        capa = capas.cancel(session, reference, reason=reason)
    say(_("Cancelled {capa}", capa=capa.number))


@app.command(name="form")
def capa_form(
    reference: Reference,
    output: Annotated[Path, typer.Option("--output", "-o", help="FILE.xlsx or FILE.html.", dir_okay=False)],
    lang: LangOption = None,
    home: Home = None,
) -> None:
    """Write the printable CAPA report form to send to the owner department.

    Example: csat capa form CAPA-2024-007 -o CAPA-2024-007.xlsx --lang zh
    """
    from csat.capa.form import write_form

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        path = write_form(session, opened.settings, reference, output, lang.value if lang else None)
    say(_("Wrote {path}", path=path))
