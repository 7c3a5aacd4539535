"""`csat feedback ...`: the log of what customers say between surveys, and its quarterly summary."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from csat.i18n import N_, _
from csat.cli._common import (
    Format,
    Home,
    LangOption,
    ShowFormatOption,
    emit,
    escape_markup,
    parse_or_usage,
    say,
    say_styled,
    show_record,
    to_json,
    workspace_and_store,
    write_stdout,
)

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "#"), ("received", N_("Received")), ("customer", N_("Customer")), ("kind", N_("Kind")),
           ("complaint", N_("Complaint")), ("channel", N_("Channel")), ("status", N_("Status")),
           ("replied_at", N_("Replied")), ("capa", "CAPA"), ("text", N_("Text"))]
# The names of a record's fields in `feedback show` (JSON keeps the keys).
LABELS = dict(COLUMNS) | {
    "id": N_("Number"), "product": N_("Product"), "owner": N_("Logged by"), "dept": N_("Department"),
    "reply": N_("Reply"), "closed_at": N_("Closed"), "reply_due": N_("Reply due"), "overdue": N_("Overdue"),
    "long_unresolved": N_("Long unresolved"), "void": N_("Void"), "voided_at": N_("Voided"),
    "void_reason": N_("Reason for voiding"), "no_capa_reason": N_("Why no CAPA"), "no_capa_at": N_("No CAPA recorded"),
    "capa_linked": N_("CAPA linked, not opened from it"),
    "source_file_name": N_("Imported from"), "source_sha256": "SHA-256", "source_sheet": N_("Sheet"),
    "source_row": N_("Row"),
}
KIND_HELP = N_("quality, requirement, contract, market, conduct, service or other, or its word in either language"
               " (质量, 要求, 合同, 市场, 业务行为, 服务, 其他); quality, conduct and service are complaints.")
CHANNEL_HELP = N_("phone, fax, email, meeting, visit, wechat, dingtalk or other, or its word"
                  " (电话, 传真, 邮件, 会议, 拜访, 微信/企业微信, 钉钉, 其他).")


class SummaryFormat(str, Enum):
    table = "table"
    json = "json"
    xlsx = "xlsx"
    md = "md"
    csv = "csv"


Number = Annotated[int, typer.Argument(help="The entry number (see `csat feedback list`).")]


def _when(text: Optional[str], option: str):
    from csat.feedback.log import parse_when

    return parse_or_usage(parse_when, text, option)


def _prompt_until(question: str, check, default: Optional[str] = None) -> Any:
    """Ask again until the answer passes check (which raises with a message)."""
    from csat.errors import CsatError

    while True:
        answer = typer.prompt(question, default=default, show_default=default is not None)
        try:
            return check(answer)
        except (CsatError, ValueError) as exc:
            say_styled(f"[red]{escape_markup(str(exc))}[/]")


def _ask_missing(store, settings, given: dict[str, Any], everything: bool) -> dict[str, Any]:
    """Prompt for what the options did not give (on a terminal only)."""
    from csat import vocabulary
    from csat.feedback import log as feedback
    from csat.registry import customers
    from csat.store.models import now

    def known_customer(code: str) -> str:
        with store.read_session() as session:
            return customers.get(session, code.strip()).code

    def when(text: str):
        moment = feedback.parse_when(text)
        feedback.check_not_future(moment, "received", now())
        return moment

    def non_empty(text: str) -> str:
        if not text.strip():
            raise ValueError(_("the text cannot be empty"))
        return text.strip()

    def optional_dept(text: str) -> str:
        return feedback.resolve_dept(settings, text) if text.strip() else ""

    if not given["code"]:
        given["code"] = _prompt_until(_("Customer code"), known_customer)
    if not given["kind"]:
        given["kind"] = _prompt_until(_("Kind ({choices})", choices=vocabulary.choices("kind")), feedback.parse_kind)
    if not given["channel"]:
        given["channel"] = _prompt_until(_("Channel ({choices})", choices=vocabulary.choices("channel")),
                                         feedback.parse_channel)
    if not given["text"]:
        given["text"] = _prompt_until(_("What did the customer say"), non_empty)
    if everything:
        given["received"] = _prompt_until(_("Received (YYYY-MM-DD [HH:MM])"), when, default=f"{now():%Y-%m-%d %H:%M}")
        given["product"] = typer.prompt(_("Product"), default="", show_default=False)
        given["owner"] = typer.prompt(_("Logged by"), default="", show_default=False)
        given["dept"] = _prompt_until(_("Department (code or name, blank for none)"), optional_dept, default="") or None
    return given


@app.command(name="add")
def feedback_add(
    code: Annotated[Optional[str], typer.Argument(help="The customer's code.", show_default=False)] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help=KIND_HELP, show_default=False)] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help=CHANNEL_HELP)] = None,
    text: Annotated[Optional[str], typer.Option("--text", help="What the customer said.")] = None,
    received: Annotated[Optional[str], typer.Option("--received", help="When it came in: YYYY-MM-DD or 'YYYY-MM-DD HH:MM' (default: now).")] = None,
    product: Annotated[str, typer.Option("--product", help="Product or model concerned.")] = "",
    owner: Annotated[str, typer.Option("--owner", help="Who took it (sales or support).")] = "",
    dept: Annotated[Optional[str], typer.Option("--dept", help="Department concerned: code or name, English or Chinese.")] = None,
    capa: Annotated[bool, typer.Option("--capa", help="Also open a CAPA for it (never a second one).")] = False,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Log what a customer said: a complaint or information. Prompts on a terminal when options are missing.

    Example: csat feedback add C-003 --kind quality --channel phone --text "Housing cracks after 2 weeks" --product HX-200
    """
    from csat.capa import records as capas
    from csat.feedback import log as feedback

    opened, store = workspace_and_store(home)
    given = {"code": code, "kind": kind, "channel": channel, "text": text, "received": _when(received, "--received"),
             "product": product, "owner": owner, "dept": dept}
    missing = [name for name in ("code", "kind", "channel", "text") if not given[name]]
    if missing:
        if not sys.stdin.isatty():
            raise typer.BadParameter(_("missing; give it as an option (or run on a terminal to be asked)"),
                                     param_hint="CODE" if missing[0] == "code" else f"--{missing[0]}")
        everything = not any([kind, channel, text, received, product, owner, dept])
        given = _ask_missing(store, opened.settings, given, everything)
    with store.session() as session:
        entry = feedback.add(session, opened.settings, given["code"], given["kind"], given["channel"], given["text"],
                             received=given["received"], product=given["product"], owner=given["owner"],
                             dept=given["dept"])
        opened_capa = capas.open_for_feedback(session, opened.settings, entry.id)[0] if capa else None
        record = feedback.records(session, opened.settings, [entry])[0]
    fields = {"number": entry.id, "customer": record["customer"], "kind": entry.kind, "channel": entry.channel,
              "due": record["reply_due"]}
    if entry.complaint and record["reply_due"]:
        say(_("Logged complaint #{number} from {customer} ({kind}, {channel}); reply due by {due}", **fields))
    elif entry.complaint:
        say(_("Logged complaint #{number} from {customer} ({kind}, {channel})", **fields))
    else:
        say(_("Logged feedback #{number} from {customer} ({kind}, {channel})", **fields))
    if opened_capa is not None:
        say(_("Opened {capa} for it", capa=opened_capa.number))
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(record))
    else:
        write_stdout(f"{entry.id}\n")


@app.command(name="list")
def feedback_list(
    open_only: Annotated[bool, typer.Option("--open", help="Only entries not closed yet.")] = False,
    kind: Annotated[Optional[str], typer.Option("--kind", help="Only this kind.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="Only this customer's entries.")] = None,
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="Only entries received in this quarter, e.g. 2024Q3.")] = None,
    include_void: Annotated[bool, typer.Option("--all", help="Also voided entries (marked void).")] = False,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """List feedback entries, oldest first; voided entries only with --all.

    Example: csat feedback list --open --quarter 2024Q3 --format json
    """
    from csat.feedback import log as feedback
    from csat.periods import Quarter

    period = parse_or_usage(Quarter.parse, quarter, "--quarter")
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        entries = feedback.list_entries(session, open_only=open_only, kind=kind, customer=customer, quarter=period,
                                        include_void=include_void)
        records = feedback.records(session, opened.settings, entries)
    if getattr(fmt, "value", fmt) == "table":
        for record in records:
            record["text"] = _short(record["text"])
            if record["void"]:
                record["status_label"] = _("{status} (void)", status=record["status_label"])
    emit(records, COLUMNS, fmt, empty=N_("no feedback entries match; log one with `csat feedback add`"))


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


@app.command(name="show")
def feedback_show(number: Number, fmt: ShowFormatOption = "table", home: Home = None) -> None:
    """Show one feedback entry with its reply and CAPA.

    Example: csat feedback show 12
    """
    from csat.feedback import log as feedback

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        entry = feedback.get(session, number)
        record = feedback.records(session, opened.settings, [entry])[0]
        despite = feedback.closed_despite_capa(session, entry)
    if getattr(fmt, "value", fmt) != "json" and record["source_sha256"] is None:   # typed in: no file to name
        record = {key: value for key, value in record.items() if not key.startswith("source_")}
    show_record(record, fmt, LABELS)
    if despite:
        say(_("#{number} was closed while {capas} was still open: {reason}", number=record["id"],
                            capas=", ".join(despite["capas"]), reason=despite["reason"]))
    if record["void"]:
        say(_("#{number} is void since {at}: {reason}; it counts in no summary or reminder",
                            number=record["id"], at=record['voided_at'].strftime("%Y-%m-%d %H:%M"), reason=record["void_reason"]))


@app.command(name="reply")
def feedback_reply(
    number: Number,
    text: Annotated[str, typer.Option("--text", help="What was answered to the customer.")],
    at: Annotated[Optional[str], typer.Option("--at", help="When it was answered, if not now: 'YYYY-MM-DD HH:MM' (not in the future, not before it was received); the audit keeps both times.")] = None,
    home: Home = None,
) -> None:
    """Record the reply given to the customer, and when.

    Example: csat feedback reply 12 --text "Replacement housings shipped on 3 Jul; 8D report to follow"
    """
    from csat.feedback import log as feedback

    when = _when(at, "--at")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        entry = feedback.reply(session, number, text, at=when)
    say(_("Recorded the reply to #{number} ({at})", number=entry.id, at=entry.replied_at.strftime("%Y-%m-%d %H:%M")))


@app.command(name="close")
def feedback_close(
    number: Number,
    at: Annotated[Optional[str], typer.Option("--at", help="When it was closed, if not now: 'YYYY-MM-DD HH:MM' (not in the future, not before the reply); the audit keeps both times.")] = None,
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why it closes while its CAPA is still open (kept in the audit trail).", show_default=False)] = None,
    home: Home = None,
) -> None:
    """Close an entry; a complaint needs its reply first, and its CAPA closed (or --reason).

    Example: csat feedback close 12 --at "2024-07-10 16:00"
    """
    from csat.feedback import log as feedback

    when = _when(at, "--at")
    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        entry = feedback.close(session, number, at=when, reason=reason)
    say(_("Closed #{number} ({at})", number=entry.id, at=entry.closed_at.strftime("%Y-%m-%d %H:%M")))


@app.command(name="edit")
def feedback_edit(
    number: Number,
    text: Annotated[Optional[str], typer.Option("--text", help="What the customer said.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help=KIND_HELP, show_default=False)] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help=CHANNEL_HELP)] = None,
    product: Annotated[Optional[str], typer.Option("--product", help="Product or model concerned ('' for none).")] = None,
    owner: Annotated[Optional[str], typer.Option("--owner", help="Who took it.")] = None,
    dept: Annotated[Optional[str], typer.Option("--dept", help="Department concerned: code or name ('' for none).")] = None,
    received: Annotated[Optional[str], typer.Option("--received", help="When it came in: YYYY-MM-DD or 'YYYY-MM-DD HH:MM'.")] = None,
    customer: Annotated[Optional[str], typer.Option("--customer", help="The customer's code.")] = None,
    reply: Annotated[Optional[str], typer.Option("--reply", help="The reply's text, corrected (the entry must have a reply).")] = None,
    replied: Annotated[Optional[str], typer.Option("--replied", help="The reply's time, corrected.")] = None,
    closed: Annotated[Optional[str], typer.Option("--closed", help="The close time, corrected (the entry must be closed).")] = None,
    fmt: ShowFormatOption = "table",
    home: Home = None,
) -> None:
    """Correct an entry's fields; each change is audited with its old and new value, and the state rules still hold.

    Example: csat feedback edit 12 --kind service --text "Installation engineer arrived two days late"
    """
    from csat.feedback import log as feedback

    changes = {"customer": customer, "received": _when(received, "--received"), "kind": kind, "channel": channel,
               "text": text, "product": product, "owner": owner, "dept": dept, "reply": reply,
               "replied": _when(replied, "--replied"), "closed": _when(closed, "--closed")}
    if all(value is None for value in changes.values()):
        raise typer.BadParameter(_("say what to correct, e.g. --text or --kind"), param_hint="OPTIONS")
    opened, store = workspace_and_store(home)
    with store.session() as session:
        entry, changed = feedback.edit(session, opened.settings, number, changes)
        record = feedback.records(session, opened.settings, [entry])[0]
    if not changed:
        say(_("#{number} already has these values; nothing changed", number=entry.id))
    for name, (old, new) in changed.items():
        say(f"#{entry.id} {name}: {_shown(old)} -> {_shown(new)}")
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(record))


def _shown(value: Any) -> str:
    if value is None or value == "":
        return _("(none)")
    if hasattr(value, "strftime"):
        return f"{value:%Y-%m-%d %H:%M}"
    return _short(str(value))


@app.command(name="void")
def feedback_void(
    number: Number,
    reason: Annotated[str, typer.Option("--reason", help="Why the entry does not count (it is kept, never deleted).")],
    home: Home = None,
) -> None:
    """Void an entry logged by mistake: kept and shown with its reason, counted in no summary or reminder.

    Example: csat feedback void 7 --reason "Logged twice; same call as #6"
    """
    from csat.feedback import log as feedback

    opened, store = workspace_and_store(home)
    with store.session() as session:
        entry = feedback.void(session, number, reason)
        record = feedback.records(session, opened.settings, [entry])[0]
    say(_("Voided #{number}: {reason}", number=entry.id, reason=entry.void_reason))
    if record["capa"] and not record["capa_linked"]:
        say(_("{capa} came from it and stays as it is; cancel it with `csat capa cancel {capa} --reason ...`"
                            " if it is no longer needed", capa=record["capa"]))


@app.command(name="link")
def feedback_link(
    number: Number,
    capa: Annotated[str, typer.Argument(help="The CAPA number, e.g. CAPA-2024-007.")],
    shared: Annotated[bool, typer.Option("--shared", help="The CAPA already handles another entry and handles this one too (the same defect).")] = False,
    home: Home = None,
) -> None:
    """Link an existing CAPA to a feedback entry (a CAPA opened from a survey item or an earlier complaint).

    Example: csat feedback link 14 CAPA-2024-003
    """
    from csat.capa import links

    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        entry, linked, changed = links.link(session, number, capa, shared=shared)
    if changed:
        say(_("Linked {capa} to #{number}", capa=linked.number, number=entry.id))
    else:
        say(_("#{number} is already linked to {capa}; nothing changed", number=entry.id, capa=linked.number))


@app.command(name="no-capa")
def feedback_no_capa(
    number: Number,
    reason: Annotated[str, typer.Option("--reason", help="Why this complaint needs no CAPA (kept on the record and shown in `feedback show`).")],
    home: Home = None,
) -> None:
    """Record why a complaint needs no CAPA; `csat check` stops listing it.

    Example: csat feedback no-capa 9 --reason "Carrier damage; claim filed with the carrier, no process at fault"
    """
    from csat.capa import links

    _workspace, store = workspace_and_store(home)
    with store.session() as session:
        entry, changed = links.no_capa(session, number, reason)
    if changed:
        say(_("Recorded why #{number} needs no CAPA: {reason}", number=entry.id, reason=entry.no_capa_reason))
    else:
        say(_("#{number} already has this reason; nothing changed", number=entry.id))


@app.command(name="import")
def feedback_import(
    file: Annotated[Path, typer.Argument(help="xlsx, xls, ods or csv log with columns received, customer, kind, channel, text (English or Chinese headers); optional number (No., 序号), product, owner, dept, reply, replied, status, closed.", dir_okay=False)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the file and report what would change, writing nothing.")] = False,
    home: Home = None,
) -> None:
    """Import a feedback log kept in a spreadsheet, all rows or none; a corrected copy updates its entries.

    Example: csat feedback import examples/feedback-log.csv
    """
    from csat.feedback.intake import import_file
    from csat.sheets.guard import Limits

    opened, store = workspace_and_store(home)
    with store.session() as session:
        result = import_file(session, opened.settings, file, limits=Limits.from_settings(opened.settings))
        if dry_run:
            session.rollback()
    counts = {"file": file.name, "added": len(result.added), "updated": len(result.updated),
              "unchanged": len(result.unchanged)}
    line = (_("Would import {file}: {added} added, {updated} updated, {unchanged} unchanged", **counts) if dry_run
            else _("Imported {file}: {added} added, {updated} updated, {unchanged} unchanged", **counts))
    if result.void:
        line += _(", {n} void (left void)", n=len(result.void))
    say(line)
    if result.updated:
        updated = ", ".join(f"#{number}" for number in result.updated)
        say(_("Would update: {entries}", entries=updated) if dry_run
            else _("Updated: {entries} (see `csat audit list --table feedback`)", entries=updated))


VERSION_COLUMNS = [("version", N_("Version")), ("summarised_at", N_("Made on")), ("made_by", N_("Made by")),
                   ("total", N_("Entries")), ("complaints", N_("Complaints")), ("stale", N_("Stale")),
                   ("added_since", N_("Added since")), ("changed_since", N_("Changed since"))]


@app.command(name="summary")
def feedback_summary(
    quarter: Annotated[str, typer.Option("--quarter", help="The quarter, e.g. 2024Q3.")],
    fmt: Annotated[Optional[SummaryFormat], typer.Option("--format", "-f", help="Output format (default: from the -o suffix, else table); csv only with --versions.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file (needed for xlsx).", dir_okay=False)] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Record a new version from today's entries (the earlier ones are kept).")] = False,
    version: Annotated[Optional[int], typer.Option("--version", help="Show this recorded version instead of the latest.", min=1, metavar="N", show_default=False)] = None,
    list_versions: Annotated[bool, typer.Option("--versions", help="List the quarter's recorded versions: when made, by whom, stale or not.")] = False,
    lang: LangOption = None,
    home: Home = None,
) -> None:
    """Summarise a quarter's feedback and complaints; the first summary of an ended quarter is kept as its record.

    Printing it again shows the record as it was made; --refresh records a new version when
    entries of the quarter changed since. A quarter not ended is shown as a preview, not recorded.

    Example: csat feedback summary --quarter 2024Q3 -o complaints-2024Q3.xlsx
    """
    from csat.feedback import summary as summaries
    from csat.feedback import summary_record
    from csat.files import write_text
    from csat.periods import Quarter

    period = parse_or_usage(Quarter.parse, quarter, "--quarter")
    if list_versions:
        _summary_versions(period, fmt, output, refresh, version, home)
        return
    if refresh and version is not None:
        raise typer.BadParameter(_("--refresh makes a new version; --version shows an existing one: give one of them"),
                                 param_hint="--version")
    chosen = fmt.value if fmt else _format_from(output)
    if chosen == "csv":
        raise typer.BadParameter(_("csv lists the versions: add --versions, or use --format md, json or xlsx"),
                                 param_hint="--format")
    if chosen == "xlsx" and output is None:
        raise typer.BadParameter(_("xlsx needs a file; add -o FILE.xlsx"), param_hint="--format")
    if chosen == "table" and output is not None:
        raise typer.BadParameter(_("a table is for the terminal; use --format md, json or xlsx with -o"), param_hint="--output")
    opened, store = workspace_and_store(home)
    language = lang.value if lang else opened.settings.company.lang
    company = opened.settings.company.name
    with store.session() as session:
        shown = summary_record.show(session, opened.settings, period, version=version, refresh=refresh)
        summary = shown.summary
        if chosen == "xlsx":
            summaries.render_xlsx(summary, output, language, company)
        elif chosen in ("json", "md"):
            if chosen == "json":
                # A record prints exactly as it was made: its stored JSON, byte for byte.
                rendered = shown.record.figures if summary.get("recorded") else summaries.render_json(summary)
            else:
                rendered = summaries.render_md(summary, language, company)
            if output is not None:
                write_text(output, rendered)
            else:
                write_stdout(rendered)
    if chosen == "table":
        _summary_tables(summary, language)
    if output is not None:
        say(_("Wrote {path}", path=output))
    _say_where_from(shown, period)


def _say_where_from(shown, period) -> None:
    """Where the printed summary comes from (made now, a record, a preview), and whether it is stale."""
    summary, row = shown.summary, shown.record
    figures = {"quarter": period, "entries": summary["total"], "complaints": summary["complaints"]}
    refresh = f"csat feedback summary --quarter {period} --refresh"
    if shown.state == "preview":
        say(_("{quarter} has not ended: this is a preview, not recorded ({entries} entries, {complaints} complaints"
              " so far); its summary is recorded once the quarter has ended", **figures))
        return
    if shown.state == "made":
        if row.version == 1:
            say(_("Recorded the {quarter} summary as version 1: {entries} entries, {complaints} complaints;"
                  " printing it again shows this record", **figures))
        else:
            say(_("Recorded the {quarter} summary as version {version}, the earlier versions kept: {entries} entries,"
                  " {complaints} complaints", version=row.version, **figures))
        return
    made = {"version": row.version, "at": row.summarised_at.strftime("%Y-%m-%d %H:%M"), "who": row.made_by or "?"}
    if shown.state == "live":
        say(_("{quarter} was summarised on {at} before csat kept summary records: only its counts were kept"
              " ({entries} entries, {complaints} complaints); the figures shown are computed now and not recorded;"
              " `{command}` records them as version {next}", quarter=period, at=made["at"], entries=row.total,
              complaints=row.complaints, command=refresh, next=shown.versions + 1))
    else:
        say(_("Version {version} of the {quarter} summary, as made on {at} by {who}", quarter=period, **made))
        if row.version < shown.versions:
            say(_("Version {version} is not the latest: {quarter} has {versions} versions (see --versions)",
                  version=row.version, quarter=period, versions=shown.versions))
            return
    if shown.stale:
        say(_("This summary is stale: since it was made, entries of {quarter} were added ({added}) or changed"
              " ({changed}: edited, replied, closed or voided); `{command}` records a new version", quarter=period,
              command=refresh, **shown.changes))


def _summary_versions(period, fmt, output, refresh: bool, version: Optional[int], home) -> None:
    from csat.feedback import summary_record

    if refresh or version is not None or output is not None:
        raise typer.BadParameter(_("--versions lists the versions; it takes no --refresh, --version or -o"),
                                 param_hint="--versions")
    chosen = fmt.value if fmt else "table"
    if chosen not in ("table", "json", "csv"):
        raise typer.BadParameter(_("--versions prints table, json or csv"), param_hint="--format")
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        rows = summary_record.version_list(session, period)
    emit(rows, VERSION_COLUMNS, chosen,
         empty=N_("no recorded summary for this quarter; `csat feedback summary --quarter QUARTER` makes one"))


def _format_from(output: Optional[Path]) -> str:
    if output is None:
        return "table"
    suffix = output.suffix.lower().lstrip(".")
    known = {"xlsx": "xlsx", "json": "json", "md": "md", "markdown": "md"}
    if suffix not in known:
        raise typer.BadParameter(_("cannot tell the format from {name!r}; add --format", name=output.name), param_hint="--output")
    return known[suffix]


def _summary_tables(summary: dict[str, Any], lang: str) -> None:
    from rich.table import Table

    from csat.cli._common import console as records_console
    from csat.feedback.summary import count_tables, headline, shown, text

    console = records_console()
    head = Table(title=f"{text('title', lang)} {summary['quarter']}", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    for name, value in headline(summary, lang):
        head.add_row(escape_markup(name), escape_markup(value))
    console.print(head)
    for title, first, rows in count_tables(summary, lang):
        if not rows:
            continue
        table = Table(title=title, title_justify="left", header_style="bold")
        table.add_column(first)
        table.add_column(text("count", lang), justify="right")
        for name, count in rows:
            table.add_row(escape_markup(name), str(count))
        console.print(table)
    if summary["repeat_topics"]:
        table = Table(title=text("repeat_topics", lang), title_justify="left", header_style="bold")
        for key in ("customer", "kind", "product", "count", "id"):
            table.add_column(text(key, lang))
        for topic in summary["repeat_topics"]:
            table.add_row(topic["customer"], shown(summary, "kind", topic["kind"], lang), escape_markup(topic["product"]), str(topic["count"]),
                          ", ".join(f"#{number}" for number in topic["entries"]))
        console.print(table)
