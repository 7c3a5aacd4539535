"""The audit trail, kept by the data layer itself.

Every insert, update and delete flushed through a csat session is appended to
audit_log with the OS user (or CSAT_ACTOR), the machine's host name, the time and the old and new values, so no
command can forget to record a change. Bulk paths that bypass the ORM (the
answer importer) call `record` for the records they write. Every entry is
chained to the one before it (csat.store.chain), whichever path writes it.
"""

from __future__ import annotations

import getpass
import json
import os
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any, Iterator

_SKIPPED_TABLES = {"audit_log"}
_SECRET_COLUMNS = {"token", "secret"}


# The reason a person gave for the change being written (--reason), added to every audit entry
# written while it is set, as the `reason` key of its changes.
_REASON: ContextVar[str | None] = ContextVar("csat_audit_reason", default=None)


@contextmanager
def reason(text: str | None) -> Iterator[None]:
    """Within this block every audit entry written carries `text` as its `reason` (none when text is empty)."""
    token = _REASON.set(text.strip() if text and text.strip() else None)
    try:
        yield
    finally:
        _REASON.reset(token)


def _with_reason(changes: dict | str | None) -> dict | str | None:
    given = _REASON.get()
    if given is None:
        return changes
    if isinstance(changes, str):
        changes = json.loads(changes)
    return {**(changes or {}), "reason": given}


def actor() -> str:
    """Who is acting: CSAT_ACTOR if set (for services), else the OS user."""
    override = os.environ.get("CSAT_ACTOR")
    if override:
        return override
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def host() -> str:
    """The machine acting: on a shared store the same user works from several."""
    import socket

    try:
        return socket.gethostname()[:255]
    except OSError:
        return ""


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _record_key(instance: Any) -> str:
    for name in ("code", "number", "period", "quarter", "key"):
        value = getattr(instance, name, None)
        if isinstance(value, str) and value:
            return value
    identity = getattr(instance, "id", None)
    return f"#{identity}" if identity is not None else ""


def _columns(instance: Any) -> list[str]:
    from sqlalchemy import inspect

    return [column.key for column in inspect(instance).mapper.column_attrs]


def _snapshot(instance: Any) -> dict[str, Any]:
    return {
        name: _plain(getattr(instance, name))
        for name in _columns(instance)
        if name not in _SECRET_COLUMNS
    }


def _changes(instance: Any) -> dict[str, list[Any]]:
    from sqlalchemy import inspect

    state = inspect(instance)
    changed: dict[str, list[Any]] = {}
    for name in _columns(instance):
        history = state.attrs[name].history
        if not history.has_changes() or name in _SECRET_COLUMNS or name == "updated_at":
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old != new:
            changed[name] = [_plain(old), _plain(new)]
    return changed


def record(connection, table_name: str, action: str, record_id: int | None = None,
           record_key: str = "", changes: dict | None = None) -> None:
    """Append one audit entry through a Core connection (for bulk writes and domain verbs)."""
    record_many(connection, table_name, action, [(record_id, record_key, changes)])


def record_many(connection, table_name: str, action: str,
                entries: list[tuple[int | None, str, dict | str | None]]) -> None:
    """Append one audit entry per (record_id, record_key, changes), in bulk.

    For bulk writes that bypass the ORM (an import of 100,000 responses): changes may
    be given already serialised as JSON text, and rows go to the driver in multi-row
    statements, with the time stored as SQLAlchemy stores it, chained after the trail's head
    (csat.store.chain).
    """
    if not entries:
        return
    from csat.store import chain
    from csat.store.models import now

    stamp, who, where = now(), actor(), host()
    chain.append(connection, [
        (stamp, who, where, table_name, record_id, record_key, action,
         changes if isinstance(changes, str) else json.dumps(changes or {}, ensure_ascii=False, default=str))
        for record_id, record_key, changes in ((record_id, record_key, _with_reason(changes))
                                               for record_id, record_key, changes in entries)])


def record_inserts(connection, model, rows: list[dict[str, Any]]) -> None:
    """Audit entries for rows a bulk insert wrote (each with its id), as the ORM hook writes them for new records."""
    from types import SimpleNamespace

    from sqlalchemy import inspect

    columns = [column.key for column in inspect(model).column_attrs if column.key not in _SECRET_COLUMNS]
    record_many(connection, model.__table__.name, "insert", [
        (row["id"], _record_key(SimpleNamespace(**row)), {"new": {name: _plain(row.get(name)) for name in columns}})
        for row in rows])


def _after_flush(session, _flush_context) -> None:
    from csat.store import chain
    from csat.store.models import now

    rows = []
    moment, who, where = now(), actor(), host()

    def add(instance, action, changes):
        table = instance.__table__.name
        if table in _SKIPPED_TABLES:
            return
        rows.append((moment, who, where, table, getattr(instance, "id", None), _record_key(instance), action,
                     json.dumps(_with_reason(changes), ensure_ascii=False, default=str)))

    # What a writer knows that the new row cannot say (a setting's value before it was first stored).
    extra = session.info.get("audit_extra", {})
    for instance in session.new:
        add(instance, "insert", {"new": _snapshot(instance),
                                 **extra.get((instance.__table__.name, _record_key(instance)), {})})
    for instance in session.dirty:
        if session.is_modified(instance, include_collections=False):
            changes = _changes(instance)
            if changes:
                add(instance, "update", changes)
    for instance in session.deleted:
        add(instance, "delete", {"old": _snapshot(instance)})
    if rows:
        chain.append(session.connection(), rows)


def attach(session) -> None:
    """Install the audit hook on one session."""
    from sqlalchemy import event

    if not event.contains(session, "after_flush", _after_flush):
        event.listen(session, "after_flush", _after_flush)
    if not event.contains(session, "before_flush", _touch_updated):
        event.listen(session, "before_flush", _touch_updated)


def _touch_updated(session, _flush_context, _instances) -> None:
    """Keep updated_at honest on every modified record."""
    from csat.store.models import now

    for instance in session.dirty:
        if hasattr(instance, "updated_at") and session.is_modified(instance, include_collections=False):
            instance.updated_at = now()
