"""The customer feedback log: what customers tell sales and support between surveys.

Every entry has a kind from the procedure; `quality`, `conduct` and `service`
are complaints, the rest is information. A complaint must be answered within
`feedback.reply_days` working days (the workspace's calendar, csat.workdays:
China's holidays and 调休, another country's, the company's closing days) and is "long
unresolved" when still not closed `feedback.unresolved_days` calendar days
after it came in. Status moves one way: open -> replied -> closed; a complaint
cannot be closed before it has been answered. Times are local wall-clock
time, so a complaint received on 30 Sep at 23:59 belongs to Q3.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable

from csat.errors import Conflict, CsatError, NotFound
from csat.i18n import N_, _
from csat.periods import Quarter

from csat import vocabulary

# The codes and their words live in csat.vocabulary (English, Chinese and accepted spellings).
KINDS = vocabulary.codes("kind")
COMPLAINT_KINDS = frozenset({"quality", "conduct", "service"})
CHANNELS = vocabulary.codes("channel")
STATUSES = vocabulary.codes("feedback_status")

KIND_LABELS = vocabulary.KIND_DESCRIPTIONS
CHANNEL_LABELS = vocabulary.family("channel").words
STATUS_LABELS = vocabulary.family("feedback_status").words


def parse_kind(text: str) -> str:
    return vocabulary.parse("kind", text)


def parse_channel(text: str) -> str:
    """A channel code from a word; an unknown word is refused, never filed under `other`."""
    return vocabulary.parse("channel", text)


def parse_status(text: str) -> str:
    return vocabulary.parse("feedback_status", text)


def is_complaint(kind: str) -> bool:
    return kind in COMPLAINT_KINDS


def label(table: dict[str, tuple[str, str]], code: str, lang: str = "en") -> str:
    english, chinese = table.get(code, (code, code))
    return chinese if lang == "zh" else english


_WHEN = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?$")


def parse_when(value: Any) -> datetime:
    """A local time from 'YYYY-MM-DD' (midnight) or 'YYYY-MM-DD HH:MM' (also / and 年月日); ValueError otherwise."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value, time())
    match = _WHEN.match(str(value).strip())
    if not match:
        raise ValueError(_("{value!r} is not a date; expected YYYY-MM-DD or 'YYYY-MM-DD HH:MM'", value=value))
    year, month, day, hour, minute, second = (int(part) if part else 0 for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise ValueError(_("{value!r} is not a valid date ({error})", value=value, error=exc)) from None


def check_not_future(when: datetime, what: str, now: datetime) -> None:
    if when > now:
        raise CsatError(_("{what} {moment} is in the future (now is {now})", what=what,
                          moment=when.strftime("%Y-%m-%d %H:%M"), now=now.strftime("%Y-%m-%d %H:%M")))


def resolve_dept(settings, text: str | None) -> str:
    """A configured department code from a code or a name in either language; '' for none."""
    if text is None or not str(text).strip():
        return ""
    return vocabulary.parse_department(settings, str(text))


def _now():
    from csat.store.models import now

    return now()


# ---- the rules every entry obeys, whoever writes it (commands, the log import) --------------

DATE_NAMES = {"received": "--received", "replied": N_("the reply time"), "closed": N_("the close time")}


def record_problems(*, received_at: datetime | None, now: datetime, status: str = "open",
                    complaint: bool | None = None, replied_at: datetime | None = None, reply_text: str | None = None,
                    closed_at: datetime | None = None, names: dict[str, str] | None = None,
                    hints: dict[str, str] | None = None) -> list[str]:
    """Every broken rule of an entry with these values, as one line each ([] when it may be stored).

    `names` says how each date is called where it came from (an option, a column); `hints`
    where a missing date would be given. Dates are never in the future and never before the
    ones they follow (received <= replied <= closed); a reply has its text and its time; a
    closed entry has its close time, and a complaint is closed only after it was answered.
    """
    names = {name: _(text) for name, text in (DATE_NAMES | (names or {})).items()}
    hints = {name: _(text) if text else "" for name, text in ({"replied": "", "closed": "", "reply": ""} | (hints or {})).items()}

    def shown(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%d %H:%M")

    problems = []
    for name, moment in (("received", received_at), ("replied", replied_at), ("closed", closed_at)):
        if moment is not None and moment > now:
            problems.append(_("{what} {moment} is in the future (now is {now})", what=names[name], moment=shown(moment),
                              now=shown(now)))
    for name, moment in (("replied", replied_at), ("closed", closed_at)):
        if moment is not None and received_at is not None and moment < received_at:
            problems.append(_("{what} {moment} is before the entry was received ({received})", what=names[name],
                              moment=shown(moment), received=shown(received_at)))
    if closed_at is not None and replied_at is not None and closed_at < replied_at:
        problems.append(_("{what} {moment} is before the reply ({replied})", what=names["closed"],
                          moment=shown(closed_at), replied=shown(replied_at)))
    if reply_text is not None and bool(reply_text.strip()) != (replied_at is not None):
        problems.append(_("a reply needs its time{hint}", hint=hints["replied"]) if replied_at is None
                        else _("a reply time needs the reply itself{hint}", hint=hints["reply"]))
    if status == "replied" and replied_at is None:
        problems.append(_("a replied entry needs its reply and reply time{hint}", hint=hints["replied"]))
    if status == "closed" and complaint and replied_at is None:
        problems.append(_("a complaint cannot be closed before it has a reply{hint}", hint=hints["replied"]))
    if status == "closed" and closed_at is None:
        problems.append(_("a closed entry needs its close time{hint}", hint=hints["closed"]))
    return problems


def check_record(**values) -> None:
    """Raise the first broken rule of record_problems (for commands, which stop at the first)."""
    problems = record_problems(**values)
    if problems:
        raise CsatError(problems[0])


def content_key(customer_code: str, received: datetime, kind: str, channel: str) -> str:
    """The identity of a logged entry when its log has no number column: who, when, how, what kind."""
    identity = "\x1f".join([customer_code, received.isoformat(), kind, channel])
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()


_VOID_REFUSALS = {"takes no reply": N_("feedback #{number} is void ({reason}); it takes no reply"),
                  "cannot be closed": N_("feedback #{number} is void ({reason}); it cannot be closed"),
                  "cannot be edited": N_("feedback #{number} is void ({reason}); it cannot be edited")}


def _not_void(entry, doing: str) -> None:
    if entry.voided_at is not None:
        raise Conflict(_(_VOID_REFUSALS.get(doing, "feedback #{number} is void ({reason})"), number=entry.id,
                         reason=entry.void_reason))


def add(session, settings, customer_code: str, kind: str, channel: str, text: str, *,
        received: datetime | None = None, product: str = "", owner: str = "", dept: str | None = None,
        now: datetime | None = None, source_key: str = "", source_number: str = "",
        source: tuple[int | None, str, int | None] = (None, "", None)):
    """Log one entry; everything is checked before anything is written.

    `source`: (archived file id, sheet, row) of an entry imported from a log (csat.feedback.intake)."""
    from csat.registry import customers
    from csat.store.models import Feedback

    now = now or _now()
    customer = customers.get(session, customer_code)
    kind = parse_kind(kind)
    channel = parse_channel(channel)
    text = (text or "").strip()
    if not text:
        raise CsatError(_("the feedback text is empty; say what the customer said with --text"))
    received = received or now
    check_record(received_at=received, now=now)
    number = _next_number(session)
    entry = Feedback(
        id=number, customer_id=customer.id, kind=kind, complaint=is_complaint(kind), channel=channel, text=text,
        received_at=received, product=(product or "").strip(), owner=(owner or "").strip(),
        dept=resolve_dept(settings, dept), status="open", source_key=source_key, source_number=source_number,
        source_file_id=source[0], source_sheet=source[1], source_row=source[2],
    )
    session.add(entry)
    session.flush()
    if number is not None:
        _keep_sequence_past(session, number)
    return entry


def lock_feedback(session) -> None:
    """Hold the store's feedback lock until this transaction ends (numbering, and a log import's matching)."""
    from csat.store.locking import hold_for_transaction

    hold_for_transaction(session, "feedback", N_("another feedback entry being logged on this store"))


def _next_number(session) -> int | None:
    """The number of the entry being logged, taken under the store's feedback lock until commit.

    Entry numbers are the row ids people quote ("feedback #12"). On SQLite a new row's id is
    the highest + 1 already, and the write transaction holds the file's lock. A PostgreSQL
    sequence would leave a gap for every entry whose transaction rolled back (a `--capa` that
    failed), so there the number is the highest + 1 too, read while holding the lock.
    """
    from sqlalchemy import text

    lock_feedback(session)
    if session.connection().dialect.name == "sqlite":
        return None
    return session.execute(text("SELECT coalesce(max(id), 0) + 1 FROM feedback")).scalar()


def _keep_sequence_past(session, number: int) -> None:
    """Move the id sequence up to `number`, so a row inserted without a number never takes a used one."""
    from sqlalchemy import text

    session.execute(text("SELECT setval(pg_get_serial_sequence('feedback', 'id'), :number)"), {"number": number})


def get(session, number: int | str):
    from csat.store.models import Feedback

    try:
        key = int(str(number).lstrip("#"))
    except ValueError:
        raise NotFound(_("feedback entry {number!r} is not a number; see `csat feedback list`", number=number)) from None
    entry = session.get(Feedback, key)
    if entry is None:
        raise NotFound(_("no feedback entry #{number}; see `csat feedback list`", number=key))
    return entry


def _audit(session, entry, action: str, changes: dict) -> None:
    from csat.store import audit

    audit.record(session.connection(), "feedback", action, entry.id, f"#{entry.id}", changes)


def _stated(at: datetime | None, now: datetime) -> dict[str, str]:
    """What the audit keeps of a time: the one stated and, when it was backfilled, the real time of entry."""
    return {"at": (at or now).isoformat(), "entered_at": now.isoformat()}


def reply(session, number: int | str, text: str, *, at: datetime | None = None, now: datetime | None = None,
          names: dict[str, str] | None = None):
    """Record the answer given to the customer and when; a later reply is appended, the first time kept."""
    entry = get(session, number)
    now = now or _now()
    text = (text or "").strip()
    if not text:
        raise CsatError(_("the reply text is empty; give it with --text"))
    _not_void(entry, "takes no reply")
    if entry.status == "closed":
        raise Conflict(_("feedback #{number} is closed; a closed entry takes no more replies", number=entry.id))
    moment = at or now
    check_record(received_at=entry.received_at, replied_at=moment, now=now, names=names)
    if entry.replied_at is not None and moment < entry.replied_at:
        raise CsatError(_("the reply time {moment} is before the first reply ({first}); a later reply comes after it",
                          moment=moment.strftime("%Y-%m-%d %H:%M"), first=entry.replied_at.strftime("%Y-%m-%d %H:%M")))
    old_status = entry.status
    if entry.replied_at is None:
        entry.reply_text, entry.replied_at = text, moment
    else:
        entry.reply_text = f"{entry.reply_text}\n[{moment:%Y-%m-%d %H:%M}] {text}"
    entry.status = "replied"
    session.flush()
    _audit(session, entry, "reply", {"status": [old_status, "replied"]} | _stated(at, now))
    return entry


# CAPA states in which the action is finished: a complaint may close only once its CAPA is in one.
CAPA_DONE = ("closed", "cancelled")


def open_capas(session, feedback_id: int) -> list:
    """The CAPAs raised on this entry (capa.feedback_id) that are not closed or cancelled, oldest first."""
    from sqlmodel import select

    from csat.store.models import Capa

    return list(session.exec(select(Capa).where(Capa.feedback_id == feedback_id, Capa.status.not_in(CAPA_DONE))
                             .order_by(Capa.id)).all())


def closed_despite_capa(session, entry) -> dict[str, Any] | None:
    """How a closed entry was closed while its CAPA was open: {"reason", "capas"}, from its audit entry (else None)."""
    import json

    from sqlmodel import select

    from csat.store.models import AuditLog

    if entry.status != "closed":
        return None
    last = session.exec(select(AuditLog.changes).where(AuditLog.table_name == "feedback",
                                                        AuditLog.record_id == entry.id, AuditLog.action == "close")
                        .order_by(AuditLog.id.desc()).limit(1)).first()
    changes = json.loads(last or "{}")
    if not changes.get("open_capa"):
        return None
    return {"reason": changes.get("reason", ""), "capas": changes["open_capa"]}


def close(session, number: int | str, *, at: datetime | None = None, now: datetime | None = None,
          names: dict[str, str] | None = None, reason: str | None = None):
    """Close an entry (now, or at a stated earlier time); a complaint must have been answered first.

    An entry whose CAPA is not closed or cancelled stays open (the procedure closes a complaint
    once its corrective action is done) unless a reason is given, kept in the audit entry.
    """
    from csat.vocabulary import word

    entry = get(session, number)
    now = now or _now()
    _not_void(entry, "cannot be closed")
    if entry.status == "closed":
        raise Conflict(_("feedback #{number} is already closed (on {at})", number=entry.id,
                         at=entry.closed_at.strftime("%Y-%m-%d %H:%M")))
    if entry.complaint and entry.replied_at is None:
        raise Conflict(_("complaint #{number} has no reply yet; record it with `csat feedback reply {number} --text ...`"
                         " before closing", number=entry.id))
    reason = reason.strip() if reason and reason.strip() else None
    pending = open_capas(session, entry.id)
    if pending and reason is None:
        from csat.i18n import language

        raise Conflict(_("#{number} cannot be closed: its CAPA {capas} is not closed yet; close the CAPA first, or"
                         " close the entry anyway with `csat feedback close {number} --reason TEXT`", number=entry.id,
                         capas=", ".join(f"{capa.number} ({word('capa_status', capa.status, language())})"
                                         for capa in pending)))
    moment = at or now
    check_record(received_at=entry.received_at, replied_at=entry.replied_at, closed_at=moment, now=now, names=names)
    old_status = entry.status
    entry.status, entry.closed_at = "closed", moment
    session.flush()
    extra = {"reason": reason, "open_capa": [capa.number for capa in pending]} if pending else {}
    _audit(session, entry, "close", {"status": [old_status, "closed"]} | _stated(at, now) | extra)
    return entry


# What `feedback edit` may correct, in the order it reports them.
EDITABLE = ("customer", "received", "kind", "channel", "text", "product", "owner", "dept", "reply", "replied",
            "closed")


def edit(session, settings, number: int | str, changes: dict[str, Any], *, now: datetime | None = None,
         names: dict[str, str] | None = None):
    """Correct fields of an entry: (entry, {field: [old, new]} of what changed); the state rules still hold.

    `changes` maps names of EDITABLE to new values (None: leave as is); dates are datetimes.
    A change to who, when, how or what kind also moves an imported entry's identity, so the
    corrected log finds it again. Nothing is written when a value or a rule is wrong.
    """
    from csat.registry import customers
    from csat.store.models import Customer

    entry = get(session, number)
    now = now or _now()
    _not_void(entry, "cannot be edited")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise CsatError(_("cannot edit {fields}; editable: {editable}", fields=", ".join(sorted(unknown)),
                          editable=", ".join(EDITABLE)))
    old_customer = session.get(Customer, entry.customer_id)
    current = {"customer": old_customer.code, "received": entry.received_at, "kind": entry.kind,
               "channel": entry.channel, "text": entry.text, "product": entry.product, "owner": entry.owner,
               "dept": entry.dept, "reply": entry.reply_text, "replied": entry.replied_at, "closed": entry.closed_at}
    wanted = dict(current)
    new_customer = old_customer
    for name, value in changes.items():
        if value is None:
            continue
        if name == "customer":
            new_customer = customers.get(session, str(value).strip())
            value = new_customer.code
        elif name == "kind":
            value = parse_kind(value)
        elif name == "channel":
            value = parse_channel(value)
        elif name == "dept":
            value = resolve_dept(settings, value)
        elif name in ("text", "product", "owner", "reply"):
            value = str(value).strip()
            if name == "text" and not value:
                raise CsatError(_("the feedback text cannot be empty"))
        if name in ("reply", "replied") and entry.replied_at is None:
            raise Conflict(_("feedback #{number} has no reply to correct; record it with"
                             " `csat feedback reply {number} --text ... --at ...`", number=entry.id))
        if name == "closed" and entry.status != "closed":
            raise Conflict(_("feedback #{number} is not closed; close it with `csat feedback close {number} --at ...`",
                             number=entry.id))
        wanted[name] = value
    check_record(received_at=wanted["received"], now=now, status=entry.status, complaint=is_complaint(wanted["kind"]),
                 replied_at=wanted["replied"], reply_text=wanted["reply"] if entry.replied_at else None,
                 closed_at=wanted["closed"], names=names)
    changed = {name: [current[name], wanted[name]] for name in EDITABLE if wanted[name] != current[name]}
    if not changed:
        return entry, {}
    entry.customer_id = new_customer.id
    entry.received_at, entry.kind, entry.complaint = wanted["received"], wanted["kind"], is_complaint(wanted["kind"])
    entry.channel, entry.text, entry.product = wanted["channel"], wanted["text"], wanted["product"]
    entry.owner, entry.dept = wanted["owner"], wanted["dept"]
    entry.reply_text, entry.replied_at, entry.closed_at = wanted["reply"], wanted["replied"], wanted["closed"]
    if entry.source_key and {"customer", "received", "kind", "channel"} & set(changed):
        entry.source_key = content_key(new_customer.code, entry.received_at, entry.kind, entry.channel)
    session.flush()
    _audit(session, entry, "edit", {name: [_plain(old), _plain(new)] for name, (old, new) in changed.items()})
    return entry, changed


def void(session, number: int | str, reason: str, *, now: datetime | None = None):
    """Void an entry logged by mistake: kept and shown with its reason, but counted nowhere any more."""
    entry = get(session, number)
    reason = " ".join((reason or "").split())
    if not reason:
        raise CsatError(_("say why the entry is void with --reason"))
    if entry.voided_at is not None:
        raise Conflict(_("feedback #{number} is already void (on {at}: {reason})", number=entry.id,
                         at=entry.voided_at.strftime("%Y-%m-%d %H:%M"), reason=entry.void_reason))
    entry.voided_at, entry.void_reason = now or _now(), reason
    session.flush()
    _audit(session, entry, "void", {"reason": reason, "status": entry.status})
    return entry


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def quarter_bounds(quarter: Quarter) -> tuple[datetime, datetime]:
    """[start, end) of a quarter in local time."""
    return datetime.combine(quarter.start, time()), datetime.combine(quarter.next().start, time())


def list_entries(session, *, open_only: bool = False, kind: str | None = None, customer: str | None = None,
                 quarter: Quarter | None = None, complaints_only: bool = False, include_void: bool = False) -> list:
    """Entries oldest first; voided entries only with include_void."""
    from sqlmodel import select

    from csat.registry import customers
    from csat.store.models import Feedback

    query = select(Feedback).order_by(Feedback.received_at, Feedback.id)
    if not include_void:
        query = query.where(Feedback.voided_at == None)  # noqa: E711
    if open_only:
        query = query.where(Feedback.status != "closed")
    if kind:
        query = query.where(Feedback.kind == parse_kind(kind))
    if customer:
        query = query.where(Feedback.customer_id == customers.get(session, customer).id)
    if quarter is not None:
        start, end = quarter_bounds(quarter)
        query = query.where(Feedback.received_at >= start, Feedback.received_at < end)
    if complaints_only:
        query = query.where(Feedback.complaint == True)  # noqa: E712
    return list(session.exec(query).all())


# ---- the reply-time rules -------------------------------------------------------------------

def reply_deadlines(received: Iterable[datetime], settings) -> list[date]:
    """The last day a reply is on time: reply_days working days after the (next working) day received.

    Working days are the workspace's calendar (csat.workdays): China's holidays and make-up
    working days for a Chinese company, another country's holidays, and the company's closings.
    """
    from csat.workdays import calendar_for

    calendar = calendar_for(settings)
    return [calendar.add_working_days(moment.date(), settings.feedback.reply_days) for moment in received]


def is_overdue(entry, deadline: date | None, today: date) -> bool:
    return bool(entry.voided_at is None and entry.complaint and entry.replied_at is None and entry.status != "closed"
                and deadline is not None and today > deadline)


def is_long_unresolved(entry, settings, today: date) -> bool:
    return bool(entry.voided_at is None and entry.complaint and entry.status != "closed"
                and (today - entry.received_at.date()).days > settings.feedback.unresolved_days)


def overdue_complaints(session, settings, today: date) -> list:
    """Complaints with no reply past their reply deadline, oldest first (for reminders)."""
    from sqlmodel import select

    from csat.store.models import Feedback

    waiting = list(session.exec(
        select(Feedback).where(Feedback.complaint == True, Feedback.replied_at == None,  # noqa: E711,E712
                               Feedback.status != "closed", Feedback.voided_at == None).order_by(Feedback.received_at, Feedback.id)
    ).all())
    deadlines = reply_deadlines([entry.received_at for entry in waiting], settings)
    return [entry for entry, deadline in zip(waiting, deadlines) if is_overdue(entry, deadline, today)]


def long_unresolved_complaints(session, settings, today: date) -> list:
    """Complaints still not closed more than unresolved_days after they came in (for reminders)."""
    from sqlmodel import select

    from csat.store.models import Feedback

    limit = datetime.combine(today - timedelta(days=settings.feedback.unresolved_days), time())
    return list(session.exec(
        select(Feedback).where(Feedback.complaint == True, Feedback.status != "closed",  # noqa: E711,E712
                               Feedback.received_at < limit, Feedback.voided_at == None).order_by(Feedback.received_at, Feedback.id)
    ).all())


# ---- JSON shape -----------------------------------------------------------------------------

def records(session, settings, entries: list, today: date | None = None) -> list[dict[str, Any]]:
    """The JSON shape of entries (a contract: keys are stable), with customer code and CAPA number."""
    from sqlmodel import select

    from csat.store.models import Capa, Customer

    today = today or date.today()
    customer_ids = {entry.customer_id for entry in entries}
    entry_ids = [entry.id for entry in entries]
    codes = dict(session.exec(select(Customer.id, Customer.code).where(Customer.id.in_(customer_ids))).all()) \
        if customer_ids else {}
    capas = dict(session.exec(select(Capa.feedback_id, Capa.number).where(Capa.feedback_id.in_(entry_ids))
                              .order_by(Capa.id.desc())).all()) if entry_ids else {}
    linked_ids = {entry.capa_id for entry in entries if entry.capa_id is not None and entry.id not in capas}
    linked = dict(session.exec(select(Capa.id, Capa.number).where(Capa.id.in_(linked_ids))).all()) if linked_ids else {}
    linked_to = {entry.id for entry in entries if entry.id not in capas and entry.capa_id in linked}
    capas |= {entry.id: linked[entry.capa_id] for entry in entries if entry.id in linked_to}
    deadlines = reply_deadlines([entry.received_at for entry in entries], settings)
    files = _source_files(session, {entry.source_file_id for entry in entries} - {None})
    result = []
    for entry, deadline in zip(entries, deadlines):
        result.append({
            "id": entry.id,
            "customer": codes.get(entry.customer_id, ""),
            "kind": entry.kind,
            "complaint": bool(entry.complaint),
            "channel": entry.channel,
            "received": entry.received_at,
            "status": entry.status,
            "replied_at": entry.replied_at,
            "capa": capas.get(entry.id),
            "capa_linked": entry.id in linked_to,   # linked with `feedback link`, not opened from the entry
            "text": entry.text,
            "product": entry.product,
            "owner": entry.owner,
            "dept": entry.dept,
            "reply": entry.reply_text,
            "closed_at": entry.closed_at,
            "reply_due": deadline if entry.complaint else None,
            "overdue": is_overdue(entry, deadline, today),
            "long_unresolved": is_long_unresolved(entry, settings, today),
            "void": entry.voided_at is not None,
            "voided_at": entry.voided_at,
            "void_reason": entry.void_reason,
            # The log file it was imported (or last corrected) from, archived in the store, and its row.
            "source_file_name": files.get(entry.source_file_id, (None, None))[0],
            "source_sha256": files.get(entry.source_file_id, (None, None))[1],
            "source_sheet": entry.source_sheet or None,
            "source_row": entry.source_row,
            "no_capa_reason": entry.no_capa_reason,
            "no_capa_at": entry.no_capa_at,
        })
    lang = vocabulary.staff_lang(settings)
    return [vocabulary.labelled(record, _LABELLED, lang, settings) for record in result]


def _source_files(session, ids: set[int]) -> dict[int, tuple[str, str]]:
    """id -> (name, sha256) of archived files."""
    from sqlmodel import select

    from csat.store.models import SourceFile

    if not ids:
        return {}
    return {file_id: (name, sha256) for file_id, name, sha256 in session.exec(
        select(SourceFile.id, SourceFile.name, SourceFile.sha256).where(SourceFile.id.in_(ids))).all()}


# Coded fields of a record and their family: each gets a `<field>_label` in the staff's language.
_LABELLED = {"kind": "kind", "channel": "channel", "status": "feedback_status", "dept": "dept"}
