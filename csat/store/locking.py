"""One run at a time for unattended jobs (cron's `csat remind`), and one writer at a time where it matters.

`exclusive`: a lock file in the workspace, held with flock for the life of the
run, so the lock disappears with the process whatever way it ends; the file
records who holds it (host, pid, user, command, start) so a second run can
say so. On a PostgreSQL store, shared by machines that do not share the file,
a session-level advisory lock on the server is taken as well.

`hold_for_transaction`: a writer that reads what is stored and then writes
what follows from it (an import planning against stored responses, the next
CAPA or feedback number, opening a round) must not interleave with another
writer doing the same. On SQLite every write transaction begins with BEGIN
IMMEDIATE and so already holds the one write lock of the file. On PostgreSQL
it takes a transaction-scoped advisory lock on the server, released by
COMMIT or ROLLBACK (or by the server when the process dies): the second
writer waits, then reads what the first committed (READ COMMITTED: each
statement sees the latest commits).

Locks that speak: a waiter never hangs silently. It polls the lock (rather
than blocking in the server) so it can name the holder while it waits, from
pg_stat_activity, where every csat connection carries an application_name
"csat <pid>@<host> <user> <command>"; after `store.lock_timeout` seconds it
gives up with one line. A holder that is gone is taken over: the server drops
the locks of a closed session by itself (and csat asks it to probe idle
clients every minute, so a machine that vanished is noticed in minutes, not
the two hours of the default keepalive); a csat on this host whose process
has died while its server session lingers is disconnected.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from csat.errors import StoreError
from csat.i18n import _

DEFAULT_LOCK_TIMEOUT = 30.0
POLL_SECONDS = 0.2

# The command this process runs ("survey send"), set by the command line; shown to whoever waits for us.
command = ""


def _say_waiting(text: str) -> None:
    from csat.terminal_text import printable

    print(printable(text), file=sys.stderr, flush=True)  # names other users' commands: data, not ours


# What a writer that has to wait says (a message, so stderr); tests and other front ends may replace it.
notify_waiting: Callable[[str], None] = _say_waiting


class LockTimeout(StoreError):
    """A lock stayed held by another process for longer than store.lock_timeout."""


class AlreadyRunning(Exception):
    """Another process holds the lock; `holder` says who, when known."""

    def __init__(self, name: str, holder: str = ""):
        super().__init__(name)
        self.name, self.holder = name, holder

    def __str__(self) -> str:
        return _("{name} held by {holder}", name=self.name, holder=self.holder) if self.holder else self.name


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a csat lock name, the same in every process and version."""
    return int.from_bytes(hashlib.sha256(f"csat:{name}".encode()).digest()[:8], "big", signed=True)


def _host() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no name for this uid (containers): say so
        return f"uid {os.getuid()}"


def application_name() -> str:
    """How this process names its PostgreSQL sessions (63 bytes at most, what the server keeps)."""
    text = f"csat {os.getpid()}@{_host()} {_user()} {command or '-'}".strip()
    return text.encode("ascii", "replace").decode("ascii")[:63]


_APPLICATION = re.compile(r"^csat (?P<pid>\d+)@(?P<host>\S+) (?P<user>\S+) ?(?P<command>.*)$")


@dataclass
class Holder:
    """Who holds a lock, as far as the server or the lock file tells."""

    host: str = ""
    pid: int | None = None
    user: str = ""
    command: str = ""
    since: datetime | None = None
    role: str = ""              # the PostgreSQL role of the session
    backend_pid: int | None = None
    state: str = ""

    def describe(self) -> str:
        if self.pid is None and not self.host:  # not a csat session, or one we may not see the name of
            who = (_("a database session ({program})", program=self.command) if self.command
                   else _("a database session"))
            who = who.replace(") (", ", ").replace("）（", "，")
        else:
            who = f"`csat {self.command}`" if self.command and self.command != "-" else _("a csat run")
        parts = []
        where = " ".join(([_("pid {pid}", pid=self.pid)] if self.pid is not None else [])
                         + ([_("on {host}", host=self.host)] if self.host else []))
        if where:
            parts.append(where)
        if self.user:
            parts.append(_("user {user}", user=self.user))
        if self.role:
            parts.append(_("database role {role}", role=self.role))
        if self.since is not None:
            parts.append(_("since {time}", time=self.since.astimezone().strftime('%Y-%m-%d %H:%M:%S %Z').strip()))
        if self.state == "idle in transaction":
            parts.append(_("idle in its transaction"))
        # Translators: the separator between the details of a lock holder (pid, user, since...).
        separator = _(", ")
        return _("{who} ({details})", who=who, details=separator.join(parts)) if parts else who

    def is_gone_from_this_host(self) -> bool:
        """A csat on this machine whose process no longer exists."""
        if self.pid is None or self.host != _host():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


def _holders(connection, key: int) -> list[Holder]:
    """Sessions holding the advisory lock `key` in this database, named from pg_stat_activity."""
    from sqlalchemy import text

    connection.execute(text("SELECT pg_stat_clear_snapshot()"))  # the view is otherwise frozen per transaction
    rows = connection.execute(text(
        "SELECT a.pid, a.application_name, a.usename, a.state, "
        "       coalesce(a.xact_start, a.state_change, a.backend_start) AS since "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "  AND l.classid = CAST(:high AS bigint)::oid AND l.objid = CAST(:low AS bigint)::oid "
        "  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "  AND a.pid <> pg_backend_pid()"
    ), {"high": (key >> 32) & 0xFFFFFFFF, "low": key & 0xFFFFFFFF}).all()
    return [_holder_of(row) for row in rows]


def _holder_of(row) -> Holder:
    backend_pid, name, role, state, since = row
    holder = Holder(role=role or "", backend_pid=backend_pid, state=state or "", since=since)
    match = _APPLICATION.match(name or "")
    if match:
        holder.pid, holder.host = int(match["pid"]), match["host"]
        holder.user, holder.command = match["user"], match["command"]
    elif name:
        holder.command = name  # psql, pgAdmin, ...
    return holder


def describe_holders(holders: list[Holder]) -> str:
    if not holders:
        return _("its holder has just let go")
    return _("held by {holders}", holders="; ".join(holder.describe() for holder in holders))


def _take_over_from_the_dead(connection, holders: list[Holder]) -> bool:
    """Disconnect the server sessions of csat runs on this host whose process has died; True if any was."""
    from sqlalchemy import text

    gone = [holder for holder in holders if holder.is_gone_from_this_host() and holder.backend_pid is not None]
    if not gone:
        return False
    taken = False
    with connection.engine.connect() as other:  # not in the caller's transaction: a refusal must not abort it
        for holder in gone:
            try:
                # Waits (up to 5 s) until the session has ended and so released its locks.
                ended = other.execute(text("SELECT pg_terminate_backend(:pid, 5000)"),
                                      {"pid": holder.backend_pid}).scalar()
            except Exception:  # noqa: BLE001 - another role's session: we may not end it, so wait for it
                other.rollback()
                ended = False
            if ended:
                notify_waiting(_("taking over the lock of {holder}: that process has ended", holder=holder.describe()))
                taken = True
    return taken


def timeout_of(connection) -> float:
    """The lock timeout the store put on this connection (store.lock_timeout), else the default."""
    value = connection.get_execution_options().get("csat_lock_timeout")
    return DEFAULT_LOCK_TIMEOUT if value is None else float(value)


def wait_for_server_lock(connection, name: str, waiting_for: str, scope: str = "transaction",
                         timeout: float | None = None) -> None:
    """Take the advisory lock `name` (transaction- or session-scoped), waiting at most `timeout` seconds.

    While it waits it says on stderr who holds the lock, again whenever that changes; on timeout it raises
    LockTimeout naming the holder.
    """
    from sqlalchemy import text

    function = "pg_try_advisory_xact_lock" if scope == "transaction" else "pg_try_advisory_lock"
    key = lock_key(name)
    limit = timeout_of(connection) if timeout is None else timeout
    deadline = time.monotonic() + limit
    said = ""
    while True:
        if connection.execute(text(f"SELECT {function}(:key)"), {"key": key}).scalar():
            return
        holders = _holders(connection, key)
        if _take_over_from_the_dead(connection, holders):
            continue
        who = describe_holders(holders)
        if who != said:
            notify_waiting(_("waiting for {what} to finish: {who} ...", what=_(waiting_for), who=who))
            said = who
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeout(_("gave up after {seconds} s waiting for {what}: {who}; try again when it has finished"
                                " (store.lock_timeout sets how long to wait)", seconds=f"{limit:g}",
                                what=_(waiting_for), who=who))
        time.sleep(min(POLL_SECONDS, remaining))


def hold_for_transaction(session, name: str, waiting_for: str) -> None:
    """Hold the server lock `name` until the session's transaction ends, waiting for whoever holds it.

    `waiting_for` completes "waiting for ..." in the line printed when another writer holds
    the lock: a catalog id (mark it with N_), shown translated. A no-op on SQLite, whose write transactions hold the file's write lock already.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        return
    # The audit chain's lock first, always (see hold_audit_chain). Whoever holds it is who this writer
    # waits for, so the wait is told, and given up, in the words of the lock asked for.
    if not _holds_audit_chain(connection):
        wait_for_server_lock(connection, AUDIT_CHAIN, waiting_for)
        connection.info["csat_audit_chain_lock"] = connection.get_transaction()
    wait_for_server_lock(connection, name, waiting_for)


# The lock every writer appending to the audit trail's hash chain holds until it commits (csat.store.chain).
AUDIT_CHAIN = "audit-chain"


def hold_audit_chain(connection) -> None:
    """Take the audit chain's lock (PostgreSQL) for the rest of this transaction, once; waits at most lock_timeout.

    hold_for_transaction takes it before any named lock, so every writer takes the chain's lock first:
    a writer holding it never waits for a named lock whose holder waits for the chain (each waiting for
    the other's lock until both time out). A blocking wait, so PostgreSQL's deadlock detector sees it.
    """
    from sqlalchemy import text

    if connection.dialect.name != "postgresql" or _holds_audit_chain(connection):
        return
    transaction = connection.get_transaction()
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(AUDIT_CHAIN)})
    connection.info["csat_audit_chain_lock"] = transaction


def _holds_audit_chain(connection) -> bool:
    """Whether this connection's current transaction already holds the audit chain's lock."""
    transaction = connection.get_transaction()
    return transaction is not None and connection.info.get("csat_audit_chain_lock") is transaction


def busy_sessions(engine) -> str:
    """Other sessions on this database with a transaction open, oldest first: who a lock wait was behind."""
    from sqlalchemy import text

    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT pid, application_name, usename, state, xact_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "ORDER BY xact_start LIMIT 3"
        )).all()
    return describe_holders([_holder_of(row) for row in rows]) if rows else _("no transaction is open any more")


def lock_timed_out(exc: BaseException) -> bool:
    """A PostgreSQL statement cancelled by lock_timeout (SQLSTATE 55P03)."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == "55P03"


# --- the run lock of unattended jobs --------------------------------------------------------------


def _record() -> str:
    return json.dumps({"host": _host(), "pid": os.getpid(), "user": _user(), "command": command or "-",
                       "started": datetime.now(timezone.utc).isoformat(timespec="seconds")})


def _recorded_holder(descriptor: int) -> Holder:
    try:
        os.lseek(descriptor, 0, os.SEEK_SET)
        data = json.loads(os.read(descriptor, 4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return Holder()
    if not isinstance(data, dict):  # a lock file from an older csat held the pid alone
        return Holder(pid=data if isinstance(data, int) else None)
    started = data.get("started")
    try:
        since = datetime.fromisoformat(started) if started else None
    except ValueError:
        since = None
    return Holder(host=str(data.get("host", "")), pid=data.get("pid"), user=str(data.get("user", "")),
                  command=str(data.get("command", "")), since=since)


@contextmanager
def exclusive(root: Path, name: str, store=None) -> Iterator[None]:
    """Hold the `name` lock of a workspace, or raise AlreadyRunning at once, naming who holds it."""
    path = root / f".csat-{name}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(name, _recorded_holder(descriptor).describe()) from None
        # The lock was free, so whoever the file names has gone: this run takes it over.
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (_record() + "\n").encode("utf-8"), 0)
        with _server_lock(store, name):
            yield
    finally:
        os.close(descriptor)


@contextmanager
def _server_lock(store, name: str) -> Iterator[None]:
    if store is None or store.is_sqlite:
        yield
        return
    from sqlalchemy import text

    key = lock_key(name)
    with store.engine.connect() as connection:
        while not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            holders = _holders(connection, key)
            if not _take_over_from_the_dead(connection, holders):
                connection.rollback()
                raise AlreadyRunning(name, "; ".join(holder.describe() for holder in holders))
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
