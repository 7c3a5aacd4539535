"""Store housekeeping: status and consistent backups.

A live SQLite file is never copied (its -wal file holds recent commits):
backups go through `VACUUM INTO`, which writes a consistent snapshot.
"""

from __future__ import annotations

from pathlib import Path

from csat.errors import CsatError
from csat.i18n import _


def status_lines(workspace) -> list[str]:
    from csat.store.engine import describe_url, engine_for, schema_revision
    from csat.store.migrations import HEAD

    url = workspace.database_url
    revision = schema_revision(engine_for(url))
    if revision == HEAD:
        state = _("current")
    elif revision is None:
        state = _("empty: run `csat db upgrade`")
    else:
        state = _("needs `csat db upgrade` to {revision}", revision=HEAD)
    return [
        _("workspace  {folder}", folder=workspace.root),
        _("store      {url}", url=describe_url(url)),
        _("schema     {revision} ({state})", revision=revision or "-", state=state),
    ]


def backup(workspace, target: Path) -> Path:
    """A consistent copy of a SQLite store, taken with VACUUM INTO (never a file copy)."""
    from csat.store.engine import open_store

    store = open_store(workspace)
    if not store.is_sqlite:
        raise CsatError(_("backup copies SQLite stores; for PostgreSQL use pg_dump"))
    target = target.expanduser().resolve()
    if target.exists():
        raise CsatError(_("{path} already exists; choose a new file name", path=target))
    folder = next((parent for parent in target.parents if parent.exists()), None)
    if folder is not None and not folder.is_dir():
        raise CsatError(_("{path} is not a folder", path=folder))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # backups/ on the first backup
    except OSError as exc:
        raise CsatError(_("cannot create the folder {path}: {error}", path=target.parent, error=exc.strerror or exc)) from None
    with store.engine.connect() as connection:
        # VACUUM cannot run in a transaction: go straight to the driver, which is in autocommit mode.
        connection.connection.driver_connection.execute("VACUUM INTO ?", (str(target),))
    return target
