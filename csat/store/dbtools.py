"""Store housekeeping: status, upgrades and consistent backups.

A live SQLite file is never copied (its -wal file holds recent commits):
backups go through `VACUUM INTO`, which writes a consistent snapshot. They
work on a store at any schema revision, and `csat db upgrade` takes one of a
SQLite store before migrating it (csat.db.before-<revision>), so an upgrade
can always be undone by putting the old file back with the old csat.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from csat.errors import CsatError
from csat.i18n import _


def schema_state(revision: str | None) -> str:
    """How a store's schema relates to this csat, in words that say what to do."""
    from csat import __version__
    from csat.store.migrations import HEAD, csat_release_for, known_revisions

    if revision == HEAD:
        return _("current")
    if revision is None:
        return _("empty: run `csat db upgrade`")
    if revision not in known_revisions():
        return _("newer than this csat {version} knows (schema {head}): written by csat {release} or newer; "
                 "upgrade csat on this machine, do not run `csat db upgrade`",
                 version=__version__, head=HEAD, release=csat_release_for(revision))
    return _("older than this csat {version} (schema {head}): run `csat db upgrade`", version=__version__, head=HEAD)


def status_lines(workspace) -> list[str]:
    from csat import __version__
    from csat.store.engine import describe_url, engine_for, schema_revision, sqlite_path

    url = workspace.database_url
    path = sqlite_path(url)
    if path is not None and not Path(path).exists():   # connecting would create an empty file
        return [_("workspace  {folder}", folder=workspace.root), _("store      {url}", url=describe_url(url)),
                _("schema     - (no store file: run `csat db upgrade` to create it, or point store.url at the store)")]
    revision = schema_revision(engine_for(url))
    return [
        _("workspace  {folder}", folder=workspace.root),
        _("store      {url}", url=describe_url(url)),
        _("schema     {revision} ({state})", revision=revision or "-", state=schema_state(revision)),
        f"csat       {__version__}",
    ]


@dataclass
class Upgraded:
    before: str | None
    after: str
    backup: Path | None = None   # the SQLite copy taken before migrating


def upgrade(workspace) -> Upgraded:
    """Bring the workspace's store to this csat's schema, backing a SQLite store up first."""
    from csat.store.engine import ensure_writable_sqlite, sqlite_path, upgrade as migrate

    url = workspace.database_url
    ensure_writable_sqlite(url)
    result = Upgraded(before=None, after="")

    def back_up(revision: str | None) -> None:
        if revision is not None:
            result.backup = _backup_before(url, revision)

    on_sqlite_file = sqlite_path(url) is not None
    result.before, result.after = migrate(url, workspace.settings.store.lock_timeout,
                                          before_migrating=back_up if on_sqlite_file else None,
                                          seed=workspace.upgrade_seed())
    return result


def _backup_before(url: str, revision: str) -> Path | None:
    """csat.db.before-<revision> beside the store (dated if that name is taken), named by what the copy holds.

    Another upgrade may finish between reading the revision and taking the copy: the copy is read back, so its
    name never lies, and a copy that is already at this csat's schema is dropped (that upgrade kept its own).
    """
    import sqlite3

    from csat.store.engine import engine_for, sqlite_path
    from csat.store.migrations import HEAD

    database = Path(sqlite_path(url))
    partial = database.with_name(f"{database.name}.before-upgrade.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        _vacuum_into(engine_for(url), partial)
        with sqlite3.connect(partial) as copy:
            held = copy.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        copy.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if held == HEAD:
        partial.unlink()
        return None
    target = database.with_name(f"{database.name}.before-{held}")
    if target.exists():
        target = target.with_name(f"{target.name}-{datetime.now().strftime('%Y%m%dT%H%M%S%f')}")
    partial.rename(target)
    return target


def _vacuum_into(engine, target: Path) -> None:
    with engine.connect() as connection:
        # VACUUM cannot run in a transaction: go straight to the driver, which is in autocommit mode.
        connection.connection.driver_connection.execute("VACUUM INTO ?", (str(target),))


def backup(workspace, target: Path) -> Path:
    """A consistent copy of a SQLite store at any schema revision, taken with VACUUM INTO (never a file copy)."""
    from csat.store.engine import open_store, schema_revision

    store = open_store(workspace, check=False)
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
    if schema_revision(store.engine) is None:
        raise CsatError(_("the store at {url} is empty: nothing to back up", url=workspace.database_url))
    _vacuum_into(store.engine, target)
    return target
