"""Recording what happened to each invitation, one committed transaction per message.

A send must commit each message's outcome before the next message goes out
(a crash then leaves every invitation either as it was or with its true
outcome), so this runs once per message on the send's critical path. The ORM
and even Core spend more time per call than SQLite spends on the work, so
OutcomeLog compiles its statements once for the store's driver and runs
them on one raw DBAPI connection: read the old values, update, append the
audit entry with the old and new values (as the ORM hook would), chained after
the trail's head read under the chain's lock (csat.store.chain), commit. On
SQLite the transaction starts with BEGIN IMMEDIATE like every csat write, so
the old values read are the ones replaced. Driver errors are raised as
SQLAlchemy's, which the CLI knows how to report.
"""

from __future__ import annotations

import json
from typing import Any

_FIELDS = ("email", "status", "error", "message_id", "sent_at")


class _Statement:
    """A statement compiled once for a dialect, run on a raw DBAPI cursor with the dialect's value conversions."""

    def __init__(self, statement, dialect, column_keys: list[str] | None = None):
        compiled = statement.compile(dialect=dialect, column_keys=column_keys)
        self.sql = compiled.string
        self._positions = tuple(compiled.positiontup) if compiled.positional else None
        self._converters = {}
        for name, bind in compiled.binds.items():
            converter = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if converter is not None:
                self._converters[name] = converter
        self._readers = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                         for column in getattr(statement, "selected_columns", ())]

    def parameters(self, values: dict[str, Any]):
        converted = {name: (self._converters[name](value) if name in self._converters else value)
                     for name, value in values.items()}
        if self._positions is None:
            return converted
        return tuple(converted[name] for name in self._positions)

    def read(self, row) -> tuple:
        return tuple(reader(value) if reader is not None else value for reader, value in zip(self._readers, row))


class OutcomeLog:
    """Stores each invitation's outcome in its own transaction: sent (Message-ID, time) or failed (reason).

    Use as a context manager around a send: it holds one connection from the store's pool.
    """

    def __init__(self, store):
        self.store = store
        self._connection = None

    def __enter__(self) -> "OutcomeLog":
        from sqlalchemy import bindparam, insert, select, update

        from csat.store import chain
        from csat.store.audit import actor, host
        from csat.store.models import AuditLog, Invitation

        engine = self.store.engine
        dialect = self._dialect = engine.dialect
        table = Invitation.__table__
        row = table.c.id == bindparam("row_id")
        self._select = _Statement(select(*(table.c[name] for name in _FIELDS)).where(row), dialect)
        self._updates = {
            fields: _Statement(update(table).where(row).values({name: bindparam(name) for name in fields}), dialect)
            for fields in (_FIELDS, ("email", "status", "error"))
        }
        self._audit = _Statement(insert(AuditLog.__table__), dialect, column_keys=[
            *chain.COLUMNS, "prev_hash", "hash"])
        self._head = chain.head_sql(dialect.name)
        self._begin = "BEGIN IMMEDIATE" if dialect.name == "sqlite" else None
        self._actor, self._host = actor(), host()
        self._connection = engine.raw_connection()
        return self

    def __exit__(self, *exc_info) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def record(self, invitation_id: int, email: str, message_id: str = "", error: str = "") -> None:
        """Commit one invitation's outcome and its audit entry, or nothing (the error is raised)."""
        from csat.i18n import stored
        from csat.store.models import now

        if error:   # why, as the catalog's id and fields: shown later in the reader's language
            values = {"email": email, "status": "failed", "error": stored(error)}
        else:
            values = {"email": email, "status": "sent", "error": "", "message_id": message_id, "sent_at": now()}
        connection = self._connection
        cursor = connection.cursor()
        sql = self._begin
        try:
            if sql:
                cursor.execute(sql)
            sql = self._select.sql
            cursor.execute(sql, self._select.parameters({"row_id": invitation_id}))
            found = cursor.fetchone()
            if found is None:
                raise LookupError(f"invitation #{invitation_id} is gone")
            old = dict(zip(_FIELDS, self._select.read(found)))
            update = self._updates[tuple(values)]
            sql = update.sql
            cursor.execute(sql, update.parameters(values | {"row_id": invitation_id}))
            changes = {name: [_plain(old[name]), _plain(value)] for name, value in values.items()
                       if old[name] != value}
            if changes:
                from csat.store import chain

                for sql in self._head:      # the chain's lock (PostgreSQL), then its head
                    cursor.execute(sql)
                last = cursor.fetchone()
                row = (now(), self._actor, self._host, "invitation", invitation_id, f"#{invitation_id}", "update",
                       json.dumps(changes, ensure_ascii=False, default=str))
                entry = next(chain.link([row], (last[0], last[1] or "") if last and last[0] is not None
                                               else (0, chain.GENESIS)))
                sql = self._audit.sql
                cursor.execute(sql, self._audit.parameters(dict(zip((*chain.COLUMNS, "prev_hash", "hash"), entry))))
            sql = "COMMIT"
            connection.commit()
        except BaseException as exc:
            try:
                connection.rollback()
            except Exception:  # noqa: BLE001 - a dead connection cannot roll back; the first error says why
                pass
            if isinstance(exc, self._dialect.loaded_dbapi.Error):
                from sqlalchemy.exc import DBAPIError

                raise DBAPIError.instance(sql, None, exc, self._dialect.loaded_dbapi.Error,
                                          dialect=self._dialect) from exc
            raise
        finally:
            cursor.close()


def record_outcome(store, invitation_id: int, email: str, message_id: str = "", error: str = "") -> None:
    """Store one invitation's outcome (sent with its Message-ID, or failed with the reason) on its own."""
    with OutcomeLog(store) as log:
        log.record(invitation_id, email, message_id, error)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
