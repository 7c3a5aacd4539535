"""The csat command line: a root app that mounts one sub-app per command group.

Only this package imports typer and rich; every command parses its options,
calls one core function and prints the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from csat import __version__
from csat.cli import (
    _common,
    audit,
    capa,
    check,
    customers,
    db,
    doctor,
    feedback,
    exchange,
    imports,
    items,
    records,
    remind,
    reports,
    review,
    sources,
    surveys,
    workspace,
)
from csat.cli._common import CsatGroup

app = typer.Typer(
    cls=CsatGroup,
    name="csat",
    help="Run the customer-satisfaction control procedure: customers, surveys, imports, reports, complaints, CAPA, reminders.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from csat.store.migrations import HEAD

        typer.echo(f"csat {__version__} (store schema {HEAD})")
        raise typer.Exit()


@app.callback()
def root(
    home: Annotated[Optional[Path], typer.Option("--home", help="Workspace folder (default: CSAT_HOME, else the current folder or a parent with csat.toml).", file_okay=False)] = None,
    version: Annotated[bool, typer.Option("--version", "-V", help="Show the version and exit.", callback=_version, is_eager=True)] = False,
) -> None:
    """csat: the customer-satisfaction procedure, from survey to CAPA."""
    _common.state.home = home


workspace.register(app)
app.add_typer(customers.app, name="customer", help="Add, import, list and edit customers.")
app.add_typer(items.app, name="items", help="Show and load the survey item template.")
app.add_typer(surveys.app, name="survey", help="Open survey rounds, send forms by e-mail, follow who answered.")
app.add_typer(workspace.config_app, name="config", help="Read and change csat.toml settings.")
app.add_typer(db.app, name="db", help="Upgrade, inspect and back up the store.")
app.add_typer(feedback.app, name="feedback", help="Log customer feedback and complaints, reply, close, summarise each quarter.")
app.add_typer(capa.app, name="capa", help="Open, work through, verify and close corrective and preventive actions.")
app.add_typer(audit.app, name="audit", help="Read the audit trail of changes to records; write the evidence pack of a half year.")
app.add_typer(records.app, name="records", help="List the records older than records.keep_years; purge them (dry run by default).")
app.add_typer(sources.app, name="sources", help="List and retrieve the imported files kept in the store.")
app.command(name="report")(reports.report)
app.command(name="review")(review.review)
app.command(name="import")(imports.import_files)
app.command(name="export")(exchange.export)
app.add_typer(imports.response_app, name="response", help="Enter answers by hand; list, show and withdraw responses.")
remind.register(app)
app.command(name="doctor")(doctor.doctor)
app.command(name="check")(check.check)


def main() -> None:
    import os
    import sys

    # Piped or redirected tables would wrap at rich's default 80 columns: give them room.
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        os.environ["COLUMNS"] = "160"
    from csat.cli._common import hold_results_until_exit

    hold_results_until_exit()      # the process ends with _leave: nothing needs freeing before
    try:
        app(prog_name="csat")
    except SystemExit as done:
        _leave(done.code)
    _leave(0)


def _leave(code) -> None:
    """Exit without tearing the interpreter down object by object.

    The work is done, committed and flushed by now; after a 100,000-row import,
    freeing every object one at a time would add a fifth of a second for nothing.
    Database connections are closed first (SQLite checkpoints its log on close).
    """
    import os
    import sys

    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    early = sys.modules.get("csat.importer.early_start")
    if early is not None:     # a reader started for a command that never took it
        early.stop()
    store = sys.modules.get("csat.store.engine")
    if store is not None:
        store.dispose_engines()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
