"""Survey rounds: one per half year, with the template frozen when it opens.

Opening a round copies the active items into round_item, so editing the
template later never changes what an open round asks or how it is scored.
"""

from __future__ import annotations

from datetime import date, timedelta

from csat.errors import Conflict, NotFound
from csat.periods import Half


def get_round(session, period: str | Half):
    from sqlmodel import select

    from csat.models import SurveyRound

    round_ = session.exec(select(SurveyRound).where(SurveyRound.period == str(period))).first()
    if round_ is None:
        raise NotFound(f"no survey round for {period}; open it with `csat survey open --half {period}`")
    return round_


def find_round(session, period: str | Half):
    from sqlmodel import select

    from csat.models import SurveyRound

    return session.exec(select(SurveyRound).where(SurveyRound.period == str(period))).first()


def open_round(session, period: Half, due: date | None = None, due_days: int = 30, today: date | None = None):
    """Open the round for a half year, freezing the current template; an existing round is returned as is."""
    from csat.items import list_items, template_version
    from csat.models import RoundItem, SurveyRound

    existing = find_round(session, period)
    if existing is not None:
        if existing.status == "closed":
            raise Conflict(f"the {period} round is closed; reopen it with `csat survey open --half {period} --reopen`")
        return existing
    active_items = list_items(session)
    if not active_items:
        raise Conflict("the survey template has no active items; load some with `csat items load`")
    start = today or date.today()
    round_ = SurveyRound(period=str(period), due_date=due or start + timedelta(days=due_days),
                         template_version=template_version(active_items))
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

    from csat.models import Item, RoundItem

    query = (select(RoundItem, Item.code).join(Item, Item.id == RoundItem.item_id)
             .where(RoundItem.round_id == round_.id).order_by(RoundItem.position))
    return list(session.exec(query).all())
