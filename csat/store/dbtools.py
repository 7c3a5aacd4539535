"""Store housekeeping: status, upgrades, consistent backups and restoring them.

A live SQLite file is never copied (its -wal file holds recent commits):
backups go through `VACUUM INTO`, which writes a consistent snapshot. They
work on a store at any schema revision, and `csat db upgrade` takes one of a
SQLite store before migrating it (csat.db.before-<revision>), so an upgrade
can always be undone by putting the old file back with the old csat.
`csat db restore` puts a backup back: checked first, copied with SQLite's backup API, the store
it replaces kept beside it. On PostgreSQL both commands exit 1 with the pg_dump / pg_restore
command to run instead (the server's own tools copy a live database consistently).
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
    from csat.store.engine import ensure_writable_sqlite, sqlite_path
    from csat.store.engine import upgrade as migrate

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
    from csat.store.engine import open_store, schema_revision, sqlite_path

    if sqlite_path(workspace.database_url) is None:
        raise CsatError(postgres_instead("backup", workspace.database_url))
    store = open_store(workspace, check=False)
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


@dataclass
class Restored:
    source: Path
    target: Path
    revision: str
    kept: Path | None = None      # the store that was overwritten, kept beside it
    upgraded_from: str | None = None


def check_backup(source: Path) -> str:
    """The schema revision of a csat SQLite store file, opened read-only; CsatError in one line if it is not one."""
    import sqlite3

    from csat.store.migrations import known_revisions

    if not source.is_file():
        raise CsatError(_("{path} is not a file", path=source))
    refused = _("{path} is not a csat store", path=source)
    try:
        with open(source, "rb") as stream:
            if stream.read(16) != b"SQLite format 3\x00":
                raise CsatError(_("{refused}: not a SQLite file", refused=refused))
        connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'").fetchone() is None:
                raise CsatError(_("{refused}: it has no csat schema (alembic_version)", refused=refused))
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
            if revision not in known_revisions():
                raise CsatError(_("{path} has schema {revision!r}, which this csat does not know (written by a newer"
                                  " csat, or not a csat store)", path=source, revision=revision))
            problems = [line for (line,) in connection.execute("PRAGMA integrity_check").fetchall() if line != "ok"]
            if problems:
                problem = " ".join(" ".join(problems[:3]).split())
                raise CsatError(_("{path} is damaged (integrity check: {problem})", path=source,
                                  problem=problem if len(problem) <= 200 else problem[:199] + "…"))
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise CsatError(_("{refused}: {error}", refused=refused, error=" ".join(str(exc).split()))) from None
    except OSError as exc:
        raise CsatError(_("cannot read {path}: {error}", path=source, error=exc.strerror or exc)) from None
    return revision


def restore(workspace, source: Path, force: bool = False) -> Restored:
    """Put a backup (`csat db backup`) in place of the workspace's SQLite store, then upgrade it if it is older.

    The file is checked first (a SQLite file with a schema revision this csat knows, integrity_check ok);
    an existing store is replaced only with force, and kept as csat.db.before-restore-<timestamp>. The copy
    goes through SQLite's backup API into a new file beside the store, which is renamed into place only when
    complete, so a failure leaves the store as it was.
    """
    import sqlite3

    from csat.store.engine import dispose_engines, sqlite_path
    from csat.store.migrations import HEAD

    url = workspace.database_url
    path = sqlite_path(url)
    if path is None:
        raise CsatError(postgres_instead("restore", url))
    source = source.expanduser().resolve()
    revision = check_backup(source)
    database = Path(path).resolve()
    if source == database:
        raise CsatError(_("{path} is the store itself", path=source))
    exists = database.exists()
    if exists and not force:
        raise CsatError(_("a store already exists at {path}; add --force to replace it (it is kept as {name})",
                          path=database, name=f"{database.name}.before-restore-<timestamp>"))
    if not database.parent.is_dir():
        raise CsatError(_("the folder {path} does not exist", path=database.parent))
    result = Restored(source=source, target=database, revision=revision)
    partial = database.with_name(f"{database.name}.restore.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    try:
        reading = sqlite3.connect(f"{source.as_uri()}?mode=ro", uri=True)
        writing = sqlite3.connect(partial)
        try:
            reading.backup(writing)
            writing.execute("PRAGMA journal_mode=WAL")
        finally:
            writing.close()
            reading.close()
        dispose_engines()
        if exists:
            result.kept = database.with_name(f"{database.name}.before-restore-{datetime.now().strftime('%Y%m%dT%H%M%S')}")
            if result.kept.exists():
                result.kept = result.kept.with_name(f"{database.name}.before-restore-"
                                                    f"{datetime.now().strftime('%Y%m%dT%H%M%S%f')}")
            _vacuum_into_file(database, result.kept)
            for suffix in ("-wal", "-shm"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
        os.replace(partial, database)
    except sqlite3.Error as exc:
        raise CsatError(_("cannot restore {path}: {error}", path=source, error=exc)) from None
    except OSError as exc:
        raise CsatError(_("cannot restore {path}: {error}", path=source, error=exc.strerror or exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    if revision != HEAD:
        result.upgraded_from = revision
        result.revision = upgrade(workspace).after
    return result


def _vacuum_into_file(database: Path, target: Path) -> None:
    """A consistent copy of the store being replaced (its -wal file included), taken under its write lock."""
    import sqlite3

    connection = sqlite3.connect(database, timeout=30, isolation_level=None)
    try:
        connection.execute("VACUUM INTO ?", (str(target),))
    finally:
        connection.close()


def postgres_instead(command: str, url: str) -> str:
    """For a PostgreSQL store: the pg_dump / pg_restore command to use instead (password never shown)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parts = [f"--host={parsed.host}" if parsed.host else "", f"--port={parsed.port}" if parsed.port else "",
             f"--username={parsed.username}" if parsed.username else ""]
    where = " ".join(part for part in parts if part)
    database = parsed.database or ""
    if command == "backup":
        line = f"pg_dump --format=custom {where} --file=csat.dump {database}"
        return _("the store is on PostgreSQL: back it up with `{command}`", command=" ".join(line.split()))
    line = f"pg_restore --clean --if-exists --single-transaction {where} --dbname={database} csat.dump"
    return _("the store is on PostgreSQL: restore a pg_dump backup with `{command}`, then run `csat db upgrade`",
             command=" ".join(line.split()))
