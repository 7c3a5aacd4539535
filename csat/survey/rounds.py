"""Survey rounds: one per half year, with the template frozen when it opens.

Opening a round copies the active items into round_item, so editing the
template later never changes what an open round asks or how it is scored.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from csat.errors import Conflict, NotFound
from csat.i18n import N_, _, shown
from csat.periods import Half


def get_round(session, period: str | Half):
    from sqlmodel import select

    from csat.store.models import SurveyRound

    round_ = session.exec(select(SurveyRound).where(SurveyRound.period == str(period))).first()
    if round_ is None:
        raise NotFound(_("no survey round for {period}; open it with `csat survey open --half {period}`", period=period))
    return round_


def find_round(session, period: str | Half):
    from sqlmodel import select

    from csat.store.models import SurveyRound

    return session.exec(select(SurveyRound).where(SurveyRound.period == str(period))).first()


def lock_rounds(session) -> None:
    """Hold the store's round lock until this transaction ends (csat.store.locking).

    Two writers opening the same half at once (imports, sends from two machines) would both
    find no round and both insert one; the second waits here and then finds the first one's.
    """
    from csat.store.locking import hold_for_transaction

    hold_for_transaction(session, "rounds", N_("another csat opening a survey round or importing answers on this store"))


def open_round(session, period: Half, due: date | None = None, due_days: int = 30, today: date | None = None,
               closed: bool = False, minimum: float | None = None):
    """Open the round for a half year, freezing the current template; an existing round is returned as is.

    A given due date must be after the day the round opens (csat.dates). `closed` stores the new
    round closed at once (a half that has ended, fed by an import): its due date is the day it opened.
    With `minimum` (the procedure's minimum action limit) a template holding an item below it is
    refused: the round would freeze that limit for the half year.
    """
    from csat.dates import require_due_after
    from csat.registry.items import list_items, template_version
    from csat.store.models import RoundItem, SurveyRound, now

    lock_rounds(session)
    existing = find_round(session, period)
    if existing is not None:
        if existing.status == "closed":
            raise Conflict(_("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen --reason TEXT`",
                             period=period))
        return existing
    active_items = list_items(session)
    if not active_items:
        raise Conflict(_("the survey template has no active items; load some with `csat items load`"))
    if minimum is not None:
        from csat.registry.items import below_minimum

        below = below_minimum(session, minimum)
        if below:
            raise Conflict(_("cannot open the {period} round: item {items}; raise the limit with `csat items load"
                             " FILE --reason TEXT` first", period=period,
                             items=_("; ").join(f"{code}: {problem}" for code, problem in below)))
    start = today or date.today()
    if due is not None:
        require_due_after(due, start, _("the day the {period} round opens", period=period))
    if closed:
        due = start
    round_ = SurveyRound(period=str(period), due_date=due or start + timedelta(days=due_days),
                         template_version=template_version(active_items))
    if today is not None and today != date.today():  # back-filling: the round opened on that day
        round_.opened_at = datetime.combine(today, now().time())
    if closed:
        round_.status, round_.closed_at = "closed", now()
    session.add(round_)
    session.flush()
    for position, item in enumerate(active_items, start=1):
        session.add(RoundItem(
            round_id=round_.id, item_id=item.id, position=position,
            label_en=item.label_en, label_zh=item.label_zh,
            description_en=item.description_en, description_zh=item.description_zh,
            weight=item.weight, action_limit=item.action_limit,
            scale_min=item.scale_min, scale_max=item.scale_max, choices=item.choices,
        ))
    session.flush()
    return round_


def round_items(session, round_) -> list[tuple]:
    """(RoundItem, Item.code) pairs of a round, in form order."""
    from sqlmodel import select

    from csat.store.models import Item, RoundItem

    query = (select(RoundItem, Item.code).join(Item, Item.id == RoundItem.item_id)
             .where(RoundItem.round_id == round_.id).order_by(RoundItem.position))
    return list(session.exec(query).all())


def latest_round(session, open_only: bool = False):
    """The most recent round (by period), or None."""
    from sqlmodel import select

    from csat.store.models import SurveyRound

    query = select(SurveyRound).order_by(SurveyRound.period.desc())
    if open_only:
        query = query.where(SurveyRound.status == "open")
    return session.exec(query.limit(1)).first()


def resolve_round(session, period: str | Half | None):
    """The named round, or the latest one when no period is given."""
    if period is not None:
        return get_round(session, period)
    round_ = latest_round(session)
    if round_ is None:
        raise NotFound(_("no survey rounds yet; start one with `csat survey send` or `csat survey open --half YYYYH1`"))
    return round_


def set_due(session, round_, due: date) -> None:
    """Change a round's due date; it must be after the day the round opened (csat.dates)."""
    from csat.dates import require_due_after

    require_due_after(due, round_.opened_at.date(), _("the day the {period} round opened", period=round_.period))
    round_.due_date = due
    session.flush()


def extend_round(session, period: str | Half, due: date, reason: str | None = None):
    """`survey extend`: move an open round's due date later, audited with the old and new date; returns the old one.

    Reminders stop after a round's due date; extending it lets them resume, stating the new date.
    The move needs a reason (ReasonRequired without one), kept in the audit entry.
    """
    from csat.dates import require_due_after
    from csat.errors import ReasonRequired
    from csat.store import audit

    round_ = get_round(session, period)
    if round_.status == "closed":
        raise Conflict(_("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen --due {due} --reason TEXT`",
                         period=period, due=due.isoformat()))
    old = round_.due_date
    if due <= old:
        raise Conflict(_("the {period} round is due on {due} already; an extension must be later"
                         " (to set an earlier date: `csat survey open --half {period} --due DATE`)",
                         period=period, due=old.isoformat()))
    require_due_after(due, round_.opened_at.date(), _("the day the {period} round opened", period=round_.period))
    if not (reason and reason.strip()):
        raise ReasonRequired(_("changing the due date of the {period} round from {old} to {new} needs a reason: add"
                               " --reason TEXT (kept in the audit trail)", period=period, old=old.isoformat(),
                               new=due.isoformat()))
    set_due(session, round_, due)
    with audit.reason(reason):
        audit.record(session.connection(), "survey_round", "extend", round_.id, round_.period,
                     {"due_date": [old.isoformat(), due.isoformat()]})
    return old


def close_round(session, period: str | Half):
    """Close a round: no more sending; its forms and answers stay."""
    from csat.store.models import now

    round_ = get_round(session, period)
    if round_.status == "closed":
        raise Conflict(_("the {period} round is already closed", period=period))
    round_.status = "closed"
    round_.closed_at = now()
    session.flush()
    return round_


def reopen_round(session, period: str | Half):
    """Open a closed round again, with the items it had (the template is not re-read)."""
    round_ = get_round(session, period)
    if round_.status != "closed":
        raise Conflict(_("the {period} round is not closed", period=period))
    round_.status = "open"
    round_.closed_at = None
    session.flush()
    return round_


def _invitation_counts(session) -> dict[int, dict[str, int]]:
    from sqlalchemy import case, func
    from sqlmodel import select

    from csat.store.models import Invitation

    query = select(
        Invitation.round_id, func.count(Invitation.id),
        func.sum(case((Invitation.status == "sent", 1), else_=0)),
        func.sum(case((Invitation.status == "failed", 1), else_=0)),
        func.sum(case((Invitation.responded_at.is_not(None), 1), else_=0)),
    ).group_by(Invitation.round_id)
    return {round_id: {"invited": invited, "sent": int(sent or 0), "failed": int(failed or 0),
                       "responded": int(responded or 0)}
            for round_id, invited, sent, failed, responded in session.exec(query).all()}


def _responding_customers(session) -> dict[int, int]:
    """round id -> customers with at least one live response (however the answers came in; withdrawn ones count nowhere)."""
    from sqlalchemy import distinct, func
    from sqlmodel import select

    from csat.store.models import Response

    query = (select(Response.round_id, func.count(distinct(Response.customer_id)))
             .where(Response.withdrawn_at.is_(None)).group_by(Response.round_id))
    return dict(session.exec(query).all())


def list_rounds(session) -> list[dict]:
    """Every round, newest first, with its invitation and response counts (the JSON shape of `survey list`).

    `responded` counts the customers who answered, for every round: the invited ones who answered
    where invitations were made (as `survey status` and the response rate count them), else every
    customer with a response; `invited`, `sent` and `failed` are None for a round without
    invitations (one fed by consolidated sheets).
    """
    from sqlalchemy import func
    from sqlmodel import select

    from csat.store.models import RoundItem, SurveyRound

    counts = _invitation_counts(session)
    responding = _responding_customers(session)
    item_counts = dict(session.exec(select(RoundItem.round_id, func.count(RoundItem.id)).group_by(RoundItem.round_id)).all())
    records = []
    for round_ in session.exec(select(SurveyRound).order_by(SurveyRound.period.desc())).all():
        numbers = counts.get(round_.id) or {"invited": None, "sent": None, "failed": None,
                                            "responded": responding.get(round_.id, 0)}
        records.append({
            "period": round_.period, "status": round_.status, "opened_at": round_.opened_at,
            "due_date": round_.due_date, "closed_at": round_.closed_at, "template_version": round_.template_version,
            "items": item_counts.get(round_.id, 0), **numbers,
        })
    return records


def round_status(session, round_) -> dict:
    """Who was invited, sent, failed, responded and reminded in a round (the JSON shape of `survey status`).

    Each customer carries its code, name and contact (who to call about it). `responded` is the
    invited customers who answered; in a round nobody was invited to, every customer with a
    response, and `response_rate` is None.
    """
    from sqlmodel import select

    from csat.store.models import Customer, Invitation

    query = (select(Invitation, Customer.code, Customer.name, Customer.contact)
             .join(Customer, Customer.id == Invitation.customer_id)
             .where(Invitation.round_id == round_.id).order_by(Customer.code))
    customers = []
    for invitation, code, name, contact in session.exec(query).all():
        customers.append({
            "code": code, "name": name, "contact": contact, "status": invitation.status, "sent_at": invitation.sent_at,
            "reminders": invitation.reminders, "responded": invitation.responded_at is not None,
            "error": shown(invitation.error),
        })
    invited = len(customers)
    responded = sum(1 for customer in customers if customer["responded"])
    if not invited:  # a round fed only by imports: who answered, and no rate (as `csat report`)
        responded = _responding_customers(session).get(round_.id, 0)
    return {
        "period": round_.period,
        "invited": invited,
        "sent": sum(1 for customer in customers if customer["status"] == "sent"),
        "failed": sum(1 for customer in customers if customer["status"] == "failed"),
        "responded": responded,
        "response_rate": responded / invited if invited else None,
        "customers": customers,
    }


def open_or_update(session, period: str | Half, due: date | None = None, reopen: bool = False,
                   due_days: int = 30, today: date | None = None, minimum: float | None = None,
                   reason: str | None = None):
    """`survey open`: open the round, or reopen it, or change its due date; returns (round, what happened).

    Reopening a round and moving the due date of one that exists need a reason (ReasonRequired
    without one), kept in the audit entry.
    """
    from csat.errors import ReasonRequired

    existing = find_round(session, period)
    if existing is None:
        return open_round(session, Half.parse(str(period)), due=due, due_days=due_days, today=today,
                          minimum=minimum), "opened"
    moves = due is not None and due != existing.due_date
    if moves:
        from csat.dates import require_due_after

        require_due_after(due, existing.opened_at.date(), _("the day the {period} round opened", period=existing.period))
    if not (reason and reason.strip()) and (moves or (reopen and existing.status == "closed")):
        raise ReasonRequired(
            _("changing the due date of the {period} round from {old} to {new} needs a reason: add --reason TEXT"
              " (kept in the audit trail)", period=period, old=existing.due_date.isoformat(), new=due.isoformat())
            if moves and existing.status != "closed" else
            _("reopening the {period} round needs a reason: add --reason TEXT (kept in the audit trail)", period=period))
    action = "already open"
    if existing.status == "closed":
        if not reopen:
            raise Conflict(_("the {period} round is closed; reopen it with `csat survey open --half {period} --reopen --reason TEXT`",
                             period=period))
        reopen_round(session, period)
        action = "reopened"
    if due is not None and due != existing.due_date:
        set_due(session, existing, due)
        action = "due date changed" if action == "already open" else f"{action}, due date changed"
    return existing, action
