"""`csat audit list`: who changed which record, when, from what to what; `csat audit pack`: the evidence pack of a half."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat.i18n import N_, _
from csat.cli._common import (
    Format,
    Home,
    LangOption,
    ShowFormatOption,
    emit,
    fail,
    parse_or_usage,
    say,
    to_json,
    workspace_and_store,
    write_stdout,
)

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "#"), ("at", N_("When")), ("actor", N_("Who")), ("host", N_("Host")), ("table", N_("Record")),
           ("key", N_("Key")), ("action", N_("Action")), ("summary", N_("Changes"))]


@app.command(name="list")
def audit_list(
    table: Annotated[Optional[str], typer.Option("--table", help="Only this kind of record, e.g. customer, capa.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Only this record: a code, CAPA number, or feedback number (17 or #17).")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only changes on or after this date (YYYY-MM-DD) or time (YYYY-MM-DD HH:MM).", show_default=False)] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Only changes on or before this date (the whole day) or time.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent entries to show.")] = 50,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """Show the audit trail, newest first.

    Example: csat audit list --table customer --key C-001 --since 2024-07-01 --until 2024-07-31
    """
    from csat.store.auditlog import entries, parse_moment

    start = parse_or_usage(parse_moment, since, "--since")
    end = parse_or_usage(lambda text: parse_moment(text, end=True), until, "--until")
    if start is not None and end is not None and start > end:
        raise typer.BadParameter(_("{since} is after --until {until}", since=since, until=until), param_hint="--since")
    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        records = entries(session, table=table, key=key, limit=limit, since=start, until=end)
    emit(records, COLUMNS, fmt, empty=N_("no audit entries match"))


@app.command(name="verify")
def audit_verify(fmt: ShowFormatOption = "table", home: Home = None) -> None:
    """Check the audit trail's hash chain: no entry changed, deleted or moved since it was written.

    Exits 0 with the number of entries checked, or 1 naming the first entry that breaks the chain.

    Example: csat audit verify --format json
    """
    from csat.store.auditlog import verify_chain

    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        result = verify_chain(session)
    if getattr(fmt, "value", fmt) == "json":
        write_stdout(to_json(result))
    elif result["ok"]:
        write_stdout(result["message"] + "\n")
    if not result["ok"]:
        fail(result["message"])


@app.command(name="pack")
def audit_pack(
    half: Annotated[str, typer.Option("--half", help="The half year the pack covers, e.g. 2024H2.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The pack to write: a .xlsx workbook, or a .zip with the workbook and the imported source files.", dir_okay=False, show_default=False)],
    lang: LangOption = None,
    home: Home = None,
) -> None:
    """Write the audit evidence pack of a half year: coverage, answers with sources, CAPAs, complaints, audit entries.

    Example: csat audit pack --half 2024H2 -o evidence-2024H2.zip --lang zh
    """
    from csat.periods import Half
    from csat.reports.evidence import build_pack, check_output

    period = parse_or_usage(Half.parse, half, "--half")
    parse_or_usage(check_output, output, "--output")
    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        result = build_pack(session, opened.settings, period, output, lang.value if lang else None,
                            outbox=opened.outbox)
    say(_("Wrote {path}: evidence pack of {half}, content hash {hash}", path=result.path,
                        half=result.half, hash=result.content_hash))
    if result.empty:
        say(_("{half} has no survey round: the pack says so", half=result.half))
    missing = [entry["source_file"] for entry in result.sources if entry["status"] == "missing"]
    if missing:
        say(_("{n} source file(s) no longer at their path, listed as missing in manifest.json: {files}",
                            n=len(missing), files=", ".join(missing)))
