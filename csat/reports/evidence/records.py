"""The pack's record sheets' data: flagged items and their CAPAs, complaints, summaries, audit entries.

Each function reads the store once and returns plain rows; the sheets only write them.
Flagged items come from the survey report itself (csat.reports.survey.build), so the
pack and `csat report` can never disagree about which items needed action.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, Iterator, Optional

from csat.periods import Half, Quarter


def half_bounds(half: Half) -> tuple[datetime, datetime]:
    """[start, end) of a half in local time."""
    return datetime.combine(half.start, time()), datetime.combine(half.end + timedelta(days=1), time())


def round_of(session, half: Half):
    from sqlmodel import select

    from csat.store.models import SurveyRound

    return session.exec(select(SurveyRound).where(SurveyRound.period == str(half))).first()


# ---- flagged items -----------------------------------------------------------------------------

def flagged_items(session, settings, half: Half, lang: str) -> list[dict[str, Any]]:
    """Each item below or at risk in the half's round, with every CAPA opened for it and their checks."""
    from sqlmodel import select

    from csat.capa.records import verifications
    from csat.reports.survey import build
    from csat.store.models import Capa, Item

    round_ = round_of(session, half)
    if round_ is None:
        return []
    data = build(session, settings, str(half), lang)
    flagged = data["flagged"]
    if not flagged:
        return []
    item_ids = dict(session.exec(select(Item.code, Item.id).where(Item.code.in_([item["code"] for item in flagged]))).all())
    capas = list(session.exec(select(Capa).where(Capa.source_kind == "item", Capa.round_id == round_.id,
                                                 Capa.item_id.in_(list(item_ids.values()))).order_by(Capa.id)).all())
    history = verifications(session, [capa.id for capa in capas])
    found = []
    for item in flagged:
        own = [capa for capa in capas if capa.item_id == item_ids.get(item["code"])]
        found.append({**item, "capas": [{"capa": capa, "verifications": history[capa.id]} for capa in own]})
    return found


# ---- complaints -----------------------------------------------------------------------------------

def working_days_between(calendar, start: date, end: date) -> int:
    """Working days after `start` up to and including `end` (0 when replied the same day)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            days += 1
    return days


def complaints(session, settings, half: Half, today: date) -> list[dict[str, Any]]:
    """Every complaint received in the half (void ones too, marked), oldest first, with its CAPAs."""
    from sqlmodel import select

    from csat.feedback import log
    from csat.store.models import Capa, Customer, Feedback
    from csat.workdays import calendar_for

    start, end = half_bounds(half)
    entries = list(session.exec(select(Feedback).where(Feedback.complaint == True, Feedback.received_at >= start,  # noqa: E712
                                                       Feedback.received_at < end)
                                .order_by(Feedback.received_at, Feedback.id)).all())
    if not entries:
        return []
    ids = [entry.id for entry in entries]
    names = dict(session.exec(select(Customer.id, Customer.name).where(
        Customer.id.in_({entry.customer_id for entry in entries}))).all())
    capas: dict[int, list] = {}
    for capa in session.exec(select(Capa).where(Capa.feedback_id.in_(ids)).order_by(Capa.id)).all():
        capas.setdefault(capa.feedback_id, []).append(capa)
    calendar = calendar_for(settings)
    records = log.records(session, settings, entries, today)
    found = []
    for entry, record in zip(entries, records):
        due = record["reply_due"]
        replied = entry.replied_at
        if entry.voided_at is not None:
            deadline = "void"
        elif replied is not None:
            deadline = "met" if due is None or replied.date() <= due else "late"
        else:
            deadline = "overdue" if due is not None and today > due else "pending"
        found.append({**record, "name": names.get(entry.customer_id, ""), "deadline": deadline,
                      "reply_working_days": working_days_between(calendar, entry.received_at.date(), replied.date())
                      if replied is not None else None,
                      "capas": capas.get(entry.id, [])})
    return found


# ---- quarterly summaries --------------------------------------------------------------------------



def quarters_of(half: Half) -> list[Quarter]:
    first = Quarter(half.year, 1 if half.number == 1 else 3)
    return [first, first.next()]


def summaries(session, half: Half) -> list[tuple[str, list[dict[str, Any]]]]:
    """(quarter, its summary records, oldest version first) for the half's two quarters: every column."""
    from sqlalchemy import select

    from csat.store.models import QuarterSummary

    table = QuarterSummary.__table__
    found = []
    for quarter in quarters_of(half):
        rows = session.connection().execute(select(table).where(table.c.quarter == str(quarter))
                                            .order_by(table.c.version)).mappings().all()
        found.append((str(quarter), [dict(row) for row in rows]))
    return found


# ---- gaps ---------------------------------------------------------------------------------------

GAP_KEYS = ("rule", "severity", "record", "what", "fix")


def gaps_for_pack(session, settings, half: Half, lang: str) -> list[dict[str, Any]]:
    """The procedure's gaps in the half, as `csat check --half` finds them, told in the pack's language:
    dicts with GAP_KEYS (the severity as a word)."""
    from csat import vocabulary
    from csat.i18n import use_language
    from csat.procedure.check import find_gaps

    with use_language(lang):
        found = find_gaps(session, settings, half=str(half)).gaps
    return [{key: getattr(gap, key) for key in GAP_KEYS} | {"severity": vocabulary.word("gap_severity", gap.severity, lang)}
            for gap in found]


# ---- audit entries ------------------------------------------------------------------------------

def audit_entries(session, half: Half, round_id: Optional[int]) -> Iterator[tuple]:
    """Audit entries made in the half, or about the half's records (its round, invitations, responses,
    complaints and feedback, their CAPAs, its quarters' summaries), oldest first, streamed."""
    from sqlalchemy import and_, or_, select

    from csat.reports.evidence.answers import STREAMED
    from csat.store.models import AuditLog, Capa, CapaVerification, Feedback, Invitation, Response

    start, end = half_bounds(half)
    log = AuditLog
    about = [and_(log.at >= start, log.at < end),
             and_(log.table_name == "quarter_summary", log.record_key.in_([str(q) for q in quarters_of(half)]))]
    feedback_ids = select(Feedback.id).where(Feedback.received_at >= start, Feedback.received_at < end)
    capa_ids = select(Capa.id).where(Capa.feedback_id.in_(feedback_ids))
    if round_id is not None:
        about += [and_(log.table_name == "survey_round", log.record_id == round_id),
                  and_(log.table_name == "invitation",
                       log.record_id.in_(select(Invitation.id).where(Invitation.round_id == round_id))),
                  and_(log.table_name == "response",
                       log.record_id.in_(select(Response.id).where(Response.round_id == round_id))),
                  and_(log.table_name == "response", log.record_id.is_(None), log.changes.contains(f'"{half}"'))]
        capa_ids = select(Capa.id).where(or_(Capa.feedback_id.in_(feedback_ids), Capa.round_id == round_id))
    about += [and_(log.table_name == "feedback", log.record_id.in_(feedback_ids)),
              and_(log.table_name == "capa", log.record_id.in_(capa_ids)),
              and_(log.table_name == "capa_verification",
                   log.record_id.in_(select(CapaVerification.id).where(CapaVerification.capa_id.in_(capa_ids))))]
    query = (select(log.id, log.at, log.actor, log.host, log.table_name, log.record_id, log.record_key, log.action,
                    log.changes).where(or_(*about)).order_by(log.id))
    yield from session.connection().execute(query, execution_options=STREAMED)
