"""One run at a time for unattended jobs (cron's `csat remind`).

A lock file in the workspace, held with flock for the life of the run, so the
lock disappears with the process whatever way it ends. On a PostgreSQL store,
shared by machines that do not share the file, a session-level advisory lock
on the server is taken as well.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


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

    key = int.from_bytes(hashlib.sha256(f"csat:{name}".encode()).digest()[:8], "big", signed=True)
    with store.engine.connect() as connection:
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            raise AlreadyRunning(name)
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
