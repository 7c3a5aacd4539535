"""Reading the audit trail (writing it is csat.store.audit's job)."""

from __future__ import annotations

import json
from typing import Any


def entries(session, table: str | None = None, key: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    from sqlmodel import select

    from csat.store.models import AuditLog

    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, limit))
    if table:
        query = query.where(AuditLog.table_name == table)
    if key:
        query = query.where(AuditLog.record_key == key)
    result = []
    for entry in session.exec(query).all():
        changes = json.loads(entry.changes or "{}")
        result.append({
            "id": entry.id, "at": entry.at, "actor": entry.actor, "table": entry.table_name,
            "record_id": entry.record_id, "key": entry.record_key, "action": entry.action,
            "changes": changes, "summary": summarise(entry.action, changes),
        })
    return result


def summarise(action: str, changes: dict[str, Any]) -> str:
    """A short human line for a table: which fields went from what to what."""
    if action == "insert":
        return "created"
    if action == "delete":
        return "deleted"
    parts = []
    for name, value in changes.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{name}: {_short(value[0])} -> {_short(value[1])}")
        else:
            parts.append(f"{name}: {_short(value)}")
    return "; ".join(parts)


def _short(value: Any, limit: int = 40) -> str:
    text = "''" if value in (None, "") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
