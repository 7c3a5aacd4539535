"""One run at a time for unattended jobs (cron's `csat remind`), and one writer at a time where it matters.

`exclusive`: a lock file in the workspace, held with flock for the life of the
run, so the lock disappears with the process whatever way it ends. On a
PostgreSQL store, shared by machines that do not share the file, a
session-level advisory lock on the server is taken as well.

`hold_for_transaction`: a writer that reads what is stored and then writes
what follows from it (an import planning against stored responses, the next
CAPA or feedback number, opening a round) must not interleave with another
writer doing the same. On SQLite every write transaction begins with BEGIN
IMMEDIATE and so already holds the one write lock of the file. On PostgreSQL
it takes a transaction-scoped advisory lock on the server, released by
COMMIT or ROLLBACK (or by the server when the process dies): the second
writer waits, saying so on stderr, and then reads what the first committed
(READ COMMITTED: each statement sees the latest commits).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator


def _say_waiting(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# What a writer that has to wait says (a message, so stderr); tests and other front ends may replace it.
notify_waiting: Callable[[str], None] = _say_waiting


def lock_key(name: str) -> int:
    """The 64-bit advisory lock key of a csat lock name, the same in every process and version."""
    return int.from_bytes(hashlib.sha256(f"csat:{name}".encode()).digest()[:8], "big", signed=True)


def hold_for_transaction(session, name: str, waiting_for: str) -> None:
    """Hold the server lock `name` until the session's transaction ends, waiting for whoever holds it.

    `waiting_for` completes "waiting for ..." in the line printed when another writer holds
    the lock. A no-op on SQLite, whose write transactions hold the file's write lock already.
    """
    from sqlalchemy import text

    connection = session.connection()
    if connection.dialect.name == "sqlite":
        return
    key = lock_key(name)
    if connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar():
        return
    notify_waiting(f"waiting for {waiting_for} to finish ...")
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


class AlreadyRunning(Exception):
    """Another process holds the lock."""


@contextmanager
def exclusive(root: Path, name: str, store=None) -> Iterator[None]:
    """Hold the `name` lock of a workspace, or raise AlreadyRunning at once."""
    path = root / f".csat-{name}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(name) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
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
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            raise AlreadyRunning(name)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
