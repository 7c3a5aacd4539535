"""`csat audit list`: who changed which record, when, from what to what."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from csat.cli._common import Format, Home, emit, workspace_and_store

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "#"), ("at", "When"), ("actor", "Who"), ("table", "Record"), ("key", "Key"),
           ("action", "Action"), ("summary", "Changes")]


@app.command(name="list")
def audit_list(
    table: Annotated[Optional[str], typer.Option("--table", help="Only this kind of record, e.g. customer, capa.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Only this record (code or number).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent entries to show.")] = 50,
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """Show the audit trail, newest first.

    Example: csat audit list --table customer --key C-001
    """
    from csat.store.auditlog import entries

    _, store = workspace_and_store(home)
    with store.read_session() as session:
        records = entries(session, table=table, key=key, limit=limit)
    emit(records, COLUMNS, fmt, empty="no audit entries match")
