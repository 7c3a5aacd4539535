"""Reading the audit trail (writing it is csat.audit's job)."""

from __future__ import annotations

import json
from typing import Any


def entries(session, table: str | None = None, key: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    from sqlmodel import select

    from csat.models import AuditLog

    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, limit))
    if table:
        query = query.where(AuditLog.table_name == table)
    if key:
        query = query.where(AuditLog.record_key == key)
    return [
        {"id": entry.id, "at": entry.at, "actor": entry.actor, "table": entry.table_name,
         "record_id": entry.record_id, "key": entry.record_key, "action": entry.action,
         "changes": json.loads(entry.changes or "{}")}
        for entry in session.exec(query).all()
    ]
