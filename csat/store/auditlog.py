"""Reading the audit trail (writing it is csat.store.audit's job)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Any

from csat.i18n import _


def key_forms(key: str) -> list[str]:
    """The record keys a --key names: feedback and other numbered records are stored as `#17`, and `17` finds them too."""
    key = key.strip()
    number = key[1:] if key.startswith("#") else key
    if number.isdigit():
        return [number, f"#{number}"]
    return [key]


def parse_moment(text: str, end: bool = False) -> datetime:
    """A --since/--until bound: a date (the whole day counts: from its start, or to its end) or a date and time."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(_("{text!r} is not a date or time; write YYYY-MM-DD or YYYY-MM-DD HH:MM", text=text)) from None
        return moment.replace(tzinfo=None) if moment.tzinfo is None else moment.astimezone().replace(tzinfo=None)
    start = datetime.combine(day, time())
    return start + timedelta(days=1) - timedelta(microseconds=1) if end else start


def entries(session, table: str | None = None, key: str | None = None, limit: int = 50,
            since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
    """The newest audit entries that match, newest first; since and until are inclusive."""
    from sqlmodel import select

    from csat.store.models import AuditLog

    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(max(1, limit))
    if table:
        query = query.where(AuditLog.table_name == table)
    if key:
        query = query.where(AuditLog.record_key.in_(key_forms(key)))
    if since is not None:
        query = query.where(AuditLog.at >= since)
    if until is not None:
        query = query.where(AuditLog.at <= until)
    result = []
    for entry in session.exec(query).all():
        changes = json.loads(entry.changes or "{}")
        result.append({
            "id": entry.id, "at": entry.at, "actor": entry.actor, "host": entry.host, "table": entry.table_name,
            "record_id": entry.record_id, "key": entry.record_key, "action": entry.action,
            "changes": changes, "summary": summarise(entry.action, changes),
        })
    return result


def summarise(action: str, changes: dict[str, Any]) -> str:
    """A short human line for a table, in the staff language: which fields went from what to what.

    A change is an [old, new] pair; a purge's entry holds counts and lists instead, shown as such
    ("rounds: 1 (2015H1)"), never as Python's dict text or as a change from one listed record to another."""
    parts = []
    if action in ("insert", "delete"):
        parts.append(_("created") if action == "insert" else _("deleted"))
    pairs = action != "purge"
    for name, value in changes.items():
        changed = pairs and isinstance(value, list) and len(value) == 2
        if name == "reason" or action in ("insert", "delete") and not changed:
            continue
        if changed:
            parts.append(f"{name}: {_short(value[0])} -> {_short(value[1])}")
        else:
            parts.append(f"{name}: {_short(value)}")
    if changes.get("reason"):
        parts.append(_("reason: {reason}", reason=_short(changes["reason"], 80)))
    return "; ".join(parts)


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dict):   # a count with what it counted: {"count": 2, "periods": [...]}
        listed = [item for key, item in value.items() if key != "count" and isinstance(item, list)]
        if "count" in value:
            text = str(value["count"])
        else:
            text = ", ".join(f"{key} {item}" for key, item in value.items())
        if listed and listed[0]:
            text += f" ({', '.join(map(str, listed[0]))})"
    elif isinstance(value, list):
        text = ", ".join(map(str, value)) or "''"
    else:
        text = "''" if value in (None, "") else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verify_chain(session) -> dict[str, Any]:
    """Walk the audit trail's hash chain (csat.store.chain.verify): what `csat audit verify` prints.

    The keys `checked`, `ok`, and on failure `entry` and `problem` (edited, broken_link, unchained) are
    the JSON contract; `message` says it in the staff language.
    """
    from csat.store.chain import verify

    verdict = verify(session.connection())
    result: dict[str, Any] = {"checked": verdict.checked, "ok": verdict.ok,
                              "head_id": verdict.head_id, "head_hash": verdict.head_hash}
    if verdict.ok:
        result["message"] = _("{n} audit entries checked: none was changed, deleted or moved since it was written",
                              n=verdict.checked)
        return result
    result["entry"], result["problem"] = verdict.entry, verdict.problem
    if verdict.problem == "edited":
        text = _("audit entry #{entry} does not match its hash: it was changed after it was written",
                 entry=verdict.entry)
    elif verdict.problem == "broken_link":
        text = _("audit entry #{entry} does not follow the entry before it: an entry was deleted or moved there",
                 entry=verdict.entry)
    else:
        text = _("audit entry #{entry} has no hash: it was written outside csat, or the store was not upgraded"
                 " with `csat db upgrade`", entry=verdict.entry)
    result["message"] = _("{problem} ({n} entries before it checked)", problem=text, n=verdict.checked)
    return result
