"""Engine and sessions over SQLite (default) or PostgreSQL.

SQLite is tuned for a tool that several people and cron use at once: WAL
mode, foreign keys on, a busy timeout, and write transactions that start with
BEGIN IMMEDIATE so a writer waits for the lock instead of failing half-way
("database is locked" after a deferred read). Reads may use `read_session`,
which begins a deferred transaction and never waits for a writer.
On PostgreSQL transactions are READ COMMITTED and writers do not exclude each
other by themselves: a writer that plans from what it reads (an import, the
next CAPA or feedback number, opening a round) first takes its lock with
csat.store.locking.hold_for_transaction.
The schema is owned by alembic: a store is usable only at the head revision.

On PostgreSQL every connection names itself (application_name, see
csat.store.locking) so whoever waits for its locks can say who holds them,
and waits for row and table locks at most store.lock_timeout (lock_timeout),
so nothing hangs silently behind a suspended laptop.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

from csat.errors import ConfigError, StoreError
from csat.i18n import N_, _

BUSY_TIMEOUT_MS = 30_000
_engines: dict[str, object] = {}
DEFAULT_CACHE_KIB = 2000       # SQLite's default page cache
BULK_CACHE_KIB = 65536         # a bulk session's (an import of 100,000 responses): see _sqlite_begin


SUPPORTED = N_("SQLite (sqlite:///csat.db) or PostgreSQL (postgresql+psycopg://user@host:5432/csat)")


def _hide_password(url: str) -> str:
    """A URL that may not even parse, with anything between 'user:' and the last '@' hidden."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def check_url(url: str) -> None:
    """A database URL csat can use, or ConfigError in one line with the password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018  (a port that is not a number fails only when read)
    except (ArgumentError, ValueError):
        raise ConfigError(_("database URL {url} cannot be read; special characters in the password must be"
                            " percent-encoded (@ as %40, : as %3A, / as %2F, % as %25)", url=_hide_password(url))) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(_("database URL {url}: csat runs on {supported}",
                            url=parsed.render_as_string(hide_password=True), supported=_(SUPPORTED)))
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise ConfigError(_("database URL {url}: csat talks to PostgreSQL through psycopg 3; write"
                            " postgresql+psycopg://...", url=parsed.render_as_string(hide_password=True)))


def engine_for(url: str):
    """One engine per URL per process, with SQLite pragmas and BEGIN IMMEDIATE installed."""
    engine = _engines.get(url)
    if engine is not None:
        return engine
    check_url(url)
    from sqlalchemy import create_engine, event

    if url.startswith("sqlite"):
        read_only = _read_only_sqlite(url)
        engine = create_engine(read_only or url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # Let SQLAlchemy's begin event, not the driver, decide how transactions start.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            if not read_only:   # setting the journal mode is a write
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            options = connection.get_execution_options()
            if options.get("csat_bulk", False):
                # SQLite ignores this pragma inside a transaction: it must come before BEGIN.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                # A bulk writer touches far more pages than the default 2 MB cache holds: with room for
                # them SQLite does not write pages out mid-transaction and read them back (durability is
                # unchanged: the same commit, the same synchronous setting).
                connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
            connection.exec_driver_sql("BEGIN" if options.get("csat_read_only", False) else "BEGIN IMMEDIATE")

        @event.listens_for(engine, "checkin")
        def _sqlite_checkin(dbapi_connection, _record):
            # A bulk session's settings end with it: the pooled connection goes back as any other.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA cache_size=-{DEFAULT_CACHE_KIB}")
            cursor.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
        _name_and_bound_postgres_sessions(engine)
    _engines[url] = engine
    return engine


def _read_only_sqlite(url: str) -> str | None:
    """A read-only URL for a SQLite store this process may not write (a read-only file or folder), else None.

    Reading such a store (an archived copy, a read-only share) works; every write fails with SQLite's
    "attempt to write a readonly database", which the command line turns into one line. In a folder we
    cannot write, SQLite cannot make the -shm file WAL reading needs, so the file is opened immutable:
    only when no -wal file with commits beside it exists, since immutable would not read them.
    """
    from urllib.parse import quote

    path = sqlite_path(url)
    if path is None or not os.path.exists(path):
        return None
    folder = os.path.dirname(path) or "."
    if os.access(path, os.W_OK) and os.access(folder, os.W_OK):
        return None
    options = "mode=ro"
    if not os.access(folder, os.W_OK) and not os.path.exists(path + "-shm"):
        try:
            pending = os.path.getsize(path + "-wal")
        except OSError:
            pending = 0
        if not pending:
            options += "&immutable=1"
    return f"sqlite:///file:{quote(os.path.abspath(path))}?{options}&uri=true"


def _name_and_bound_postgres_sessions(engine) -> None:
    from sqlalchemy import event

    from csat.store import locking

    @event.listens_for(engine, "do_connect")
    def _postgres_connect(_dialect, _record, _args, parameters):
        parameters.setdefault("application_name", locking.application_name())
        # lock_timeout: no statement waits for a lock for ever. tcp_keepalives_*: the server probes an idle
        # client after a minute and drops the session (and its locks) when nobody answers for another minute.
        bounds = (f"-c lock_timeout={int(locking.DEFAULT_LOCK_TIMEOUT * 1000)} -c tcp_keepalives_idle=60 "
                  "-c tcp_keepalives_interval=10 -c tcp_keepalives_count=6")
        parameters["options"] = f"{bounds} {parameters['options']}" if parameters.get("options") else bounds

    @event.listens_for(engine, "begin")
    def _postgres_begin(connection):
        wanted = connection.get_execution_options().get("csat_lock_timeout")
        if wanted is not None and wanted != locking.DEFAULT_LOCK_TIMEOUT:
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(float(wanted) * 1000)}")


def dispose_engines() -> None:
    """Close pooled connections (tests and forks)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def describe_url(url: str) -> str:
    """The URL for messages, password hidden."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return _("the configured database URL")


def schema_revision(engine) -> str | None:
    """The alembic revision stamped in the store, or None for an empty store."""
    from sqlalchemy import inspect, text

    with engine.connect().execution_options(csat_read_only=True) as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def newer_schema_message(url: str, revision: str) -> str:
    from csat import __version__
    from csat.store.migrations import HEAD, csat_release_for

    return _("the store at {where} has schema {revision}, written by a newer csat ({release} or later; this is"
             " csat {version}, schema {head}); upgrade csat on this machine to use it, do not run `csat db upgrade`"
             " with this one", where=describe_url(url), revision=revision, release=csat_release_for(revision),
             version=__version__, head=HEAD)


def check_schema(engine, url: str) -> None:
    """Refuse a store that is empty, behind, or from a newer csat."""
    from csat.store.migrations import HEAD, known_revisions

    from sqlalchemy.exc import SQLAlchemyError

    try:
        revision = schema_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(_("cannot open the store at {where}: {reason}", where=describe_url(url),
                                   reason=exc.orig or exc)) from None
    if revision == HEAD:
        return
    if revision is None:
        raise StoreError(_("the store at {where} has no csat schema; run `csat db upgrade`", where=describe_url(url)))
    if revision not in known_revisions():
        raise StoreError(newer_schema_message(url, revision))
    raise StoreError(_("the store at {where} has an older schema ({revision}); run `csat db upgrade`",
                       where=describe_url(url), revision=revision))


class Store:
    """The data layer of one workspace: sessions with the audit trail attached."""

    def __init__(self, url: str, check: bool = True, lock_timeout: float | None = None):
        from csat.store.locking import DEFAULT_LOCK_TIMEOUT

        self.url = url
        self.engine = engine_for(url)
        self.lock_timeout = DEFAULT_LOCK_TIMEOUT if lock_timeout is None else float(lock_timeout)
        if check:
            check_schema(self.engine, url)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def session(self, bulk: bool = False) -> Iterator:
        """A write session: one transaction, committed on success, rolled back on any error.

        bulk=True is for a writer that takes every id it writes from rows it read in the same
        transaction (the importer): on SQLite that transaction runs without per-row foreign key
        lookups (a third of the cost of inserting a million answers).
        """
        from sqlmodel import Session

        from csat.store import audit

        engine = self.engine.execution_options(csat_bulk=bulk, csat_lock_timeout=self.lock_timeout)
        with Session(engine, expire_on_commit=False) as session:
            audit.attach(session)
            try:
                yield session
                session.commit()
            except BaseException as exc:
                session.rollback()
                self._explain_lock_timeout(exc)
                raise

    def _explain_lock_timeout(self, exc: BaseException) -> None:
        """A statement that waited store.lock_timeout for a row or table lock: one line naming who was busy."""
        from csat.store.locking import LockTimeout, busy_sessions, lock_timed_out

        if lock_timed_out(exc):
            raise LockTimeout(_("gave up after {seconds} s waiting for a lock on the store at {where}: {who}; try"
                                " again when it has finished (store.lock_timeout sets how long to wait)",
                                seconds=f"{self.lock_timeout:g}", where=describe_url(self.url),
                                who=busy_sessions(self.engine))) from None

    @contextmanager
    def read_session(self) -> Iterator:
        """A read session that never takes the write lock."""
        from sqlmodel import Session

        engine = self.engine.execution_options(csat_read_only=True, csat_lock_timeout=self.lock_timeout)
        with Session(engine) as session:
            try:
                yield session
            except BaseException as exc:
                session.rollback()
                self._explain_lock_timeout(exc)
                raise


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory store)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return None
    return url[len(prefix):]


def refuse_missing_sqlite(url: str) -> None:
    """A SQLite file that does not exist is an error, not a new empty store (connecting would create it)."""
    path = sqlite_path(url)
    if path is not None and not os.path.exists(path):
        raise StoreError(_("no store at {path}: run `csat db upgrade` to create it there, or point store.url"
                           " (or CSAT_DATABASE_URL) at the existing store", path=path))


def open_store(workspace, check: bool = True) -> Store:
    """The store of an opened workspace, refusing one at the wrong schema.

    A checked store lays its shared settings and signing secret over the workspace's csat.toml.
    """
    url = workspace.database_url
    refuse_missing_sqlite(url)
    store = Store(url, check=check, lock_timeout=workspace.settings.store.lock_timeout)
    if check:
        from csat.store import shared

        shared.apply(workspace, store)
    return store


# Writers whose transaction-scoped locks an upgrade takes, so it waits for them (and names them) before
# its ALTER TABLEs, instead of queueing silently behind their table locks with every reader queued behind it.
WRITER_LOCKS = ("responses", "rounds", "feedback", "capa")


def upgrade(url: str, lock_timeout: float | None = None, before_migrating=None,
            seed: dict | None = None) -> tuple[str | None, str]:
    """Apply migrations up to head; returns (from_revision, to_revision).

    Upgrades are serialised: on SQLite by the file's write lock (BEGIN IMMEDIATE), on PostgreSQL by a
    session-scoped advisory lock, so a second `csat db upgrade` run at the same time, from any machine,
    waits for the first (saying who runs it) and then finds the store at head. `before_migrating(revision)`
    runs once it is known that the store at `revision` will be migrated (the SQLite backup). `seed` hands
    the upgrading workspace's company settings and signing secret to the migration that moves them into the
    store ({"settings": {dotted key: value}, "secret": str}).
    """
    from sqlalchemy.exc import OperationalError

    from csat.store.migrations import HEAD

    engine = engine_for(url)
    try:
        before = schema_revision(engine)
    except OperationalError as exc:
        raise StoreError(_("cannot open the store at {where}: {reason}", where=describe_url(url),
                                   reason=exc.orig)) from None
    _refuse_newer(url, before)
    if before == HEAD:
        return before, HEAD
    if engine.dialect.name == "sqlite":
        if before_migrating is not None:
            before_migrating(before)
        with engine.begin() as connection:
            before = _revision_on(connection)  # read again under the write lock: another upgrade may have run
            _migrate(connection, seed)
        return before, HEAD
    return _upgrade_postgres(engine, url, lock_timeout, before_migrating, seed)


def _upgrade_postgres(engine, url: str, lock_timeout: float | None, before_migrating,
                      seed: dict | None) -> tuple[str | None, str]:
    from sqlalchemy import text

    from csat.store.locking import lock_key, wait_for_server_lock
    from csat.store.migrations import HEAD

    with engine.connect().execution_options(csat_lock_timeout=lock_timeout) as connection:
        wait_for_server_lock(connection, "upgrade", N_("another `csat db upgrade` of this store"), scope="session",
                             timeout=lock_timeout)
        connection.commit()
        try:
            before = _revision_on(connection)
            connection.commit()
            _refuse_newer(url, before)
            if before == HEAD:
                return before, HEAD
            if before_migrating is not None:
                before_migrating(before)
            try:
                with connection.begin():
                    for name in WRITER_LOCKS:
                        wait_for_server_lock(connection, name, N_("the writers on this store (import, survey round, "
                                                "feedback, CAPA)"), timeout=lock_timeout)
                    if lock_timeout is not None:
                        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {int(lock_timeout * 1000)}")
                    _migrate(connection, seed)
            except Exception as exc:
                from csat.store.locking import LockTimeout, busy_sessions, lock_timed_out

                if lock_timed_out(exc):
                    raise LockTimeout(_("`csat db upgrade` gave up waiting for a table lock on the store at {where}:"
                                        " {who}; try again when it has finished", where=describe_url(url),
                                        who=busy_sessions(engine))) from None
                raise
            return before, HEAD
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key("upgrade")})
            connection.commit()


def _revision_on(connection) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _refuse_newer(url: str, revision: str | None) -> None:
    from csat.store.migrations import known_revisions

    if revision is not None and revision not in known_revisions():
        raise StoreError(newer_schema_message(url, revision))


def _migrate(connection, seed: dict | None) -> None:
    from alembic import command

    from csat.store.migrations import alembic_config

    config = alembic_config(connection)
    config.attributes["csat_seed"] = seed
    command.upgrade(config, "head")


def ensure_writable_sqlite(url: str) -> None:
    """Give a clear error when a SQLite file's folder cannot be written (WAL needs it)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return
    path = url[len(prefix):]
    folder = os.path.dirname(path) or "."
    if os.path.exists(path) and not os.access(path, os.W_OK):
        raise StoreError(_("the store {path} is read-only", path=path))
    if not os.access(folder, os.W_OK):
        raise StoreError(_("cannot write to {folder}: the store needs a writable folder", folder=folder))
