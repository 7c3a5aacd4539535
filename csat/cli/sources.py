"""`csat sources list/get`: the files imports read, kept in the store under their SHA-256, for an auditor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from csat.cli._common import Format, Home, emit, say, workspace_and_store
from csat.i18n import N_, _

app = typer.Typer(no_args_is_help=True)

COLUMNS = [("id", "#"), ("sha256", "SHA-256"), ("name", N_("File")), ("size", N_("Bytes")), ("kind", N_("Imported into")),
           ("imported_at", N_("Imported at")), ("imported_by", N_("Imported by")), ("host", N_("Host")),
           ("records", N_("Records"))]


@app.command(name="list")
def sources_list(
    fmt: Format = "table",
    home: Home = None,
) -> None:
    """List the imported files kept in the store: name, SHA-256, size, when and by whom, records from it.

    Example: csat sources list --format csv
    """
    from csat.store.sources import list_sources
    from csat.vocabulary import labelled, staff_lang

    opened, store = workspace_and_store(home)
    with store.read_session() as session:
        records = list_sources(session)
    if getattr(fmt, "value", fmt) == "table":      # the full hash is for json and csv; 12 digits identify it here
        records = [record | {"sha256": record["sha256"][:12]} for record in records]
    records = [labelled(record, {"kind": "source_kind"}, staff_lang(opened.settings)) for record in records]
    emit(records, COLUMNS, fmt, empty=N_("no imported files archived yet"))


@app.command(name="get")
def sources_get(
    sha256: Annotated[str, typer.Argument(metavar="SHA256", help="The file's SHA-256, or its first 6 or more hex digits.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Write the file's exact bytes here.", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Overwrite OUTPUT if it exists.")] = False,
    home: Home = None,
) -> None:
    """Write an archived imported file back out, byte for byte, as it was imported.

    Example: csat sources get 3f5a9c -o returned-C-001.xlsx
    """
    from csat.files import write_bytes
    from csat.store.sources import content_of

    if output.exists() and not force:
        raise typer.BadParameter(_("{path} exists; choose another name or add --force", path=output),
                                 param_hint="--output")
    _workspace, store = workspace_and_store(home)
    with store.read_session() as session:
        record, content = content_of(session, sha256)
    write_bytes(output, content)
    say(_("Wrote {name} ({size} bytes, SHA-256 {sha256}) to {path}", name=record["name"],
                        size=record["size"], sha256=record["sha256"], path=output))
