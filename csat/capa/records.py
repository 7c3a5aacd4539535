"""Corrective and preventive action (CAPA) records and their state machine (ISO 9001 10.2).

A CAPA comes from a source: a survey item of a round that scored below its
action limit, or a feedback entry. Opening is idempotent per source (one CAPA
per round + item, one per feedback entry, whatever its status), so the report
and `feedback add --capa` can ask again without making duplicates.

    open -> in_progress -> verified -> closed        open/in_progress -> cancelled

Recording the cause or an action starts the work; verification needs the root
cause and the corrective action; an effective verification makes it verified,
a not-effective one sends it back to in_progress; only a verified CAPA closes.
Each transition goes through this module, which writes an audit entry naming
it (the ORM change itself is audited by the store as well).

Numbers are CAPA-YYYY-NNN, sequential per year of opening. Write sessions
start with BEGIN IMMEDIATE on SQLite, so two writers cannot read the same
highest number; on other databases a clash with the UNIQUE number is retried.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from csat.errors import Conflict, CsatError, NotFound

STATUSES = ("open", "in_progress", "verified", "closed", "cancelled")
ACTIVE = ("open", "in_progress")
RESULTS = ("effective", "not-effective")
STATUS_LABELS = {
    "open": ("Open", "未开始"), "in_progress": ("In progress", "进行中"), "verified": ("Verified", "已验证"),
    "closed": ("Closed", "已关闭"), "cancelled": ("Cancelled", "已取消"),
}
RESULT_LABELS = {"effective": ("Effective", "有效"), "not-effective": ("Not effective", "无效")}

# Which states each verb may start from.
_ALLOWED = {
    "update": {"open", "in_progress"},
    "verify": {"in_progress"},
    "close": {"verified"},
    "cancel": {"open", "in_progress"},
}
_HINTS = {
    "open": "record the cause and actions first with `csat capa update`",
    "in_progress": "verify it first with `csat capa verify`",
    "verified": "close it with `csat capa close`",
    "closed": "a closed CAPA is final",
    "cancelled": "a cancelled CAPA is final",
}
_NUMBER = re.compile(r"^(?:CAPA-)?(\d{4})-(\d{1,6})$", re.IGNORECASE)


def _now() -> datetime:
    from csat.store.models import now

    return now()


def _require(capa, verb: str) -> None:
    if capa.status not in _ALLOWED[verb]:
        raise Conflict(f"cannot {verb} {capa.number}: it is {capa.status.replace('_', ' ')}; {_HINTS[capa.status]}")


def _transition(session, capa, action: str, new_status: str, details: dict | None = None) -> None:
    from csat.store import audit

    old_status = capa.status
    capa.status = new_status
    session.flush()
    audit.record(session.connection(), "capa", action, capa.id, capa.number,
                 {"status": [old_status, new_status]} | (details or {}))


# ---- numbering and lookup -------------------------------------------------------------------

def next_number(session, year: int) -> str:
    from sqlmodel import select

    from csat.store.models import Capa

    prefix = f"CAPA-{year}-"
    numbers = session.exec(select(Capa.number).where(Capa.number.like(prefix + "%"))).all()
    highest = max((int(number[len(prefix):]) for number in numbers if number[len(prefix):].isdigit()), default=0)
    return f"{prefix}{highest + 1:03d}"


def get(session, reference: str | int):
    """A CAPA by number (CAPA-2024-007, or 2024-007) or by its row id."""
    from sqlmodel import select

    from csat.store.models import Capa

    text = str(reference).strip()
    match = _NUMBER.match(text)
    capa = None
    if match:
        number = f"CAPA-{match.group(1)}-{int(match.group(2)):03d}"
        capa = session.exec(select(Capa).where(Capa.number == number)).first()
    elif text.lstrip("#").isdigit():
        capa = session.get(Capa, int(text.lstrip("#")))
    if capa is None:
        raise NotFound(f"no CAPA {text!r}; see `csat capa list`")
    return capa


def find_for_item(session, round_id: int, item_id: int):
    from sqlmodel import select

    from csat.store.models import Capa

    return session.exec(select(Capa).where(Capa.source_kind == "item", Capa.round_id == round_id,
                                           Capa.item_id == item_id).order_by(Capa.id)).first()


def find_for_feedback(session, feedback_id: int):
    from sqlmodel import select

    from csat.store.models import Capa

    return session.exec(select(Capa).where(Capa.feedback_id == feedback_id).order_by(Capa.id)).first()


# ---- opening --------------------------------------------------------------------------------

def _owner(settings, explicit: str | None, mapped: str | None) -> str:
    from csat.feedback.log import resolve_dept

    if explicit is not None and str(explicit).strip():
        return resolve_dept(settings, explicit)
    for code in (mapped, settings.capa.default_dept):
        if code and code in settings.departments:
            return code
    return ""


def _due(settings, due: date | None, today: date) -> date:
    if due is None:
        return today + timedelta(days=settings.capa.due_days)
    if due < today:
        raise CsatError(f"due date {due.isoformat()} is in the past")
    return due


def _insert(session, today: date, **values):
    """Add a CAPA with the next free number of the year; retried if another writer took it."""
    from sqlalchemy.exc import IntegrityError

    from csat.store.models import Capa

    for _attempt in range(5):
        capa = Capa(number=next_number(session, today.year), **values)
        try:
            with session.begin_nested():
                session.add(capa)
                session.flush()
            return capa
        except IntegrityError:
            continue
    raise Conflict("could not allocate a CAPA number (too many concurrent writers); try again")


def open_for_item(session, settings, period: str, item_code: str, *, reason: str = "", title: str | None = None,
                  dept: str | None = None, due: date | None = None, today: date | None = None,
                  at_risk: bool = False):
    """The CAPA for a survey item of a round: (record, created). An existing one is returned as is."""
    from sqlmodel import select

    from csat.store.models import Item, RoundItem
    from csat.periods import Half
    from csat.survey.rounds import get_round

    try:
        half = Half.parse(period)
    except ValueError as exc:
        raise CsatError(str(exc)) from None
    round_ = get_round(session, half)
    found = session.exec(select(RoundItem, Item).join(Item, Item.id == RoundItem.item_id)
                         .where(RoundItem.round_id == round_.id, Item.code == item_code)).first()
    if found is None:
        codes = session.exec(select(Item.code).join(RoundItem, RoundItem.item_id == Item.id)
                             .where(RoundItem.round_id == round_.id).order_by(RoundItem.position)).all()
        raise NotFound(f"item {item_code!r} is not in the {half} round; its items: {', '.join(codes)}")
    round_item, item = found
    existing = find_for_item(session, round_.id, item.id)
    if existing is not None:
        return existing, False
    today = today or date.today()
    if settings.company.lang == "zh":
        label_zh = round_item.label_zh or round_item.label_en
        default_title = f"{half} 满意度调查项目“{label_zh}”{'趋近' if at_risk else '低于'}行动界限"
        default_description = f"{half} 满意度调查项目 {item.code}（{label_zh}）低于行动界限 {round_item.action_limit:g}。"
    else:
        default_title = f"{round_item.label_en} {'at risk of falling below' if at_risk else 'below'} the action limit in the {half} survey"
        default_description = (f"Survey item {item.code} ({round_item.label_en}) of the {half} round is below its"
                               f" action limit of {round_item.action_limit:g}.")
    description = reason.strip() or default_description
    capa = _insert(
        session, today, source_kind="item", round_id=round_.id, item_id=item.id,
        title=(title or default_title).strip()[:300], description=description,
        dept=_owner(settings, dept, settings.capa.item_departments.get(item.code)),
        due_date=_due(settings, due, today), status="open",
    )
    return capa, True


def open_for_feedback(session, settings, feedback_id: int | str, *, title: str | None = None,
                      dept: str | None = None, due: date | None = None, today: date | None = None):
    """The CAPA for a feedback entry: (record, created). An existing one is returned as is."""
    from csat.feedback import log as feedback
    from csat.store.models import Customer

    entry = feedback.get(session, feedback_id)
    existing = find_for_feedback(session, entry.id)
    if existing is not None:
        return existing, False
    today = today or date.today()
    customer = session.get(Customer, entry.customer_id)
    first_line = entry.text.strip().splitlines()[0] if entry.text.strip() else ""
    lang = settings.company.lang
    kind = feedback.label(feedback.KIND_LABELS, entry.kind, lang)
    default_title = f"{customer.code} {kind}: {first_line}"
    if len(default_title) > 120:
        default_title = default_title[:119] + "…"
    if lang == "zh":
        channel = feedback.label(feedback.CHANNEL_LABELS, entry.channel, lang)
        description = (f"反馈 #{entry.id}：{customer.code} {customer.name}，{entry.received_at:%Y-%m-%d %H:%M} 经{channel}收到"
                       + (f"，产品 {entry.product}" if entry.product else "") + f"：\n{entry.text}")
    else:
        description = (f"Feedback #{entry.id} from {customer.code} {customer.name}, received"
                       f" {entry.received_at:%Y-%m-%d %H:%M} by {entry.channel}"
                       + (f", product {entry.product}" if entry.product else "") + f":\n{entry.text}")
    capa = _insert(
        session, today, source_kind="feedback", feedback_id=entry.id,
        title=(title or default_title).strip()[:300], description=description,
        dept=_owner(settings, dept or entry.dept or None, settings.capa.kind_departments.get(entry.kind)),
        due_date=_due(settings, due, today), status="open",
    )
    return capa, True


# ---- the life cycle -------------------------------------------------------------------------

def update(session, settings, reference: str | int, *, cause: str | None = None, correction: str | None = None,
           action: str | None = None, prevention: str | None = None, title: str | None = None,
           description: str | None = None, dept: str | None = None, due: date | None = None,
           today: date | None = None):
    """Record the investigation and actions; the first of them moves an open CAPA to in_progress."""
    capa = get(session, reference)
    _require(capa, "update")
    work = {"root_cause": cause, "correction": correction, "corrective_action": action,
            "preventive_action": prevention}
    plain = {"title": title, "description": description}
    given = {name: value.strip() for name, value in (work | plain).items() if value is not None}
    if not given and dept is None and due is None:
        raise CsatError("nothing to update; give --cause, --correction, --action, --prevention, --title,"
                        " --description, --dept or --due")
    if "title" in given and not given["title"]:
        raise CsatError("the title cannot be empty")
    if dept is not None:
        capa.dept = _owner(settings, dept, None) if dept.strip() else ""
    if due is not None:
        capa.due_date = _due(settings, due, today or date.today())
    for name, value in given.items():
        setattr(capa, name, value[:300] if name == "title" else value)
    session.flush()
    if capa.status == "open" and any(name in work for name in given):
        _transition(session, capa, "start", "in_progress")
    return capa


def verify(session, reference: str | int, *, by: str, result: str, note: str = "", now: datetime | None = None):
    """Record the effectiveness check: effective -> verified, not-effective -> back to in_progress."""
    capa = get(session, reference)
    if result not in RESULTS:
        raise CsatError(f"unknown verification result {result!r}; valid: {', '.join(RESULTS)}")
    if not (by or "").strip():
        raise CsatError("say who verified it with --by")
    if capa.status in ACTIVE:
        missing = [label for label, value in (("root cause", capa.root_cause), ("corrective action", capa.corrective_action))
                   if not value.strip()]
        if missing:
            raise Conflict(f"cannot verify {capa.number}: no {' and no '.join(missing)} recorded yet;"
                           f" add {'them' if len(missing) > 1 else 'it'} with `csat capa update {capa.number}"
                           " --cause ... --action ...`")
    _require(capa, "verify")
    capa.verified_by, capa.verified_at = by.strip(), now or _now()
    capa.verification_result, capa.verification_note = result, (note or "").strip()
    new_status = "verified" if result == "effective" else "in_progress"
    _transition(session, capa, "verify", new_status, {"result": result, "by": capa.verified_by})
    return capa


def close(session, reference: str | int, *, now: datetime | None = None):
    """Close a CAPA whose actions were verified effective."""
    capa = get(session, reference)
    if capa.status in ACTIVE:
        raise Conflict(f"cannot close {capa.number}: it has no effective verification; verify it first with"
                       f" `csat capa verify {capa.number} --by NAME --result effective`")
    _require(capa, "close")
    if capa.verification_result != "effective":
        raise Conflict(f"cannot close {capa.number}: its verification was not effective")
    capa.closed_at = now or _now()
    _transition(session, capa, "close", "closed")
    return capa


def cancel(session, reference: str | int, *, reason: str, now: datetime | None = None):
    """Cancel a CAPA that is not needed (opened twice, or the source was a mistake), with the reason."""
    capa = get(session, reference)
    if not (reason or "").strip():
        raise CsatError("say why with --reason; the reason is kept on the record")
    _require(capa, "cancel")
    capa.cancel_reason, capa.closed_at = reason.strip(), now or _now()
    _transition(session, capa, "cancel", "cancelled", {"reason": capa.cancel_reason})
    return capa


# ---- queries --------------------------------------------------------------------------------

def is_overdue(capa, today: date) -> bool:
    return capa.status in ACTIVE and capa.due_date is not None and capa.due_date < today


def list_capas(session, *, status: str | None = None, overdue: bool = False, today: date | None = None) -> list:
    from sqlmodel import select

    from csat.store.models import Capa

    today = today or date.today()
    query = select(Capa).order_by(Capa.id)
    if status:
        if status not in STATUSES:
            raise CsatError(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
        query = query.where(Capa.status == status)
    found = list(session.exec(query).all())
    return [capa for capa in found if is_overdue(capa, today)] if overdue else found


def open_for_flagged(session, settings, period: str, flagged: list[dict[str, Any]],
                     today: date | None = None) -> list[tuple[Any, bool, dict[str, Any]]]:
    """A CAPA for every flagged item of a report (below or at risk), never two for one round and item."""
    return [
        (*open_for_item(session, settings, period, item["code"], reason=item.get("reason", ""),
                        today=today, at_risk=item.get("status") == "at_risk"), item)
        for item in flagged
    ]


def capas_past_due(session, settings, today: date) -> list:
    """Open or in-progress CAPAs whose due date has passed, earliest due first (for reminders)."""
    return sorted(list_capas(session, overdue=True, today=today), key=lambda capa: (capa.due_date, capa.id))


def _sources(session, capas: list) -> dict[int, dict[str, Any]]:
    """Per CAPA id: period, item code and label, feedback id, customer code."""
    from sqlmodel import select

    from csat.store.models import Customer, Feedback, Item, SurveyRound

    round_ids = {capa.round_id for capa in capas if capa.round_id}
    item_ids = {capa.item_id for capa in capas if capa.item_id}
    feedback_ids = {capa.feedback_id for capa in capas if capa.feedback_id}
    periods = dict(session.exec(select(SurveyRound.id, SurveyRound.period).where(SurveyRound.id.in_(round_ids))).all()) \
        if round_ids else {}
    items = {item.id: item for item in session.exec(select(Item).where(Item.id.in_(item_ids))).all()} if item_ids else {}
    customers = dict(session.exec(select(Feedback.id, Customer.code).join(Customer, Customer.id == Feedback.customer_id)
                                  .where(Feedback.id.in_(feedback_ids))).all()) if feedback_ids else {}
    result = {}
    for capa in capas:
        item = items.get(capa.item_id)
        period = periods.get(capa.round_id)
        if capa.source_kind == "item":
            source = f"item:{period}/{item.code if item else capa.item_id}"
        elif capa.source_kind == "feedback":
            source = f"feedback:{capa.feedback_id}"
        else:
            source = capa.source_kind
        result[capa.id] = {"source": source, "period": period, "item": item.code if item else None,
                           "feedback": capa.feedback_id, "customer": customers.get(capa.feedback_id)}
    return result


def records(session, settings, capas: list, today: date | None = None) -> list[dict[str, Any]]:
    """The JSON shape of CAPAs (a contract: keys are stable)."""
    today = today or date.today()
    sources = _sources(session, capas)
    return [{
        "number": capa.number,
        "status": capa.status,
        "source": sources[capa.id]["source"],
        "title": capa.title,
        "dept": capa.dept,
        "due": capa.due_date,
        "overdue": is_overdue(capa, today),
        "id": capa.id,
        "source_kind": capa.source_kind,
        "period": sources[capa.id]["period"],
        "item": sources[capa.id]["item"],
        "feedback": sources[capa.id]["feedback"],
        "customer": sources[capa.id]["customer"],
        "description": capa.description,
        "root_cause": capa.root_cause,
        "correction": capa.correction,
        "corrective_action": capa.corrective_action,
        "preventive_action": capa.preventive_action,
        "verified_by": capa.verified_by,
        "verified_at": capa.verified_at,
        "verification_result": capa.verification_result,
        "verification_note": capa.verification_note,
        "cancel_reason": capa.cancel_reason,
        "created_at": capa.created_at,
        "updated_at": capa.updated_at,
        "closed_at": capa.closed_at,
    } for capa in capas]


def record(session, settings, capa, today: date | None = None) -> dict[str, Any]:
    return records(session, settings, [capa], today)[0]
