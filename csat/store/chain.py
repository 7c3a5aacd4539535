"""The audit trail's hash chain: each entry carries the SHA-256 of its content and of the entry before it.

An entry's `hash` is SHA-256 over `canonical(entry)`: the UTF-8 of the JSON array

    [id, at, actor, host, table_name, record_id, record_key, action, changes, prev_hash]

written with `json.dumps(..., ensure_ascii=False, separators=(",", ":"))`, where `at` is the stored naive
time as `YYYY-MM-DDTHH:MM:SS.ffffff`, `changes` is the stored JSON text itself (not re-parsed), and None
stays null (an empty string stays ""). `prev_hash` is the hash of the entry with the next lower id, or
GENESIS for the first. The same stored row gives the same text on SQLite and PostgreSQL, so a trail
copied row by row from one to the other still verifies, and an auditor can re-check it with a few lines
of any language.

Editing an entry changes its hash; deleting one breaks the next entry's prev_hash; moving one (its id
or its content) does both. Deleting the newest entries leaves a shorter chain that verifies: `csat
doctor` shows the head (count, id, hash) so it can be written down and compared.

Writers append in id order under one lock held until their transaction commits, so two writers never
chain onto the same head: on SQLite every write transaction holds the file's write lock from BEGIN
IMMEDIATE; on PostgreSQL the first audit write of a transaction takes a transaction-scoped advisory
lock (waiting at most store.lock_timeout) and reads the head only then. A writer that takes one of
csat's named locks (csat.store.locking.hold_for_transaction) takes the chain's lock (hold_audit_chain) just before it,
so the chain's lock always comes first and no two writers can each wait for the other's lock; PostgreSQL
writers that plan under a named lock therefore run one at a time. Ids are given by the writer
(the head's id + 1...), not by the sequence (moved past them on PostgreSQL), so the chain's order is the
ids' order.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Optional, Sequence

GENESIS = "0" * 64
BATCH = 5000

# The stored columns an entry's hash covers, in the order canonical() writes them (prev_hash last).
COLUMNS = ("id", "at", "actor", "host", "table_name", "record_id", "record_key", "action", "changes")


def moment_text(value: Any) -> Any:
    """The stored time as the chain writes it: naive, to the microsecond, always the same width
    (YYYY-MM-DDTHH:MM:SS.ffffff)."""
    if isinstance(value, datetime):
        return value.isoformat(sep="T", timespec="microseconds")
    return value


# json.dumps(..., ensure_ascii=False, separators=(",", ":")), built once: a million entries are hashed on upgrade.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def canonical(entry: Sequence[Any], prev_hash: str) -> bytes:
    """The bytes an entry's hash covers: its COLUMNS values in order, then prev_hash."""
    identity, at, who, where, table, record_id, key, action, changes = entry
    return _ENCODER.encode([identity, moment_text(at), who, where, table, record_id, key, action, changes,
                            prev_hash]).encode("utf-8")


def entry_hash(entry: Sequence[Any], prev_hash: str) -> str:
    return hashlib.sha256(canonical(entry, prev_hash)).hexdigest()


def link(rows: Iterable[Sequence[Any]], head: tuple[int, str]) -> Iterator[tuple]:
    """Give rows (COLUMNS without id) their ids after `head` (id, hash); yields COLUMNS + (prev_hash, hash)."""
    identity, previous = head
    for row in rows:
        identity += 1
        entry = (identity, *row)
        digest = entry_hash(entry, previous)
        yield (*entry, previous, digest)
        previous = digest


# --- the head, under the writers' lock ------------------------------------------------------------


_HEAD = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1"
# PostgreSQL: the head, and the id sequence moved past the ids about to be written, so a row inserted with
# the column's default (a tool, a copy) never takes one of them. setval is not undone by a rollback: harmless.
_HEAD_POSTGRES = ("SELECT head.id, head.hash, setval(pg_get_serial_sequence('audit_log', 'id'),"
                  " coalesce(head.id, 0) + {count}) FROM (SELECT 1) AS one"
                  " LEFT JOIN (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1) AS head ON true")


def head(connection, count: int = 1) -> tuple[int, str]:
    """The newest entry (id, hash) for a writer about to append `count` entries, taking the chain's lock first.

    On PostgreSQL the lock is transaction-scoped and taken once per transaction; the head is read
    after it, in a new statement, so it sees what the last holder committed. (0, GENESIS) for an
    empty trail.
    """
    from sqlalchemy import text

    from csat.store.locking import hold_audit_chain

    postgres = connection.dialect.name == "postgresql"
    if postgres:
        hold_audit_chain(connection)
    row = connection.execute(text(_HEAD_POSTGRES.format(count=int(count)) if postgres else _HEAD)).first()
    if row is None or row[0] is None:
        return 0, GENESIS
    return int(row[0]), row[1] or ""


def head_sql(dialect_name: str) -> list[str]:
    """The statements that take the lock and read the head of one new entry on a raw DBAPI cursor
    (the send's outcome log); the last one's first row is (id, hash), or none for an empty trail."""
    from csat.store.locking import AUDIT_CHAIN, lock_key

    if dialect_name == "sqlite":
        return [_HEAD]
    return [f"SELECT pg_advisory_xact_lock({lock_key(AUDIT_CHAIN)})", _HEAD_POSTGRES.format(count=1)]


def append(connection, rows: list[tuple]) -> int:
    """Insert rows (COLUMNS without id, `at` a datetime) chained after the head; returns how many.

    Through insert_rows: multi-row VALUES on SQLite, COPY on PostgreSQL, in the caller's transaction.
    """
    if not rows:
        return 0
    from sqlalchemy import DateTime

    from csat.store.bulk import insert_rows

    processor = DateTime().dialect_impl(connection.dialect).bind_processor(connection.dialect)
    linked = link(rows, head(connection, len(rows)))
    if processor is not None:
        linked = ((identity, processor(at), *rest) for identity, at, *rest in linked)
    return insert_rows(connection, "audit_log", (*COLUMNS, "prev_hash", "hash"), linked)


def _log_table():
    """audit_log as the chain reads it, typed (SQLite hands back times as text to an untyped query)."""
    from sqlalchemy import DateTime, Integer, String, Text, column, table

    return table("audit_log", column("id", Integer()), column("at", DateTime()), column("actor", String()),
                 column("host", String()), column("table_name", String()), column("record_id", Integer()),
                 column("record_key", String()), column("action", String()), column("changes", Text()),
                 column("prev_hash", String()), column("hash", String()))


# --- chaining the entries written before 0010 ------------------------------------------------------


def _batches(connection, log, columns, batch: int):
    """The audit log's rows (the given columns of log, id first) in id order, `batch` rows per list: a
    million entries are never held at once, and each read starts after the last id (no OFFSET)."""
    from sqlalchemy import select

    last = None
    while True:
        query = select(*columns).order_by(log.c.id).limit(batch)
        if last is not None:
            query = query.where(log.c.id > last)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def chain_existing(connection, batch: int = BATCH) -> int:
    """Give every entry its prev_hash and hash, in id order, a batch at a time; returns how many."""
    log = _log_table()
    previous, count = GENESIS, 0
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.exec_driver_sql("CREATE TEMPORARY TABLE csat_audit_chain (id integer PRIMARY KEY, prev_hash"
                                   " varchar(64), hash varchar(64)) ON COMMIT DROP")
    for rows in _batches(connection, log, [log.c[name] for name in COLUMNS], batch):
        values = []
        for row in rows:
            digest = entry_hash(tuple(row), previous)
            values.append((row[0], previous, digest))
            previous = digest
        count += len(rows)
        if postgres:
            from csat.store.bulk import copy_rows

            copy_rows(connection, "csat_audit_chain", ("id", "prev_hash", "hash"), values)
        else:
            connection.exec_driver_sql("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?",
                                       [(prev, digest, identity) for identity, prev, digest in values])
    if postgres:
        connection.exec_driver_sql("UPDATE audit_log SET prev_hash = c.prev_hash, hash = c.hash"
                                   " FROM csat_audit_chain c WHERE audit_log.id = c.id")
        connection.exec_driver_sql("DROP TABLE csat_audit_chain")
    return count


# --- verifying --------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """What `csat audit verify` found: entries checked, and the first broken entry with its problem code."""

    checked: int = 0
    entry: Optional[int] = None
    problem: Optional[str] = None      # "edited", "broken_link", "unchained"
    head_id: Optional[int] = None
    head_hash: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(connection, batch: int = BATCH) -> Verdict:
    """Walk the chain in id order, a batch at a time (a million entries are never held at once).

    Stops at the first entry whose hash is missing ("unchained"), whose prev_hash is not the hash of
    the entry before it ("broken_link": one was deleted or moved), or whose stored hash is not the
    hash of its content ("edited"). The link is checked first: a deleted entry is named as such.
    """
    log = _log_table()
    verdict = Verdict()
    previous = GENESIS
    for rows in _batches(connection, log, [log.c[name] for name in COLUMNS] + [log.c.prev_hash, log.c.hash], batch):
        for row in rows:
            entry, prev_hash, stored = tuple(row[:len(COLUMNS)]), row[-2], row[-1]
            problem = None
            if not stored or not prev_hash:
                problem = "unchained"
            elif prev_hash != previous:
                problem = "broken_link"
            elif entry_hash(entry, prev_hash) != stored:
                problem = "edited"
            if problem is not None:
                verdict.entry, verdict.problem = entry[0], problem
                return verdict
            verdict.checked += 1
            verdict.head_id, verdict.head_hash = entry[0], stored
            previous = stored
    return verdict


def head_of(connection) -> dict[str, Any]:
    """The chain's newest entry, read without the writers' lock (one indexed row: for doctor)."""
    from sqlalchemy import text

    row = connection.execute(text(_HEAD)).first()
    return {"head_id": row[0] if row else None, "head_hash": row[1] if row else None}
