"""`csat check`: the procedure's gaps, found before the auditor finds them.

Each rule is a plain query over the store for a given day and returns Gaps: a stable
snake_case rule code, its severity, the record it concerns (as `kind:key`, like a CAPA's
source), what is wrong and the csat command that fixes it, in the staff's language. Voided
feedback and withdrawn responses count nowhere. A rule judges a survey round only once the
round is closed or past its due date (a round still collecting answers is not a gap yet).

Severity: `major` where the procedure's output is missing or wrong for a customer or an
auditor (no survey in a half year, a customer never surveyed, a nonconformity without a
corrective action, a complaint unanswered or without its CAPA, a defect back after its CAPA
was judged effective, an ineffective CAPA left alone); `minor` where the record lags behind
work that is tracked elsewhere (a summary not made or stale, a CAPA past its due date, a
complaint closed before its CAPA, an at-risk item, a customer who never answers).

`--half P` keeps the gaps of records that belong to P (its round, complaints received in it,
CAPAs opened in it, its quarters); `--since DATE` those from DATE on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from csat.i18n import _
from csat.periods import Half, Quarter

MAJOR, MINOR = "major", "minor"

# Every rule, in the order gaps are listed, with its severity (README "csat check" documents them).
RULES: dict[str, str] = {
    "half_without_round": MAJOR,
    "customer_not_surveyed": MAJOR,
    "customer_never_answers": MINOR,
    "item_below_limit_without_capa": MAJOR,
    "item_at_risk_without_capa": MINOR,
    "complaint_reply_overdue": MAJOR,
    "complaint_without_capa": MAJOR,
    "complaint_closed_capa_open": MINOR,
    "complaint_recurring": MAJOR,
    "quarter_not_summarised": MINOR,
    "summary_stale": MINOR,
    "capa_overdue": MINOR,
    "capa_not_effective_no_follow_up": MAJOR,
}
# A customer counts as never answering once invited to this many ended rounds without one answer.
NEVER_ANSWERED_ROUNDS = 2
# CAPA states in which its work is not finished (a complaint closed meanwhile closed too early).
CAPA_UNFINISHED = ("open", "in_progress", "verified_not_effective")


@dataclass(frozen=True)
class Gap:
    rule: str
    severity: str
    record: str
    what: str
    fix: str
    # The days the record spans, for --half and --since (not part of the JSON).
    start: date = field(default=date.min, compare=False, repr=False)
    end: date = field(default=date.max, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Identity of the gap across runs (the digest reports each once)."""
        return f"{self.rule}:{self.record}"

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "record": self.record, "what": self.what,
                "fix": self.fix}


@dataclass
class CheckResult:
    period: str
    gaps: list[Gap]

    @property
    def counts(self) -> dict[str, Any]:
        by_rule = {rule: 0 for rule in RULES}
        for gap in self.gaps:
            by_rule[gap.rule] += 1
        return {"total": len(self.gaps), MAJOR: sum(gap.severity == MAJOR for gap in self.gaps),
                MINOR: sum(gap.severity == MINOR for gap in self.gaps), "by_rule": by_rule}

    @property
    def has_major(self) -> bool:
        return any(gap.severity == MAJOR for gap in self.gaps)

    def as_json(self) -> dict[str, Any]:
        return {"period": self.period, "gaps": [gap.as_json() for gap in self.gaps], "counts": self.counts}


def _gap(rule: str, record: str, what: str, fix: str, start: date, end: date | None = None) -> Gap:
    return Gap(rule, RULES[rule], record, what, fix, start, end or start)


def find_gaps(session, settings, *, half: Half | str | None = None, since: date | None = None,
              today: date | None = None) -> CheckResult:
    """Every gap of the procedure on `today` (default: the real today), within a half year or from a date."""
    today = today or date.today()
    if isinstance(half, str):
        half = Half.parse(half)
    if half is not None:
        window, period = (half.start, half.end), str(half)
    elif since is not None:
        window, period = (since, date.max), f"{since.isoformat()}/.."
    else:
        window, period = (date.min, date.max), "all"
    context = _Context(session, settings, today)
    gaps: list[Gap] = []
    for rule in (_halves, _customers, _items, _complaints, _recurrences, _quarters, _capas):
        gaps += rule(context)
    kept = [gap for gap in gaps if gap.start <= window[1] and gap.end >= window[0]]
    order = list(RULES)
    kept.sort(key=lambda gap: (order.index(gap.rule), gap.start, gap.record))
    return CheckResult(period, kept)


class _Context:
    """What several rules read, loaded once."""

    def __init__(self, session, settings, today: date):
        from sqlmodel import select

        from csat.store.models import Customer, SurveyRound

        self.session, self.settings, self.today = session, settings, today
        self.rounds = list(session.exec(select(SurveyRound).order_by(SurveyRound.period)).all())
        self.customers = {customer.id: customer for customer in session.exec(select(Customer)).all()}

    def ended(self, round_) -> bool:
        """A round whose answers are in: closed, or past its due date."""
        return round_.status == "closed" or round_.due_date < self.today

    def code(self, customer_id: int) -> str:
        customer = self.customers.get(customer_id)
        return customer.code if customer else "?"


# ---- survey rounds ----------------------------------------------------------------------------

def _halves(context: _Context) -> list[Gap]:
    """Half years without a round, from the first round or first customer to the last ended half."""
    starts = [Half.parse(round_.period) for round_ in context.rounds]
    starts += [Half.containing(customer.created_at.date()) for customer in context.customers.values()]
    if not starts:
        return []
    have = {round_.period for round_ in context.rounds}
    half, last = min(starts), Half.containing(context.today).previous()
    gaps = []
    while half <= last:
        if str(half) not in have:
            gaps.append(_gap("half_without_round", f"half:{half}",
                             _("no survey round for {half}: the procedure surveys customers every half year", half=half),
                             f"csat survey open --half {half}", half.start, half.end))
        half = half.next()
    return gaps


def _customers(context: _Context) -> list[Gap]:
    """Active customers neither sent the form nor answered in an ended round, and those who never answer."""
    from sqlmodel import select

    from csat.store.models import Invitation, Response

    session = context.session
    ended = [round_ for round_ in context.rounds if context.ended(round_)]
    if not ended:
        return []
    round_ids = [round_.id for round_ in ended]
    sent = set(session.exec(select(Invitation.round_id, Invitation.customer_id).where(
        Invitation.round_id.in_(round_ids), Invitation.status == "sent")).all())
    answered = set(session.exec(select(Response.round_id, Response.customer_id).where(
        Response.withdrawn_at == None)).all())  # noqa: E711
    ever_answered = {customer_id for _round_id, customer_id in answered}
    gaps = []
    active = sorted((customer for customer in context.customers.values() if customer.active), key=lambda c: c.code)
    for round_ in ended:
        half = Half.parse(round_.period)
        # A customer added after the round was closed could not be in it; an open round can still take one.
        for customer in active:
            if round_.closed_at is not None and customer.created_at > round_.closed_at:
                continue
            if (round_.id, customer.id) in sent or (round_.id, customer.id) in answered:
                continue
            if customer.email.strip() and round_.status == "open":
                fix = f"csat survey send --half {round_.period} --customer {customer.code}"
            else:
                fix = f"csat response add {customer.code} --half {round_.period} --score ..."
            what = (_("{customer} was not sent the {half} survey form and gave no answers", customer=customer.code,
                      half=round_.period) if customer.email.strip()
                    else _("{customer} has no e-mail address and gave no {half} answers by phone, fax or visit",
                           customer=customer.code, half=round_.period))
            gaps.append(_gap("customer_not_surveyed", f"invitation:{round_.period}/{customer.code}", what, fix,
                             half.start, half.end))
    for customer in active:
        if customer.id in ever_answered:
            continue
        invited = [round_ for round_ in ended if (round_.id, customer.id) in sent]
        if len(invited) < NEVER_ANSWERED_ROUNDS:
            continue
        first, last = Half.parse(invited[0].period), Half.parse(invited[-1].period)
        gaps.append(_gap("customer_never_answers", f"customer:{customer.code}",
                         _("{customer} was sent {n} survey rounds ({first} to {last}) and never answered",
                           customer=customer.code, n=len(invited), first=first, last=last),
                         f"csat response add {customer.code} --half {last} --score ...",
                         first.start, last.end))
    return gaps


def _items(context: _Context) -> list[Gap]:
    """Items below the limit or at risk in an ended round without a CAPA for that round and item."""
    from sqlmodel import select

    from csat.reports.survey import build_trend
    from csat.store.models import Capa, Item

    ended = {round_.period: round_ for round_ in context.rounds if context.ended(round_)}
    if not ended:
        return []
    session = context.session
    trend = build_trend(session, context.settings)
    item_ids = dict(session.exec(select(Item.code, Item.id)).all())
    covered = set(session.exec(select(Capa.round_id, Capa.item_id).where(Capa.source_kind == "item")).all())
    gaps = []
    for item in trend["items"]:
        for point in item["series"]:
            round_ = ended.get(point["period"])
            if round_ is None or point["status"] not in ("below", "at_risk"):
                continue
            if (round_.id, item_ids.get(item["code"])) in covered:
                continue
            half = Half.parse(round_.period)
            below = point["status"] == "below"
            fields = {"item": item["code"], "half": round_.period, "mean": _number(point["mean"]),
                      "limit": _number(point["action_limit"])}
            what = (_("item {item} scored {mean} in {half}, below its action limit of {limit}, and has no CAPA", **fields)
                    if below else _("item {item} is at risk in {half} ({mean}, limit {limit}) and has no CAPA", **fields))
            gaps.append(_gap("item_below_limit_without_capa" if below else "item_at_risk_without_capa",
                             f"item:{round_.period}/{item['code']}", what,
                             f"csat capa open --from-item {item['code']} --half {round_.period}", half.start, half.end))
    return gaps


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


# ---- complaints -------------------------------------------------------------------------------

def _live_complaints(session) -> list:
    from sqlmodel import select

    from csat.store.models import Feedback

    return list(session.exec(select(Feedback).where(Feedback.complaint == True, Feedback.voided_at == None)  # noqa: E711,E712
                             .order_by(Feedback.received_at, Feedback.id)).all())


def _capa_by_entry(session, entries: list) -> dict[int, Any]:
    """The CAPA that handles each entry: opened from it, else linked to it."""
    from sqlmodel import select

    from csat.store.models import Capa

    ids = [entry.id for entry in entries]
    if not ids:
        return {}
    found = {}
    for capa in session.exec(select(Capa).where(Capa.feedback_id.in_(ids)).order_by(Capa.id.desc())).all():
        found[capa.feedback_id] = capa
    linked = {entry.capa_id for entry in entries if entry.id not in found and entry.capa_id is not None}
    if linked:
        by_id = {capa.id: capa for capa in session.exec(select(Capa).where(Capa.id.in_(linked))).all()}
        for entry in entries:
            if entry.id not in found and entry.capa_id in by_id:
                found[entry.id] = by_id[entry.capa_id]
    return found


def _complaints(context: _Context) -> list[Gap]:
    """Complaints unanswered past the reply deadline, without a CAPA, or closed before their CAPA."""
    from csat.feedback.log import is_overdue, reply_deadlines

    session, settings, today = context.session, context.settings, context.today
    entries = _live_complaints(session)
    deadlines = reply_deadlines([entry.received_at for entry in entries], settings)
    capas = _capa_by_entry(session, entries)
    gaps = []
    for entry, deadline in zip(entries, deadlines):
        received = entry.received_at.date()
        fields = {"number": entry.id, "customer": context.code(entry.customer_id), "received": received,
                  "due": deadline}
        record = f"feedback:{entry.id}"
        if is_overdue(entry, deadline, today):
            gaps.append(_gap("complaint_reply_overdue", record,
                             _("complaint #{number} from {customer} (received {received}) has no reply; it was due by {due}",
                               **fields),
                             f"csat feedback reply {entry.id} --text ...", received))
        capa = capas.get(entry.id)
        # The department gets the complaint as a CAPA report by the time the customer gets the reply.
        if capa is None and not entry.no_capa_reason and today > deadline:
            gaps.append(_gap("complaint_without_capa", record,
                             _("complaint #{number} from {customer} (received {received}) has no CAPA and no reason"
                               " why none is needed", **fields),
                             f"csat capa open --from-feedback {entry.id}", received))
        if capa is not None and entry.status == "closed" and capa.status in CAPA_UNFINISHED:
            gaps.append(_gap("complaint_closed_capa_open", record,
                             _("complaint #{number} from {customer} was closed while {capa} is still {status}",
                               capa=capa.number, status=_capa_status(capa.status), **fields),
                             f"csat capa show {capa.number}", received))
    return gaps


def _capa_status(code: str) -> str:
    from csat.vocabulary import word

    from csat.i18n import language

    return word("capa_status", code, language()).lower()


def _same_topic(earlier, later) -> bool:
    """Same customer and product, or same customer and kind when either names no product."""
    if earlier.customer_id != later.customer_id:
        return False
    first, second = earlier.product.strip().casefold(), later.product.strip().casefold()
    return first == second if first and second else earlier.kind == later.kind


def _recurrences(context: _Context) -> list[Gap]:
    """A complaint received after a CAPA on an earlier complaint of the same topic was closed as effective."""
    session = context.session
    entries = _live_complaints(session)
    capas = _capa_by_entry(session, entries)
    by_customer: dict[int, list] = {}
    for entry in entries:
        by_customer.setdefault(entry.customer_id, []).append(entry)
    gaps = []
    for later in entries:
        for earlier in by_customer[later.customer_id]:
            capa = capas.get(earlier.id)
            if (earlier.id == later.id or capa is None or capa.status != "closed" or capa.closed_at is None
                    or capa.closed_at >= later.received_at or earlier.received_at >= later.received_at
                    or capas.get(later.id) is capa or not _same_topic(earlier, later)):
                continue
            received = later.received_at.date()
            gaps.append(_gap("complaint_recurring", f"feedback:{later.id}",
                             _("complaint #{number} from {customer} (received {received}) repeats #{earlier}, whose"
                               " {capa} was closed as effective on {closed}", number=later.id,
                               customer=context.code(later.customer_id), received=received, earlier=earlier.id,
                               capa=capa.number, closed=capa.closed_at.date()),
                             f"csat capa reopen {capa.number} --reason ...", received))
            break
    return gaps


# ---- quarterly summaries ----------------------------------------------------------------------

def _quarters(context: _Context) -> list[Gap]:
    """Ended quarters not summarised, from the first logged feedback; summaries made stale by later entries."""
    from sqlalchemy import func
    from sqlmodel import select

    from csat.feedback.summary_record import stale_summaries
    from csat.store.models import Feedback, QuarterSummary

    session, today = context.session, context.today
    summarised = {Quarter.parse(quarter): moment for quarter, moment in session.exec(
        select(QuarterSummary.quarter, func.max(QuarterSummary.summarised_at)).group_by(QuarterSummary.quarter)).all()}
    first = session.exec(select(func.min(Feedback.received_at)).where(Feedback.voided_at == None)).one()  # noqa: E711
    starts = list(summarised) + ([Quarter.containing(first.date())] if first else [])
    gaps = []
    if starts:
        quarter, last = min(starts), Quarter.containing(today).previous()
        while quarter <= last:
            if quarter not in summarised:
                gaps.append(_gap("quarter_not_summarised", f"quarter:{quarter}",
                                 _("quarter {quarter} ended on {date} without its feedback summary", quarter=quarter,
                                   date=quarter.end),
                                 f"csat feedback summary --quarter {quarter}", quarter.start, quarter.end))
            quarter = quarter.next()
    # A summary record is stale by the record's own rule (csat.feedback.summary_record): entries of its
    # quarter added, edited, replied, closed or voided after it was made.
    for stale in stale_summaries(session):
        quarter = Quarter.parse(stale["quarter"])
        gaps.append(_gap("summary_stale", f"quarter:{quarter}",
                         _("the {quarter} summary (version {version}, made on {date}) is stale: {added} entries added"
                           " and {changed} changed since", quarter=quarter, version=stale["version"],
                           date=stale["summarised_at"].date(), added=stale["added"], changed=stale["changed"]),
                         f"csat feedback summary --quarter {quarter} --refresh", quarter.start, quarter.end))
    return gaps


# ---- CAPAs ------------------------------------------------------------------------------------

def _capas(context: _Context) -> list[Gap]:
    """CAPAs past their due date, and CAPAs verified not effective that nobody reopened."""
    from sqlmodel import select

    from csat.capa.records import is_overdue
    from csat.store.models import Capa

    gaps = []
    for capa in context.session.exec(select(Capa).order_by(Capa.id)).all():
        opened = capa.created_at.date()
        if capa.status == "verified_not_effective":
            gaps.append(_gap("capa_not_effective_no_follow_up", f"capa:{capa.number}",
                             _("{capa} was verified not effective and has not been reopened to rework its actions",
                               capa=capa.number),
                             f"csat capa reopen {capa.number} --reason ...", opened))
        elif is_overdue(capa, context.today):
            fix = (f"csat capa update {capa.number} --cause ... --action ..." if capa.status == "open"
                   else f"csat capa verify {capa.number} --by ... --result effective")
            gaps.append(_gap("capa_overdue", f"capa:{capa.number}",
                             _("{capa} was due on {due} and is {status}", capa=capa.number, due=capa.due_date,
                               status=_capa_status(capa.status)), fix, opened))
    return gaps
