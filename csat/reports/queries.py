"""The store reads behind the survey report.

Large data stays in the database: per item and round the report needs only
count, sum and sum of squares (one GROUP BY). The one requested
round's raw scores are fetched once, straight through the DB-API cursor into
numpy (the ORM's row objects cost three times as much on 250,000 answers), for
medians, respondent scores and correlations. Statements are built with
SQLAlchemy Core so they run on SQLite and PostgreSQL alike; the only values
inlined as literals are integer ids. Withdrawn responses are kept in the store
but read by none of these queries (`_live()`): no statistic counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class RoundRow:
    id: int
    period: str
    status: str
    due_date: Any


@dataclass
class RoundItemRow:
    round_id: int
    item_id: int
    code: str
    position: int
    label_en: str
    label_zh: str
    weight: float
    action_limit: float
    scale_min: float
    scale_max: float

    def label(self, lang: str) -> str:
        return (self.label_zh or self.label_en) if lang == "zh" else self.label_en


def _raw_rows(session, statement) -> list[tuple]:
    """Run a Core statement on the session's DB-API cursor: plain tuples, no row objects."""
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def rounds(session) -> list[RoundRow]:
    """Every survey round, oldest first (periods sort in time order)."""
    from sqlmodel import select

    from csat.store.models import SurveyRound

    query = select(SurveyRound.id, SurveyRound.period, SurveyRound.status, SurveyRound.due_date).order_by(SurveyRound.period)
    return [RoundRow(*row) for row in session.exec(query).all()]


def round_items(session, round_ids: list[int]) -> list[RoundItemRow]:
    """The frozen template of each given round, in form order."""
    from sqlmodel import select

    from csat.store.models import Item, RoundItem

    if not round_ids:
        return []
    query = (select(RoundItem.round_id, RoundItem.item_id, Item.code, RoundItem.position, RoundItem.label_en,
                    RoundItem.label_zh, RoundItem.weight, RoundItem.action_limit, RoundItem.scale_min,
                    RoundItem.scale_max)
             .join(Item, Item.id == RoundItem.item_id)
             .where(RoundItem.round_id.in_(round_ids))
             .order_by(RoundItem.round_id, RoundItem.position))
    return [RoundItemRow(*row) for row in session.exec(query).all()]


def _live():
    """The condition for a response that counts: not withdrawn."""
    from csat.store.models import Response

    return Response.withdrawn_at.is_(None)


def response_counts(session) -> dict[int, tuple[int, int]]:
    """round id -> (responses, customers who responded)."""
    from sqlalchemy import distinct, func
    from sqlmodel import select

    from csat.store.models import Response

    query = (select(Response.round_id, func.count(Response.id), func.count(distinct(Response.customer_id)))
             .where(_live()).group_by(Response.round_id))
    return {round_id: (responses, customers) for round_id, responses, customers in session.exec(query).all()}


def invitation_counts(session) -> dict[int, tuple[int, int]]:
    """round id -> (customers invited, invited customers who responded)."""
    from sqlalchemy import case, exists, func
    from sqlmodel import select

    from csat.store.models import Invitation, Response

    answered = exists().where(Response.round_id == Invitation.round_id, Response.customer_id == Invitation.customer_id,
                              _live())
    query = (select(Invitation.round_id, func.count(Invitation.id), func.sum(case((answered, 1), else_=0)))
             .group_by(Invitation.round_id))
    return {round_id: (invited, int(responded or 0)) for round_id, invited, responded in session.exec(query).all()}


def _scored():
    """The condition for an answer that counts: a score that is not N/A."""
    from csat.store.models import Answer

    return (Answer.score.is_not(None)) & (Answer.not_applicable == False)  # noqa: E712


def item_moments(session, round_ids: list[int]) -> list[tuple]:
    """(round id, item id, count, sum, sum of squares) of counted scores, per round and item."""
    from sqlalchemy import func
    from sqlmodel import select

    from csat.store.models import Answer, Response

    if not round_ids:
        return []
    query = (select(Response.round_id, Answer.item_id, func.count(Answer.score), func.sum(Answer.score),
                    func.sum(Answer.score * Answer.score))
             .join(Response, Response.id == Answer.response_id)
             .where(Response.round_id.in_([int(round_id) for round_id in round_ids]), _live(), _scored())
             .group_by(Response.round_id, Answer.item_id))
    return _raw_rows(session, query)


def round_scores(session, round_id: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(response ids, item ids, scores) of one round's counted answers, as numpy arrays."""
    from sqlmodel import select

    from csat.store.models import Answer, Response

    query = (select(Answer.response_id, Answer.item_id, Answer.score)
             .join(Response, Response.id == Answer.response_id)
             .where(Response.round_id == int(round_id), _live(), _scored()))
    rows = _raw_rows(session, query)
    if not rows:
        empty = np.zeros(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty
    table = np.array(rows, dtype=float)
    return table[:, 0].astype(np.int64), table[:, 1].astype(np.int64), table[:, 2]


def round_responses(session, round_id: int) -> list[tuple]:
    """(response id, customer id, customer code, customer name, respondent, answered on, comment), by customer."""
    from sqlmodel import select

    from csat.store.models import Customer, Response

    query = (select(Response.id, Response.customer_id, Customer.code, Customer.name, Response.respondent,
                    Response.answered_on, Response.comment)
             .join(Customer, Customer.id == Response.customer_id)
             .where(Response.round_id == int(round_id), _live())
             .order_by(Customer.code, Response.respondent, Response.id))
    return _raw_rows(session, query)


def answer_comments(session, round_id: int) -> list[tuple]:
    """(response id, item id, comment) of answers in a round that carry a comment."""
    from sqlmodel import select

    from csat.store.models import Answer, Response

    query = (select(Answer.response_id, Answer.item_id, Answer.comment)
             .join(Response, Response.id == Answer.response_id)
             .where(Response.round_id == int(round_id), _live(), Answer.comment != "")
             .order_by(Answer.response_id, Answer.item_id))
    return list(session.exec(query).all())


def all_answers(session, round_id: int) -> list[tuple]:
    """(response id, item id, score, not applicable) of every answer in a round, blanks and N/A included."""
    from sqlmodel import select

    from csat.store.models import Answer, Response

    query = (select(Answer.response_id, Answer.item_id, Answer.score, Answer.not_applicable)
             .join(Response, Response.id == Answer.response_id)
             .where(Response.round_id == int(round_id), _live()))
    return _raw_rows(session, query)
