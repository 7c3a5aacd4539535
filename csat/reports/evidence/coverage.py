"""Who was surveyed when: every customer against every half year up to the pack's half.

The halves run from the first half with a survey round (or the pack's half, if
earlier) to the pack's half, with no gap: a half without a round is a row like the
others, its reason `no_round`, so a skipped survey shows instead of vanishing.

How a customer was invited (`invited_how`): `email` for a sent invitation,
`outbox` when the sent message is still in the workspace's outbox (written there
for someone to send by hand), `manual` when there is no sent invitation but an
answer came in another way (a sheet, typed in), `none` otherwise. Why no answer
(`why_not`), first that applies: no round; invited but no answer; customer
inactive (today); no e-mail address; not invited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterator, Optional

from csat.periods import Half


@dataclass
class CoverageRow:
    customer: str
    name: str
    active: bool
    has_email: bool
    half: str
    round_status: Optional[str]        # None: no round in this half
    invited_on: Optional[datetime]
    how: str                           # invited_how code
    answered_on: Optional[date]
    sources: list[str]                 # source codes of the live responses
    why_not: str                       # why_not code, '' when answered


def halves_up_to(session, half: Half) -> list[Half]:
    """Every half from the first one with a round (or `half`) to `half`."""
    from sqlmodel import select

    from csat.store.models import SurveyRound

    periods = [Half.parse(period) for period in session.exec(select(SurveyRound.period)).all()]
    first = min([period for period in periods if period <= half] + [half])
    found, current = [], first
    while current <= half:
        found.append(current)
        current = current.next()
    return found


def _outbox_names(outbox: Optional[Path]) -> set[str]:
    if outbox is None or not Path(outbox).is_dir():
        return set()
    return {path.stem for path in Path(outbox).glob("*.eml")}


def rows(session, half: Half, outbox: Optional[Path] = None) -> Iterator[CoverageRow]:
    """The coverage rows, by customer code then half."""
    from sqlmodel import select

    from csat.mail.transport import safe_filename
    from csat.store.models import Customer, Invitation, Response, SurveyRound

    halves = halves_up_to(session, half)
    periods = [str(period) for period in halves]
    rounds = {period: (round_id, status) for round_id, period, status in session.exec(
        select(SurveyRound.id, SurveyRound.period, SurveyRound.status).where(SurveyRound.period.in_(periods))).all()}
    round_ids = [round_id for round_id, _ in rounds.values()]
    invitations: dict[tuple[int, int], tuple[str, Optional[datetime], str]] = {}
    responses: dict[tuple[int, int], tuple[Optional[date], list[str]]] = {}
    if round_ids:
        for round_id, customer_id, status, sent_at, token in session.exec(
                select(Invitation.round_id, Invitation.customer_id, Invitation.status, Invitation.sent_at,
                       Invitation.token).where(Invitation.round_id.in_(round_ids))).all():
            invitations[(round_id, customer_id)] = (status, sent_at, token)
        for round_id, customer_id, answered_on, created_at, source in session.exec(
                select(Response.round_id, Response.customer_id, Response.answered_on, Response.created_at,
                       Response.source).where(Response.round_id.in_(round_ids), Response.withdrawn_at.is_(None))
                .order_by(Response.id)).all():
            day = answered_on or created_at.date()
            first, sources = responses.get((round_id, customer_id), (None, []))
            if source not in sources:
                sources = sources + [source]
            responses[(round_id, customer_id)] = (min(day, first) if first else day, sources)
    in_outbox = _outbox_names(outbox)
    for customer in session.exec(select(Customer).order_by(Customer.code)).all():
        for period in periods:
            found = rounds.get(period)
            if found is None:
                yield CoverageRow(customer.code, customer.name, customer.active, bool(customer.email), period, None,
                                  None, "none", None, [], "no_round")
                continue
            round_id, status = found
            invitation = invitations.get((round_id, customer.id))
            answered_on, sources = responses.get((round_id, customer.id), (None, []))
            sent = invitation is not None and invitation[0] == "sent"
            if sent:
                name = f"{period}-{safe_filename(customer.code)}-{invitation[2][:8]}"
                how = "outbox" if name in in_outbox else "email"
            else:
                how = "manual" if answered_on is not None else "none"
            if answered_on is not None:
                why = ""
            elif sent:
                why = "no_answer"
            elif not customer.active:
                why = "inactive"
            elif not customer.email:
                why = "no_email"
            else:
                why = "not_invited"
            yield CoverageRow(customer.code, customer.name, customer.active, bool(customer.email), period, status,
                              invitation[1] if sent else None, how, answered_on, sources, why)
