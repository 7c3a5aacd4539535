"""Corrective and preventive action (CAPA) records and their state machine (ISO 9001 10.2).

A CAPA comes from a source: a survey item of a round that scored below its
action limit, or a feedback entry. Opening is idempotent per source (one CAPA
per round + item, one per feedback entry, whatever its status), so the report
and `feedback add --capa` can ask again without making duplicates.

    open -> in_progress -> verified -> closed        open/in_progress -> cancelled
            in_progress -> verified_not_effective    (a not-effective verification)
    verified_not_effective/verified/closed -> reopen -> in_progress

Recording the cause or an action starts the work; verification needs the root
cause and the corrective action; an effective verification makes it verified,
a not-effective one verified_not_effective; only a verified CAPA closes. Going
back into the work is a `reopen` with a reason, so the record says why. Every
verification is kept (capa_verification), never overwritten: the last one
decides the state. Each transition goes through this module, which writes an
audit entry naming it (the ORM change itself is audited by the store as well).

Records written after the fact carry the date the person states (`at`): it may
not be in the future nor before the record's own dates, and the audit entry
keeps it beside the real time of entry. A due date comes after the date the
CAPA was opened (csat.dates.require_due_after, the one rule for every due date).

Numbers are CAPA-YYYY-NNN, sequential per year of opening. Opening a CAPA
holds the store's CAPA lock for its transaction (csat.store.locking: BEGIN
IMMEDIATE on SQLite, an advisory lock on PostgreSQL), so two writers can
neither read the same highest number nor both find no CAPA for one source;
a clash with the UNIQUE number would still be retried, never stored twice.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from csat import vocabulary
from csat.dates import require_due_after
from csat.errors import Conflict, CsatError, NotFound
from csat.i18n import N_, _, in_language

STATUSES = vocabulary.codes("capa_status")
# Not finished: the due date still binds (overdue lists, reminders).
ACTIVE = ("open", "in_progress", "verified_not_effective")
RESULTS = vocabulary.codes("result")
STATUS_LABELS = vocabulary.family("capa_status").words
RESULT_LABELS = vocabulary.family("result").words

# Which states each verb may start from.
_ALLOWED = {
    "update": {"open", "in_progress"},
    "verify": {"in_progress"},
    "close": {"verified"},
    "cancel": {"open", "in_progress", "verified_not_effective"},
    "reopen": {"verified_not_effective", "verified", "closed"},
}
_HINTS = {
    "open": N_("record the cause and actions first with `csat capa update`"),
    "in_progress": N_("verify it first with `csat capa verify`"),
    "verified": N_("close it with `csat capa close`"),
    "verified_not_effective": N_("reopen it with `csat capa reopen {number} --reason ...` to rework the actions"),
    "closed": N_("reopen it with `csat capa reopen {number} --reason ...` if the problem came back"),
    "cancelled": N_("a cancelled CAPA is final"),
}
# The refused step, as the refusal names it.
_VERBS = {"update": N_("cannot update {number}: it is {status}; {hint}"),
          "verify": N_("cannot verify {number}: it is {status}; {hint}"),
          "close": N_("cannot close {number}: it is {status}; {hint}"),
          "reopen": N_("cannot reopen {number}: it is {status}; {hint}"),
          "cancel": N_("cannot cancel {number}: it is {status}; {hint}")}
# A step written up after the fact, as its date is named.
_STEPS = {"opening": N_("opening date {date} is in the future (today is {today})"),
          "verification": N_("verification date {date} is in the future (today is {today})"),
          "closing": N_("closing date {date} is in the future (today is {today})"),
          "reopening": N_("reopening date {date} is in the future (today is {today})")}
_STEPS_BEFORE = {"opening": N_("opening date {date} is before {name} ({earliest})"),
                 "verification": N_("verification date {date} is before {name} ({earliest})"),
                 "closing": N_("closing date {date} is before {name} ({earliest})"),
                 "reopening": N_("reopening date {date} is before {name} ({earliest})")}
_NUMBER = re.compile(r"^(?:CAPA-)?(\d{4})-(\d{1,6})$", re.IGNORECASE)


def _now() -> datetime:
    from csat.store.models import now

    return now()


def _require(capa, verb: str) -> None:
    if capa.status not in _ALLOWED[verb]:
        hint = _(_HINTS[capa.status], number=capa.number)
        if verb == "reopen" and capa.status in ("open", "in_progress"):
            hint = _("it is still being worked on")
        raise Conflict(_(_VERBS[verb], number=capa.number, status=vocabulary.in_sentence("capa_status", capa.status),
                          hint=hint))


def _stated(at: date | None, now: datetime, what: str, not_before: list[tuple[date | None, str]]) -> datetime:
    """The moment a step happened: now, or the stated date of a record written after the fact.

    A stated date may not lie in the future nor before the record's own dates; a stated
    date of today is simply now. A past date is kept as that day at 00:00.
    """
    if at is None or at == now.date():
        return now
    if at > now.date():
        raise CsatError(_(_STEPS[what], date=at.isoformat(), today=now.date().isoformat()))
    for earliest, name in not_before:
        if earliest is not None and at < earliest:
            raise CsatError(_(_STEPS_BEFORE[what], date=at.isoformat(), name=name, earliest=earliest.isoformat()))
    return datetime.combine(at, time())


def _backfill(moment: datetime, now: datetime) -> dict:
    """Audit details of a step written after the fact: the stated date and the real time of entry."""
    return {"at": moment.date(), "entered_at": now} if moment != now else {}


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
        raise NotFound(_("no CAPA {text!r}; see `csat capa list`", text=text))
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


def _due(settings, due: date | None, opened_on: date, number: str = "") -> date:
    if due is None:
        return opened_on + timedelta(days=settings.capa.due_days)
    return require_due_after(due, opened_on, _("the date {number} was opened", number=number) if number
                             else _("the date the CAPA was opened"))


def _opening(at: date | None, today: date | None, not_before: list[tuple[date | None, str]]) -> tuple[date, dict]:
    """(opening date, extra insert values) for a CAPA opened now or written up after the fact."""
    now = _now()
    if at is None:
        return today or now.date(), {}
    moment = _stated(at, now, "opening", not_before)
    return moment.date(), ({"created_at": moment} if moment != now else {})


def _audit_backfilled_opening(session, capa, values: dict) -> None:
    if "created_at" in values:
        from csat.store import audit

        audit.record(session.connection(), "capa", "open", capa.id, capa.number,
                     {"at": capa.created_at.date(), "entered_at": _now()})


def lock_capas(session) -> None:
    """Hold the CAPA lock until this transaction ends (see the module docstring)."""
    from csat.store.locking import hold_for_transaction

    hold_for_transaction(session, "capa", N_("another CAPA being opened on this store"))


def _insert(session, today: date, **values):
    """Add a CAPA with the next free number of the year; retried if another writer took it."""
    from sqlalchemy.exc import IntegrityError

    from csat.store.models import Capa

    lock_capas(session)
    for _attempt in range(5):
        capa = Capa(number=next_number(session, today.year), **values)
        try:
            with session.begin_nested():
                session.add(capa)
                session.flush()
            return capa
        except IntegrityError:
            continue
    raise Conflict(_("could not allocate a CAPA number (too many concurrent writers); try again"))


def open_for_item(session, settings, period: str, item_code: str, *, reason: str = "", title: str | None = None,
                  dept: str | None = None, due: date | None = None, today: date | None = None,
                  at_risk: bool = False, at: date | None = None):
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
        raise NotFound(_("item {item!r} is not in the {half} round; its items: {items}", item=item_code, half=half,
                         items=", ".join(codes)))
    round_item, item = found
    lock_capas(session)
    existing = find_for_item(session, round_.id, item.id)
    if existing is not None:
        return existing, False
    # The round's opened_at is when it was entered (maybe later than the survey): the half's start is the bound.
    today, backfilled = _opening(at, today, [(half.start, _("the {half} half year began", half=half))])
    lang = settings.company.lang   # the record is written in the workspace's language
    label = (round_item.label_zh or round_item.label_en) if lang == "zh" else round_item.label_en
    fields = {"half": half, "label": label, "code": item.code, "limit": round_item.action_limit}
    default_title = (in_language(lang, "{label} at risk of falling below the action limit in the {half} survey", **fields)
                     if at_risk else in_language(lang, "{label} below the action limit in the {half} survey", **fields))
    default_description = in_language(lang, "Survey item {code} ({label}) of the {half} round is below its"
                                            " action limit of {limit:g}.", **fields)
    description = reason.strip() or default_description
    capa = _insert(
        session, today, source_kind="item", round_id=round_.id, item_id=item.id,
        title=(title or default_title).strip()[:300], description=description,
        dept=_owner(settings, dept, settings.capa.item_departments.get(item.code)),
        due_date=_due(settings, due, today), status="open", **backfilled,
    )
    _audit_backfilled_opening(session, capa, backfilled)
    return capa, True


def open_for_feedback(session, settings, feedback_id: int | str, *, title: str | None = None,
                      dept: str | None = None, due: date | None = None, today: date | None = None,
                      at: date | None = None):
    """The CAPA for a feedback entry: (record, created). An existing one is returned as is."""
    from csat.feedback import log as feedback
    from csat.store.models import Capa, Customer

    entry = feedback.get(session, feedback_id)
    lock_capas(session)
    existing = find_for_feedback(session, entry.id)
    if existing is None and entry.capa_id is not None:   # linked with `feedback link`: that one handles it
        existing = session.get(Capa, entry.capa_id)
    if existing is not None:
        return existing, False
    if entry.voided_at is not None:
        raise Conflict(_("feedback #{number} is void ({reason}); a void entry gets no CAPA", number=entry.id,
                         reason=entry.void_reason))
    today, backfilled = _opening(at, today, [(entry.received_at.date(),
                                              _("feedback #{number} was received", number=entry.id))])
    customer = session.get(Customer, entry.customer_id)
    first_line = entry.text.strip().splitlines()[0] if entry.text.strip() else ""
    lang = settings.company.lang
    kind = feedback.label(feedback.KIND_LABELS, entry.kind, lang)
    default_title = f"{customer.code} {kind}: {first_line}"
    if len(default_title) > 120:
        default_title = default_title[:119] + "…"
    fields = {"number": entry.id, "code": customer.code, "name": customer.name, "product": entry.product,
              "received": entry.received_at.strftime("%Y-%m-%d %H:%M"),
              "channel": feedback.label(feedback.CHANNEL_LABELS, entry.channel, lang) if lang == "zh" else entry.channel}
    description = (in_language(lang, "Feedback #{number} from {code} {name}, received {received} by {channel},"
                                     " product {product}:", **fields) if entry.product
                   else in_language(lang, "Feedback #{number} from {code} {name}, received {received} by {channel}:",
                                    **fields)) + f"\n{entry.text}"
    capa = _insert(
        session, today, source_kind="feedback", feedback_id=entry.id,
        title=(title or default_title).strip()[:300], description=description,
        dept=_owner(settings, dept or entry.dept or None, settings.capa.kind_departments.get(entry.kind)),
        due_date=_due(settings, due, today), status="open", **backfilled,
    )
    if entry.no_capa_reason:   # a CAPA after all: the reason why none was needed no longer holds (audited)
        entry.no_capa_reason, entry.no_capa_at = "", None
        session.flush()
    _audit_backfilled_opening(session, capa, backfilled)
    return capa, True


# ---- the life cycle -------------------------------------------------------------------------

def update(session, settings, reference: str | int, *, cause: str | None = None, correction: str | None = None,
           action: str | None = None, prevention: str | None = None, title: str | None = None,
           description: str | None = None, dept: str | None = None, due: date | None = None,
           reason: str | None = None):
    """Record the investigation and actions; the first of them moves an open CAPA to in_progress.

    Moving the due date needs a reason (ReasonRequired without one); the caller keeps it in the
    audit entry (csat.store.audit.reason).
    """
    from csat.errors import ReasonRequired

    capa = get(session, reference)
    _require(capa, "update")
    if due is not None:
        due = _due(settings, due, capa.created_at.date(), capa.number)
    if due is not None and due != capa.due_date and not (reason and reason.strip()):
        raise ReasonRequired(_("moving the due date of {capa} from {old} to {new} needs a reason: add --reason TEXT"
                               " (kept in the audit trail)", capa=capa.number,
                               old=capa.due_date.isoformat() if capa.due_date else _("none"), new=due.isoformat()))
    work = {"root_cause": cause, "correction": correction, "corrective_action": action,
            "preventive_action": prevention}
    plain = {"title": title, "description": description}
    given = {name: value.strip() for name, value in (work | plain).items() if value is not None}
    if not given and dept is None and due is None:
        raise CsatError(_("nothing to update; give --cause, --correction, --action, --prevention, --title,"
                          " --description, --dept or --due"))
    if "title" in given and not given["title"]:
        raise CsatError(_("the title cannot be empty"))
    if dept is not None:
        capa.dept = _owner(settings, dept, None) if dept.strip() else ""
    if due is not None:
        capa.due_date = _due(settings, due, capa.created_at.date(), capa.number)
    for name, value in given.items():
        setattr(capa, name, value[:300] if name == "title" else value)
    session.flush()
    if capa.status == "open" and any(name in work for name in given):
        _transition(session, capa, "start", "in_progress")
    return capa


def verifications(session, capa_ids: list[int]) -> dict[int, list]:
    """Every verification of the given CAPAs, oldest first, by CAPA id."""
    from sqlmodel import select

    from csat.store.models import CapaVerification

    found: dict[int, list] = {capa_id: [] for capa_id in capa_ids}
    if capa_ids:
        for verification in session.exec(select(CapaVerification).where(CapaVerification.capa_id.in_(capa_ids))
                                         .order_by(CapaVerification.id)).all():
            found[verification.capa_id].append(verification)
    return found


def last_verification(session, capa):
    """The verification that decides the state, or None."""
    history = verifications(session, [capa.id])[capa.id]
    return history[-1] if history else None


def verify(session, reference: str | int, *, by: str, result: str, note: str = "", at: date | None = None,
           now: datetime | None = None):
    """Record an effectiveness check (kept with every earlier one): effective -> verified, else verified_not_effective."""
    from csat.store.models import CapaVerification

    capa = get(session, reference)
    result = vocabulary.parse("result", result)
    if not (by or "").strip():
        raise CsatError(_("say who verified it with --by"))
    if capa.status in ("open", "in_progress"):
        missing = [label for label, value in ((_("root cause"), capa.root_cause),
                                              (_("corrective action"), capa.corrective_action)) if not value.strip()]
        if missing:
            raise Conflict(_("cannot verify {number}: no {missing} recorded yet; add it with"
                             " `csat capa update {number} --cause ... --action ...`", number=capa.number,
                             missing=_(" and no ").join(missing)))
    _require(capa, "verify")
    entered = now or _now()
    previous = last_verification(session, capa)
    reopened = reopenings(session, [capa.id])[capa.id]
    moment = _stated(at, entered, "verification", [
        (capa.created_at.date(), _("the date {number} was opened", number=capa.number)),
        (previous.verified_at.date() if previous else None, _("its last verification")),
        (reopened[-1]["at"].date() if reopened else None, _("the date it was last reopened"))])
    verification = CapaVerification(capa_id=capa.id, verified_at=moment, verified_by=by.strip(), result=result,
                                    note=(note or "").strip(), entered_at=entered)
    session.add(verification)
    new_status = "verified" if result == "effective" else "verified_not_effective"
    _transition(session, capa, "verify", new_status,
                {"result": result, "by": verification.verified_by} | _backfill(moment, entered))
    return capa


def close(session, reference: str | int, *, at: date | None = None, now: datetime | None = None):
    """Close a CAPA whose actions were verified effective."""
    capa = get(session, reference)
    if capa.status in ("open", "in_progress"):
        raise Conflict(_("cannot close {number}: it has no effective verification; verify it first with"
                         " `csat capa verify {number} --by NAME --result effective`", number=capa.number))
    if capa.status == "verified_not_effective":
        raise Conflict(_("cannot close {number}: its last verification was not effective; reopen it with"
                         " `csat capa reopen {number} --reason ...` and verify the new actions", number=capa.number))
    _require(capa, "close")
    last = last_verification(session, capa)
    if last is None or last.result != "effective":
        raise Conflict(_("cannot close {number}: its last verification was not effective", number=capa.number))
    entered = now or _now()
    moment = _stated(at, entered, "closing", [(capa.created_at.date(), _("the date {number} was opened", number=capa.number)),
                                              (last.verified_at.date(), _("its last verification"))])
    capa.closed_at = moment
    _transition(session, capa, "close", "closed", _backfill(moment, entered))
    return capa


def reopen(session, reference: str | int, *, reason: str, at: date | None = None, now: datetime | None = None):
    """Send a CAPA back into the work (not effective, or the problem came back), with the reason.

    Its verifications stay on the record; it needs a new one before it can close again.
    """
    capa = get(session, reference)
    if not (reason or "").strip():
        raise CsatError(_("say why with --reason; the reason is kept on the record"))
    _require(capa, "reopen")
    entered = now or _now()
    last = last_verification(session, capa)
    reopened = reopenings(session, [capa.id])[capa.id]
    moment = _stated(at, entered, "reopening", [
        (capa.created_at.date(), _("the date {number} was opened", number=capa.number)),
        (last.verified_at.date() if last else None, _("its last verification")),
        (reopened[-1]["at"].date() if reopened else None, _("the date it was last reopened")),
        (capa.closed_at.date() if capa.closed_at else None, _("the date it was closed"))])
    capa.closed_at = None
    _transition(session, capa, "reopen", "in_progress", {"reason": reason.strip()} | _backfill(moment, entered))
    return capa


def cancel(session, reference: str | int, *, reason: str, now: datetime | None = None):
    """Cancel a CAPA that is not needed (opened twice, or the source was a mistake), with the reason."""
    capa = get(session, reference)
    if not (reason or "").strip():
        raise CsatError(_("say why with --reason; the reason is kept on the record"))
    _require(capa, "cancel")
    capa.cancel_reason, capa.closed_at = reason.strip(), now or _now()
    _transition(session, capa, "cancel", "cancelled", {"reason": capa.cancel_reason})
    return capa


def reopenings(session, capa_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each CAPA's reopenings, oldest first, as the audit trail holds them (when, who, from, reason)."""
    import json

    from sqlmodel import select

    from csat.store.models import AuditLog

    found: dict[int, list] = {capa_id: [] for capa_id in capa_ids}
    if capa_ids:
        for entry in session.exec(select(AuditLog).where(AuditLog.table_name == "capa", AuditLog.action == "reopen",
                                                         AuditLog.record_id.in_(capa_ids)).order_by(AuditLog.id)).all():
            changes = json.loads(entry.changes or "{}")
            stated = datetime.fromisoformat(changes["at"]) if changes.get("at") else entry.at
            found[entry.record_id].append({"date": stated.date(), "at": stated, "by": entry.actor, "from": (changes.get("status") or [""])[0],
                                           "reason": changes.get("reason", ""), "entered_at": entry.at})
    return found


# ---- queries --------------------------------------------------------------------------------

def is_overdue(capa, today: date) -> bool:
    return capa.status in ACTIVE and capa.due_date is not None and capa.due_date < today


def list_capas(session, *, status: str | None = None, overdue: bool = False, today: date | None = None) -> list:
    from sqlmodel import select

    from csat.store.models import Capa

    today = today or date.today()
    query = select(Capa).order_by(Capa.id)
    if status:
        status = vocabulary.parse("capa_status", status)
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
    history = verifications(session, [capa.id for capa in capas])
    reopened = reopenings(session, [capa.id for capa in capas])
    from csat import vocabulary

    lang = vocabulary.staff_lang(settings)
    found = []
    for capa in capas:
        record = vocabulary.labelled(_record(capa, sources[capa.id], history[capa.id], reopened[capa.id], today),
                                     _LABELLED, lang, settings)
        for verification in record["verifications"]:
            verification["result_label"] = vocabulary.word("result", verification["result"], lang)
        found.append(record)
    return found


# Coded fields of a record and their family: each gets a `<field>_label` in the staff's language.
_LABELLED = {"status": "capa_status", "source_kind": "capa_source", "dept": "dept",
             "verification_result": "result"}


def verification_record(verification) -> dict[str, Any]:
    return {"date": verification.verified_at.date(), "verified_at": verification.verified_at,
            "by": verification.verified_by, "result": verification.result,
            "note": verification.note, "entered_at": verification.entered_at}


def _record(capa, source: dict[str, Any], history: list, reopened: list, today: date) -> dict[str, Any]:
    last = history[-1] if history else None
    return {
        "number": capa.number,
        "status": capa.status,
        "source": source["source"],
        "title": capa.title,
        "dept": capa.dept,
        "due": capa.due_date,
        "overdue": is_overdue(capa, today),
        "id": capa.id,
        "source_kind": capa.source_kind,
        "period": source["period"],
        "item": source["item"],
        "feedback": source["feedback"],
        "customer": source["customer"],
        "description": capa.description,
        "root_cause": capa.root_cause,
        "correction": capa.correction,
        "corrective_action": capa.corrective_action,
        "preventive_action": capa.preventive_action,
        # The last verification, as before the history was kept (the full list is under "verifications").
        "verified_by": last.verified_by if last else "",
        "verified_at": last.verified_at if last else None,
        "verification_result": last.result if last else "",
        "verification_note": last.note if last else "",
        "cancel_reason": capa.cancel_reason,
        "created_at": capa.created_at,
        "updated_at": capa.updated_at,
        "closed_at": capa.closed_at,
        "verifications": [verification_record(verification) for verification in history],
        "reopenings": reopened,
    }


def record(session, settings, capa, today: date | None = None) -> dict[str, Any]:
    return records(session, settings, [capa], today)[0]
