"""Importing the feedback log many teams already keep in a spreadsheet.

Validate every row first, then write one transaction: one bad row and nothing
is stored. Rows go through the same functions as `csat feedback add`, `reply`,
`close` and `edit` (csat.feedback.log), so an imported entry obeys the same
rules: a complaint is closed only after its reply, and reply and close times
come from the file (columns replied and closed) or the row is refused.

A row's identity is the log's own number column (No., 序号, 编号) when it has
one, kept in Feedback.source_number; else who, when, how and what kind
(customer, time received, channel, kind), hashed into Feedback.source_key. So
importing a corrected copy of the log updates the entries whose text, kind,
product... changed (each change audited as an edit), adds the new rows and
leaves identical rows alone. Status only moves forward (open -> replied ->
closed): a reply or close recorded in csat is kept when the file does not have
it yet. A voided entry stays void.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from csat.errors import CsatError, ValidationFailed
from csat.i18n import N_, _

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
    "closed": ["closed", "closed at", "close date", "close time", "关闭日期", "结案日期", "结案时间", "关闭时间"],
    "number": ["no", "no.", "number", "#", "entry no", "entry no.", "ref", "ref.", "序号", "编号", "反馈编号",
               "投诉编号", "记录编号"],
}
REQUIRED = ("received", "customer", "kind", "channel", "text")
_RANK = {"open": 0, "replied": 1, "closed": 2}


# How the rules name the file's dates, and where a missing one goes.
_NAMES = {"received": "received", "replied": "replied", "closed": "closed"}
_HINTS = {"replied": N_(" (columns 'reply' and 'replied', e.g. 回复 and 回复日期)"),
          "closed": N_(" (column 'closed', e.g. 结案日期)"), "reply": N_(" (column 'reply', e.g. 回复)")}
# Fields a later copy of the log corrects, when the file has their column.
_CORRECTED = ("customer", "received", "kind", "channel", "text", "product", "owner", "dept")


@dataclass
class ImportResult:
    added: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    void: list[int] = field(default_factory=list)


@dataclass
class Row:
    where: str
    columns: set[str]
    values: dict[str, Any]
    number: str
    key: str
    sheet: str = ""                 # where in the archived file the entry came from
    row_number: int | None = None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def _number(value: Any) -> str:
    """The log's entry number as text: 7, 7.0, '7', '007' and '#7' are the same number."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = _text(value).lstrip("#").strip()
    return str(int(text)) if text.isdigit() else text


def read_rows(path: Path, limits=None) -> list[tuple[str, dict[str, Any], tuple[str, int]]]:
    """(where, values by field, (sheet, row number)) for every data row of the first sheet."""
    from csat.sheets.guard import Limits
    from csat.sheets.read import header_rows, read_table
    from csat.sheets.unseen import refuse_unseen

    sheets = read_table(path, limits or Limits())
    if not sheets:
        raise CsatError(_("{path}: no visible sheet with data", path=path))
    sheet = sheets[0]
    refuse_unseen(Path(path).name, sheet)     # hidden rows or columns, merges, formulas without a value
    header = next((values for _sheet, _row, values in sheet.rows if any(value is not None for value in values)), None)
    if header is None:
        raise CsatError(_("{path}: the sheet is empty", path=path))
    lookup = {spelling.casefold(): name for name, spellings in HEADERS.items() for spelling in spellings}
    mapping: dict[str, str] = {}
    for title in (_text(value) for value in header):
        name = lookup.get(title.casefold())
        if name and name not in mapping.values():
            mapping[title] = name
    missing = [name for name in REQUIRED if name not in mapping.values()]
    if missing:
        raise CsatError(_("{source}: no {columns} column in the header row; found: {header}",
                          source=f"{path.name}!{sheet.name}", columns=", ".join(missing),
                          header=", ".join(_text(value) for value in header if value is not None)))
    return [(_("{file}!{sheet}!row {row}", file=path.name, sheet=sheet.name, row=row_number),
             {name: values.get(title) for title, name in mapping.items()}, (sheet.name, row_number))
            for row_number, values, _cells in header_rows(sheet)]


def _when(value: Any, name: str, problems: list[str]) -> datetime | None:
    from csat.feedback.log import parse_when

    if value is None or _text(value) == "":
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        problems.append(f"{name}: {exc}")   # the column's name, then why
        return None


def _clean(settings, values: dict[str, Any], customers: dict[str, Any], now: datetime):
    """One row's values parsed ({field: value}), and its problems (rules of the entry itself included)."""
    from csat.feedback import log as feedback

    problems: list[str] = []
    customer_text = _text(values.get("customer"))
    customer = customers.get(customer_text) or customers.get(customer_text.casefold())
    if not customer_text:
        problems.append(_("missing customer"))
    elif customer is None:
        problems.append(_("unknown customer {code!r}", code=customer_text))
    clean: dict[str, Any] = {"customer": customer.code if customer is not None else None}
    for name, parse in (("kind", feedback.parse_kind), ("channel", feedback.parse_channel)):
        try:
            clean[name] = parse(_text(values.get(name)))
        except CsatError as exc:
            clean[name] = None
            problems.append(str(exc) if _text(values.get(name)) else _("missing {column}", column=name))
    clean["text"] = _text(values.get("text"))
    if not clean["text"]:
        problems.append(_("missing {column}", column="text"))
    received = _when(values.get("received"), "received", problems)
    if received is None and not any(problem.startswith("received") for problem in problems):
        problems.append(_("missing received date"))
    replied = _when(values.get("replied"), "replied", problems)
    closed = _when(values.get("closed"), "closed", problems)
    try:
        clean["dept"] = feedback.resolve_dept(settings, _text(values.get("dept")))
    except CsatError as exc:
        problems.append(str(exc))
    reply = _text(values.get("reply"))
    status = "closed" if closed else ("replied" if reply or replied else "open")
    status_text = _text(values.get("status"))
    if status_text:
        try:
            status = max(status, feedback.parse_status(status_text), key=_RANK.__getitem__)
        except CsatError as exc:
            problems.append(str(exc))
    problems += feedback.record_problems(
        received_at=received, now=now, status=status,
        complaint=feedback.is_complaint(clean["kind"]) if clean["kind"] else None,
        replied_at=replied, reply_text=reply, closed_at=closed, names=_NAMES, hints=_HINTS)
    clean.update(received=received, product=_text(values.get("product")), owner=_text(values.get("owner")),
                 reply=reply, replied=replied, status=status, closed=closed)
    return clean, problems


# Channels that csat before 0.x filed under `other` (微信 silently became `other`): an entry
# stored that way is still the same entry, and the import corrects its channel.
_ONCE_OTHER = ("wechat", "dingtalk")


def _legacy_key(values: dict[str, Any]) -> str | None:
    from csat.feedback import log as feedback

    if values["channel"] not in _ONCE_OTHER:
        return None
    return feedback.content_key(values["customer"], values["received"], values["kind"], "other")


def _candidates(row: Row, by_number: dict[str, list], by_key: dict[str, list]) -> list:
    """The stored entries a row may be: by its number, else by who, when, how and what kind."""
    if row.number and by_number.get(row.number):
        return by_number[row.number]
    found = by_key.get(row.key, [])
    legacy = _legacy_key(row.values)
    if not found and legacy:
        found = [entry for entry in by_key.get(legacy, []) if entry.channel == "other"]
    return [entry for entry in found if not entry.source_number] if row.number else found


def _apply_new(session, settings, row: Row, now: datetime, source_file_id: int | None = None) -> int:
    from csat.feedback import log as feedback

    values = row.values
    entry = feedback.add(session, settings, values["customer"], values["kind"], values["channel"], values["text"],
                         received=values["received"], product=values["product"], owner=values["owner"],
                         dept=values["dept"], now=now, source_key=row.key, source_number=row.number,
                         source=(source_file_id, row.sheet, row.row_number))
    if values["replied"] is not None:
        feedback.reply(session, entry.id, values["reply"], at=values["replied"], now=now, names=_NAMES)
    if values["status"] == "closed":
        feedback.close(session, entry.id, at=values["closed"], now=now, names=_NAMES)
    return entry.id


def _apply_known(session, settings, entry, row: Row, now: datetime, source_file_id: int | None = None) -> bool:
    """Bring a stored entry to what the row says; True when something changed (it then refers to this file)."""
    from csat.feedback import log as feedback

    values = row.values
    changes = {name: values[name] for name in _CORRECTED if name in row.columns}
    if entry.replied_at is not None and values["replied"] is not None:
        changes["replied"] = values["replied"]
        stored = entry.reply_text
        if not (stored == values["reply"] or stored.startswith(values["reply"] + "\n[")):  # later replies kept
            changes["reply"] = values["reply"]
    if entry.status == "closed" and values["status"] == "closed":
        changes["closed"] = values["closed"]
    _entry, changed = feedback.edit(session, settings, entry.id, changes, now=now, names=_NAMES)
    moved = False
    if entry.replied_at is None and values["replied"] is not None:
        feedback.reply(session, entry.id, values["reply"], at=values["replied"], now=now, names=_NAMES)
        moved = True
    if entry.status != "closed" and values["status"] == "closed":
        feedback.close(session, entry.id, at=values["closed"], now=now, names=_NAMES)
        moved = True
    if row.number and not entry.source_number:
        entry.source_number = row.number
    if (changed or moved) and source_file_id is not None:     # what it says now comes from this file and row
        entry.source_file_id, entry.source_sheet, entry.source_row = source_file_id, row.sheet, row.row_number
    return bool(changed) or moved


def import_file(session, settings, path: Path, limits=None, now: datetime | None = None) -> ImportResult:
    """Add new entries, correct and bring forward known ones from a log file, all rows or none."""
    from sqlmodel import or_, select

    from csat.feedback import log as feedback
    from csat.sheets.read import archive_as_read, file_bytes
    from csat.store.models import Customer, Feedback, now as local_now

    now = now or local_now()
    path = Path(path)
    content = file_bytes(path, limits)        # archived with the entries (csat.store.sources)
    rows = read_rows(path, limits)
    customers: dict[str, Any] = {}
    for customer in session.exec(select(Customer)).all():
        customers.setdefault(customer.name.casefold(), customer)
    for customer in session.exec(select(Customer)).all():
        customers[customer.code] = customer
    problems: list[str] = []
    first_by_identity: dict[str, str] = {}
    parsed: list[Row] = []
    for where, values, (sheet_name, row_number) in rows:
        clean, row_problems = _clean(settings, values, customers, now)
        number = _number(values.get("number"))
        short = where.rsplit("!", 1)[-1]
        if not row_problems:
            key = feedback.content_key(clean["customer"], clean["received"], clean["kind"], clean["channel"])
            identity = f"number {number}" if number else key
            first = first_by_identity.setdefault(identity, short)
            if first != short:
                row_problems.append(_("the same number {number} as {first}", number=number, first=first) if number else
                                    _("the same entry as {first} (same time received, customer, channel and kind;"
                                      " give the time of day, or number the log with a column such as 序号)", first=first))
            else:
                parsed.append(Row(where, set(values), clean, number, key, sheet_name, row_number))
        problems.extend(f"{where}: {problem}" for problem in row_problems)
    if not rows:
        problems.append(_("{file}: no entries under the header", file=path.name))
    numbers = [row.number for row in parsed if row.number]
    keys = [row.key for row in parsed] + [key for key in map(_legacy_key, (row.values for row in parsed)) if key]
    by_number: dict[str, list] = {}
    by_key: dict[str, list] = {}
    # Two imports of the same log at once would both find none of its entries and add them all twice.
    feedback.lock_feedback(session)
    if parsed:
        for entry in session.exec(select(Feedback).where(or_(Feedback.source_number.in_(numbers),
                                                              Feedback.source_key.in_(keys)))
                                  .order_by(Feedback.id)).all():
            if entry.source_number:
                by_number.setdefault(entry.source_number, []).append(entry)
            by_key.setdefault(entry.source_key, []).append(entry)
    result = ImportResult()
    source_file_id = archive_as_read(session, path, content, "feedback", limits) if parsed and not problems else None
    claimed: dict[int, str] = {}
    for row in parsed:
        short = row.where.rsplit("!", 1)[-1]
        candidates = _candidates(row, by_number, by_key)
        try:
            if len(candidates) > 1:
                raise CsatError(_("matches entries {entries} (same time received, customer, channel and kind);"
                                  " number the log with a column such as 序号, or void the wrong entry with"
                                  " `csat feedback void`", entries=", ".join(f"#{entry.id}" for entry in candidates)))
            if not candidates:
                result.added.append(_apply_new(session, settings, row, now, source_file_id))
                continue
            entry = candidates[0]
            if claimed.setdefault(entry.id, short) != short:
                raise CsatError(_("entry #{number} again (already matched by {first})", number=entry.id,
                                  first=claimed[entry.id]))
            if entry.voided_at is not None:
                result.void.append(entry.id)
            elif _apply_known(session, settings, entry, row, now, source_file_id):
                result.updated.append(entry.id)
            else:
                result.unchanged.append(entry.id)
        except CsatError as exc:
            problems.append(f"{row.where}: {exc}")
    if problems:
        raise ValidationFailed(problems, _("{file}: {n} problem(s), nothing imported", file=path.name, n=len(problems)))
    session.flush()
    return result
