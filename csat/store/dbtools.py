"""Store housekeeping: status and consistent backups.

A live SQLite file is never copied (its -wal file holds recent commits):
backups go through `VACUUM INTO`, which writes a consistent snapshot.
"""

from __future__ import annotations

from pathlib import Path

from csat.errors import CsatError


def status_lines(workspace) -> list[str]:
    from csat.store.migrations import HEAD
    from csat.store.engine import describe_url, engine_for, schema_revision

    from csat.store.engine import sqlite_path

    url = workspace.database_url
    path = sqlite_path(url)
    if path is not None and not Path(path).exists():   # connecting would create an empty file
        return [f"workspace  {workspace.root}", f"store      {describe_url(url)}",
                "schema     - (no store file: run `csat db upgrade` to create it, or point store.url at the store)"]
    revision = schema_revision(engine_for(url))
    state = "current" if revision == HEAD else ("empty: run `csat db upgrade`" if revision is None else f"needs `csat db upgrade` to {HEAD}")
    return [
        f"workspace  {workspace.root}",
        f"store      {describe_url(url)}",
        f"schema     {revision or '-'} ({state})",
    ]


def backup(workspace, target: Path) -> Path:
    """A consistent copy of a SQLite store, taken with VACUUM INTO (never a file copy)."""
    from csat.store.engine import open_store

    store = open_store(workspace)
    if not store.is_sqlite:
        raise CsatError("backup copies SQLite stores; for PostgreSQL use pg_dump")
    target = target.expanduser().resolve()
    if target.exists():
        raise CsatError(f"{target} already exists; choose a new file name")
    folder = next((parent for parent in target.parents if parent.exists()), None)
    if folder is not None and not folder.is_dir():
        raise CsatError(f"{folder} is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)  # backups/ on the first backup
    except OSError as exc:
        raise CsatError(f"cannot create the folder {target.parent}: {exc.strerror or exc}") from None
    with store.engine.connect() as connection:
        # VACUUM cannot run in a transaction: go straight to the driver, which is in autocommit mode.
        connection.connection.driver_connection.execute("VACUUM INTO ?", (str(target),))
    return target
