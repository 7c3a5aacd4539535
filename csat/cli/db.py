"""`csat db ...`: the store's schema and backups."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from csat.cli._common import Home, say, workspace
from csat.i18n import _

app = typer.Typer(no_args_is_help=True)


@app.command(name="upgrade")
def db_upgrade(home: Home = None) -> None:
    """Apply schema migrations to the store (safe to run any time, from several machines at once).

    A SQLite store is first copied to csat.db.before-<revision>.

    Example: csat db upgrade
    """
    from csat.store import dbtools

    done = dbtools.upgrade(workspace(home))
    if done.backup is not None:
        say(_("Backed up the store to {path}", path=done.backup))
    if done.before == done.after:
        say(_("Store already at schema {revision}", revision=done.after))
    elif done.before is None:
        say(_("Store created at schema {revision}", revision=done.after))
    else:
        say(_("Store upgraded from schema {old} to schema {revision}", old=done.before, revision=done.after))


@app.command(name="status")
def db_status(home: Home = None) -> None:
    """Show where the store is and its schema revision.

    Example: csat db status
    """
    from csat.store import dbtools

    for line in dbtools.status_lines(workspace(home)):
        say(line)


@app.command(name="backup")
def db_backup(
    target: Annotated[Path, typer.Argument(help="File to write the copy to (must not exist; missing folders are created).", dir_okay=False)],
    home: Home = None,
) -> None:
    """Copy a consistent snapshot of a SQLite store, at any schema revision (safe while others use it).

    Example: csat db backup backups/csat-2024-07-01.db
    """
    from csat.store import dbtools

    written = dbtools.backup(workspace(home), target)
    say(_("Backed up the store to {path}", path=written))


@app.command(name="restore")
def db_restore(
    source: Annotated[Path, typer.Argument(help="A copy written by `csat db backup` (or a csat.db.before-* file).", dir_okay=False)],
    force: Annotated[bool, typer.Option("--force", help="Replace the existing store (it is kept as csat.db.before-restore-<timestamp>).")] = False,
    home: Home = None,
) -> None:
    """Put a backup back as the workspace's SQLite store, upgrading its schema if it is older.

    The file is checked first (a csat store, integrity check ok). Stop everyone else using the store first.

    Example: csat db restore backups/csat-2024-07-01.db --force
    """
    from csat.store import dbtools

    done = dbtools.restore(workspace(home), source, force=force)
    if done.kept is not None:
        say(_("Kept the replaced store as {path}", path=done.kept))
    say(_("Restored {source} to {path} (schema {revision})", source=done.source, path=done.target, revision=done.revision))
    if done.upgraded_from is not None:
        say(_("Upgraded the restored store from schema {old} to schema {revision}", old=done.upgraded_from,
              revision=done.revision))
