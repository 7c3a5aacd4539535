"""Store housekeeping: status and consistent backups.

A live SQLite file is never copied (its -wal file holds recent commits):
backups go through `VACUUM INTO`, which writes a consistent snapshot.
"""

from __future__ import annotations

from pathlib import Path

from csat.errors import CsatError


def status_lines(workspace) -> list[str]:
    from csat.migrations import HEAD
    from csat.store import describe_url, engine_for, schema_revision

    url = workspace.database_url
    revision = schema_revision(engine_for(url))
    state = "current" if revision == HEAD else ("empty: run `csat db upgrade`" if revision is None else f"needs `csat db upgrade` to {HEAD}")
    return [
        f"workspace  {workspace.root}",
        f"store      {describe_url(url)}",
        f"schema     {revision or '-'} ({state})",
    ]


def backup(workspace, target: Path) -> Path:
    from sqlalchemy import text

    from csat.store import open_store

    store = open_store(workspace)
    if not store.is_sqlite:
        raise CsatError("backup copies SQLite stores; for PostgreSQL use pg_dump")
    target = target.expanduser().resolve()
    if target.exists():
        raise CsatError(f"{target} already exists; choose a new file name")
    if not target.parent.is_dir():
        raise CsatError(f"{target.parent} is not a folder")
    with store.engine.connect().execution_options(csat_read_only=True) as connection:
        connection.exec_driver_sql("COMMIT") if connection.in_transaction() else None
        connection.connection.driver_connection.execute("VACUUM INTO ?", (str(target),))
    return target
