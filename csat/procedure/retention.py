"""Record retention: what is older than `records.keep_years`, and purging it with one audit entry.

A record's age is counted from the date the procedure closes it: a survey round from the end of its
half year, a feedback entry from the day it was received, a CAPA from the day it was closed (an open
CAPA is never old). `check` lists what is older than keep_years before today; `purge --before DATE`
removes what is older than DATE, refusing a DATE that would remove a record younger than keep_years.

A record another kept record refers to is kept with it and listed as kept, with the record that
needs it: a round or complaint a kept CAPA was opened for, a CAPA a kept feedback entry is linked to.
Removing it would leave the kept record pointing at nothing.

A purge removes the records and what hangs on them (a round's frozen item list, invitations and
their reminders, responses and their answers; a CAPA's effectiveness checks) with Core deletes in
one transaction, and writes ONE audit entry saying what went (counts, periods, numbers, the date,
the reason). The per-row entries the ORM hook would write are not wanted: the audit trail itself
is never purged, so its hash chain stays whole and `csat audit verify` still passes. Customers,
items, imported files and quarterly summaries are not purged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from csat.errors import CsatError
from csat.i18n import N_, _


class RetentionRefused(CsatError):
    """A purge that would remove records younger than records.keep_years."""


@dataclass
class Candidate:
    kind: str                 # round, feedback, capa
    id: int
    key: str                  # the period, #number, the CAPA number
    dated: date               # period end, received, closed
    customer: str = ""
    responses: int = 0
    answers: int = 0
    invitations: int = 0
    kept_for: str = ""        # the kept record that refers to it ('' when it can go)


@dataclass
class Plan:
    keep_years: int
    before: date
    records: list[Candidate] = field(default_factory=list)

    @property
    def purged(self) -> list[Candidate]:
        return [record for record in self.records if not record.kept_for]

    @property
    def kept(self) -> list[Candidate]:
        return [record for record in self.records if record.kept_for]

    def counts(self) -> dict[str, int]:
        going = self.purged
        return {"rounds": sum(record.kind == "round" for record in going),
                "feedback": sum(record.kind == "feedback" for record in going),
                "capas": sum(record.kind == "capa" for record in going),
                "invitations": sum(record.invitations for record in going),
                "responses": sum(record.responses for record in going),
                "answers": sum(record.answers for record in going),
                "kept": len(self.kept)}

    def as_json(self, today: date | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"keep_years": self.keep_years, "before": self.before.isoformat()}
        if today is not None:
            data["today"] = today.isoformat()
        data["counts"] = self.counts()
        data["records"] = rows(self)
        return data


def years_before(day: date, years: int) -> date:
    """The same day `years` earlier (28 February for a 29 February that year has not)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _moment(day: date) -> datetime:
    return datetime.combine(day, time())


def plan(session, keep_years: int, before: date) -> Plan:
    """Every round, feedback entry and closed CAPA dated before `before`, with what hangs on it."""
    from sqlalchemy import func
    from sqlmodel import select

    from csat.periods import Half
    from csat.store.models import Answer, Capa, Customer, Feedback, Invitation, Response, SurveyRound

    result = Plan(keep_years=keep_years, before=before)
    rounds = [round_ for round_ in session.exec(select(SurveyRound).order_by(SurveyRound.period)).all()
              if Half.parse(round_.period).end < before]
    round_ids = [round_.id for round_ in rounds]
    invitations = dict(session.exec(select(Invitation.round_id, func.count()).where(
        Invitation.round_id.in_(round_ids)).group_by(Invitation.round_id)).all()) if round_ids else {}
    responses = dict(session.exec(select(Response.round_id, func.count()).where(
        Response.round_id.in_(round_ids)).group_by(Response.round_id)).all()) if round_ids else {}
    answers = dict(session.exec(select(Response.round_id, func.count()).join(Answer, Answer.response_id == Response.id)
                                .where(Response.round_id.in_(round_ids)).group_by(Response.round_id)).all()) \
        if round_ids else {}
    for round_ in rounds:
        result.records.append(Candidate("round", round_.id, round_.period, Half.parse(round_.period).end,
                                        invitations=invitations.get(round_.id, 0),
                                        responses=responses.get(round_.id, 0), answers=answers.get(round_.id, 0)))
    for entry, code in session.exec(select(Feedback, Customer.code).join(Customer, Customer.id == Feedback.customer_id)
                                    .where(Feedback.received_at < _moment(before)).order_by(Feedback.id)).all():
        result.records.append(Candidate("feedback", entry.id, f"#{entry.id}", entry.received_at.date(), customer=code))
    for capa in session.exec(select(Capa).where(Capa.closed_at.is_not(None), Capa.closed_at < _moment(before))
                             .order_by(Capa.id)).all():
        result.records.append(Candidate("capa", capa.id, capa.number, capa.closed_at.date()))
    _keep_what_kept_records_need(session, result)
    return result


def _keep_what_kept_records_need(session, result: Plan) -> None:
    """Mark kept every candidate a kept record refers to, until nothing changes."""
    from sqlmodel import select

    from csat.store.models import Capa, Feedback

    going = {(record.kind, record.id): record for record in result.records}
    capas = session.exec(select(Capa.id, Capa.number, Capa.round_id, Capa.feedback_id)).all()
    links = session.exec(select(Feedback.id, Feedback.capa_id).where(Feedback.capa_id.is_not(None))).all()

    def purged(kind: str, identity) -> bool:
        record = going.get((kind, identity))
        return record is not None and not record.kept_for

    changed = True
    while changed:
        changed = False
        for identity, number, round_id, feedback_id in capas:
            if purged("capa", identity):
                continue
            for kind, target in (("round", round_id), ("feedback", feedback_id)):
                if target is not None and purged(kind, target):
                    going[(kind, target)].kept_for = number
                    changed = True
        for feedback_id, capa_id in links:
            if not purged("feedback", feedback_id) and purged("capa", capa_id):
                going[("capa", capa_id)].kept_for = f"#{feedback_id}"
                changed = True


def rows(result: Plan) -> list[dict[str, Any]]:
    """One row per record for a table or JSON: `kind` is a code (`kind_label` its word), `purge` whether it goes."""
    from csat.vocabulary import word
    from csat.i18n import language

    lang = language()
    return [{"kind": record.kind, "kind_label": word("record_kind", record.kind, lang), "key": record.key,
             "date": record.dated.isoformat(), "customer": record.customer, "invitations": record.invitations,
             "responses": record.responses, "answers": record.answers, "purge": not record.kept_for,
             "kept_for": record.kept_for} for record in result.records]


def check(session, keep_years: int, today: date) -> Plan:
    """What is older than keep_years on `today`: what `csat records check` lists."""
    return plan(session, keep_years, years_before(today, keep_years))


def refuse_young(keep_years: int, before: date, today: date) -> None:
    """A purge date after today minus keep_years would take records the procedure still keeps."""
    latest = years_before(today, keep_years)
    if before > latest:
        raise RetentionRefused(_(
            "--before {before} would purge records younger than records.keep_years ({years} years): the latest"
            " date allowed today is {latest}", before=before.isoformat(), years=keep_years, latest=latest.isoformat()))


def purge(session, keep_years: int, before: date, today: date | None = None) -> Plan:
    """Delete what `plan` says may go, in the session's transaction, and write one audit entry for it all.

    Takes the writers' locks first (PostgreSQL), so no import, round, feedback entry or CAPA is
    being written meanwhile; then plans again under them.
    """
    from sqlalchemy import delete, select

    from csat.store import audit
    from csat.store.locking import hold_for_transaction
    from csat.store.models import (Answer, Capa, CapaVerification, Feedback, Invitation, Reminder, Response,
                                   RoundItem, SurveyRound)

    refuse_young(keep_years, before, today or date.today())
    for name, waiting_for in _LOCKS:
        hold_for_transaction(session, name, waiting_for)
    result = plan(session, keep_years, before)
    going = result.purged
    if not going:
        return result
    connection = session.connection()
    round_ids = [record.id for record in going if record.kind == "round"]
    feedback_ids = [record.id for record in going if record.kind == "feedback"]
    capa_ids = [record.id for record in going if record.kind == "capa"]
    for chunk in _chunks(round_ids):
        responses = select(Response.id).where(Response.round_id.in_(chunk))
        invitations = select(Invitation.id).where(Invitation.round_id.in_(chunk))
        connection.execute(delete(Answer).where(Answer.response_id.in_(responses)))
        connection.execute(delete(Response).where(Response.round_id.in_(chunk)))
        connection.execute(delete(Reminder).where(Reminder.invitation_id.in_(invitations)))
        connection.execute(delete(Invitation).where(Invitation.round_id.in_(chunk)))
        connection.execute(delete(RoundItem).where(RoundItem.round_id.in_(chunk)))
    for chunk in _chunks(capa_ids):
        connection.execute(delete(CapaVerification).where(CapaVerification.capa_id.in_(chunk)))
        connection.execute(delete(Capa).where(Capa.id.in_(chunk)))
    for chunk in _chunks(feedback_ids):
        connection.execute(delete(Feedback).where(Feedback.id.in_(chunk)))
    for chunk in _chunks(round_ids):
        connection.execute(delete(SurveyRound).where(SurveyRound.id.in_(chunk)))
    counts = result.counts()
    audit.record(connection, "records", "purge", None, f"before {before.isoformat()}", {
        "before": before.isoformat(), "keep_years": keep_years,
        "rounds": {"count": counts["rounds"], "periods": [record.key for record in going if record.kind == "round"]},
        "invitations": counts["invitations"], "responses": counts["responses"], "answers": counts["answers"],
        "feedback": {"count": counts["feedback"], "numbers": [record.key for record in going
                                                              if record.kind == "feedback"]},
        "capas": {"count": counts["capas"], "numbers": [record.key for record in going if record.kind == "capa"]},
        "kept": [f"{record.key} ({record.kept_for})" for record in result.kept],
    })
    session.expire_all()
    return result


_LOCKS = (("responses", N_("another import or response entry on this store")),
          ("rounds", N_("another csat opening a survey round or importing answers on this store")),
          ("feedback", N_("another feedback entry being logged on this store")),
          ("capa", N_("another CAPA being opened on this store")))


def _chunks(ids: list[int], size: int = 500):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]
