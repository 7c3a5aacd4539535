"""Importing the feedback log many teams already keep in a spreadsheet.

Validate every row first, then write one transaction: one bad row and nothing
is stored. A row's identity is a hash of what cannot change once logged
(customer, time received, kind, channel, text), kept in Feedback.source_key,
so importing the same log again changes nothing, and importing a later copy
of it (with replies or closing dates filled in) brings those entries forward.
Status only ever moves forward (open -> replied -> closed) and a reply already
recorded in csat is never overwritten by the file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from csat.errors import CsatError, ValidationFailed

HEADERS = {
    "received": ["received", "received at", "date", "date received", "time", "日期", "接收日期", "反馈日期",
                 "接收时间", "反馈时间", "时间"],
    "customer": ["customer", "customer code", "code", "customer name", "客户", "客户代码", "客户编号", "客户名称"],
    "kind": ["kind", "type", "category", "类型", "类别", "反馈类型", "分类"],
    "channel": ["channel", "via", "source", "方式", "渠道", "反馈方式", "来源"],
    "text": ["text", "content", "description", "feedback", "details", "内容", "反馈内容", "投诉内容", "描述"],
    "product": ["product", "model", "产品", "产品型号", "型号"],
    "owner": ["owner", "received by", "logged by", "接收人", "记录人", "负责人"],
    "dept": ["dept", "department", "部门", "责任部门"],
    "reply": ["reply", "response", "answer", "回复", "答复", "回复内容", "处理结果"],
    "replied": ["replied", "replied at", "reply date", "回复日期", "答复日期", "回复时间"],
    "status": ["status", "状态"],
    "closed": ["closed", "closed at", "close date", "关闭日期", "结案日期"],
}
REQUIRED = ("received", "customer", "kind", "channel", "text")
_RANK = {"open": 0, "replied": 1, "closed": 2}


@dataclass
class ImportResult:
    added: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def source_key(customer_code: str, received: datetime, kind: str, channel: str, text: str) -> str:
    identity = "\x1f".join([customer_code, received.isoformat(), kind, channel, " ".join(text.split())])
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


def read_rows(path: Path, limits=None) -> list[tuple[str, dict[str, Any]]]:
    """(where, values by field) for every data row of the first sheet."""
    from csat.sheets.guard import Limits
    from csat.sheets.read import header_rows, read_table

    sheets = read_table(path, limits or Limits())
    if not sheets:
        raise CsatError(f"{path}: no visible sheet with data")
    sheet = sheets[0]
    header = next((values for _, _, values in sheet.rows if any(value is not None for value in values)), None)
    if header is None:
        raise CsatError(f"{path}: the sheet is empty")
    lookup = {spelling.casefold(): name for name, spellings in HEADERS.items() for spelling in spellings}
    mapping: dict[str, str] = {}
    for title in (_text(value) for value in header):
        name = lookup.get(title.casefold())
        if name and name not in mapping.values():
            mapping[title] = name
    missing = [name for name in REQUIRED if name not in mapping.values()]
    if missing:
        raise CsatError(f"{path.name}!{sheet.name}: no {', '.join(missing)} column in the header row;"
                        f" found: {', '.join(_text(value) for value in header if value is not None)}")
    return [(f"{path.name}!{sheet.name}!row {row_number}",
             {name: values.get(title) for title, name in mapping.items()})
            for row_number, values, _cells in header_rows(sheet)]


def _when(value: Any, name: str, problems: list[str]) -> datetime | None:
    from csat.feedback.log import parse_when

    if value is None or _text(value) == "":
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")
        return None


def _clean(settings, values: dict[str, Any], customers: dict[str, Any], now: datetime):
    """One row's values ready to store, and its problems."""
    from csat.feedback import log as feedback

    problems: list[str] = []
    customer_text = _text(values.get("customer"))
    customer = customers.get(customer_text) or customers.get(customer_text.casefold())
    if not customer_text:
        problems.append("missing customer")
    elif customer is None:
        problems.append(f"unknown customer {customer_text!r}")
    clean: dict[str, Any] = {}
    for name, parse in (("kind", feedback.parse_kind), ("channel", feedback.parse_channel)):
        try:
            clean[name] = parse(_text(values.get(name)))
        except CsatError as exc:
            problems.append(str(exc) if _text(values.get(name)) else f"missing {name}")
    clean["text"] = _text(values.get("text"))
    if not clean["text"]:
        problems.append("missing text")
    received = _when(values.get("received"), "received", problems)
    if received is None and not any(problem.startswith("received") for problem in problems):
        problems.append("missing received date")
    replied = _when(values.get("replied"), "replied", problems)
    closed = _when(values.get("closed"), "closed", problems)
    for name, moment in (("received", received), ("replied", replied), ("closed", closed)):
        if moment is not None and moment > now:
            problems.append(f"{name} {moment:%Y-%m-%d %H:%M} is in the future")
        if moment is not None and received is not None and moment < received:
            problems.append(f"{name} {moment:%Y-%m-%d %H:%M} is before the entry was received")
    try:
        clean["dept"] = feedback.resolve_dept(settings, _text(values.get("dept")))
    except CsatError as exc:
        problems.append(str(exc))
    reply = _text(values.get("reply"))
    status_text = _text(values.get("status"))
    status = "closed" if closed else ("replied" if reply or replied else "open")
    if status_text:
        try:
            status = max(status, feedback.parse_status(status_text), key=_RANK.__getitem__)
        except CsatError as exc:
            problems.append(str(exc))
    if status == "replied" and replied is None:
        problems.append("a replied entry needs its reply date (column 'replied')")
    if problems:
        return None, problems
    clean.update(
        customer_id=customer.id, complaint=feedback.is_complaint(clean["kind"]), received_at=received,
        product=_text(values.get("product")), owner=_text(values.get("owner")), reply_text=reply,
        replied_at=replied, status=status, closed_at=(closed or now) if status == "closed" else None,
        source_key=source_key(customer.code, received, clean["kind"], clean["channel"], clean["text"]),
    )
    return clean, []


def _bring_forward(entry, clean: dict[str, Any]) -> bool:
    """Apply a later copy of the row to its stored entry; True when something changed."""
    changed = False
    for name in ("product", "owner", "dept"):
        if clean[name] and getattr(entry, name) != clean[name]:
            setattr(entry, name, clean[name])
            changed = True
    if entry.replied_at is None and clean["replied_at"] is not None:
        entry.reply_text, entry.replied_at = clean["reply_text"], clean["replied_at"]
        changed = True
    if _RANK[clean["status"]] > _RANK[entry.status]:
        entry.status = clean["status"]
        if clean["status"] == "closed":
            entry.closed_at = clean["closed_at"]
        changed = True
    return changed


def import_file(session, settings, path: Path, limits=None, now: datetime | None = None) -> ImportResult:
    """Add new entries and bring known ones forward from a log file, all rows or none."""
    from sqlmodel import select

    from csat.store.models import Customer, Feedback, now as local_now

    now = now or local_now()
    rows = read_rows(Path(path), limits)
    customers: dict[str, Any] = {}
    for customer in session.exec(select(Customer)).all():
        customers.setdefault(customer.name.casefold(), customer)
    for customer in session.exec(select(Customer)).all():
        customers[customer.code] = customer
    problems: list[str] = []
    seen: dict[str, str] = {}
    cleaned = []
    for where, values in rows:
        clean, row_problems = _clean(settings, values, customers, now)
        if clean is not None:
            first = seen.setdefault(clean["source_key"], where.rsplit("!", 1)[-1])
            if first != where.rsplit("!", 1)[-1]:
                row_problems.append(f"the same entry as {first}")
            cleaned.append(clean)
        problems.extend(f"{where}: {problem}" for problem in row_problems)
    if not rows:
        problems.append(f"{Path(path).name}: no entries under the header")
    if problems:
        raise ValidationFailed(problems, f"{Path(path).name}: {len(problems)} problem(s), nothing imported")
    keys = [clean["source_key"] for clean in cleaned]
    existing = {entry.source_key: entry for entry in
                session.exec(select(Feedback).where(Feedback.source_key.in_(keys))).all()} if keys else {}
    result = ImportResult()
    fresh = []
    for clean in cleaned:
        entry = existing.get(clean["source_key"])
        if entry is None:
            entry = Feedback(**clean)
            session.add(entry)
            fresh.append(entry)
        elif _bring_forward(entry, clean):
            result.updated.append(entry.id)
        else:
            result.unchanged.append(entry.id)
    session.flush()
    result.added = [entry.id for entry in fresh]
    return result
