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


# The requested round's statistics, aggregated where the data is. Every query below reads the round's
# counted answers (live response, score present, not N/A, item in the round's frozen template) through
# the same FROM clause; numbers that cannot be known in advance (the mean) are never inlined.
_ROUND_ANSWERS = """
    FROM answer a
    JOIN response r ON r.id = a.response_id
    JOIN round_item ri ON ri.round_id = r.round_id AND ri.item_id = a.item_id
    WHERE r.round_id = {round_id} AND r.withdrawn_at IS NULL
      AND a.score IS NOT NULL AND a.not_applicable = {false}
"""


def _round_answers(session, round_id: int) -> str:
    false = "0" if session.connection().dialect.name == "sqlite" else "false"
    return _ROUND_ANSWERS.format(round_id=int(round_id), false=false)


def _text_rows(session, sql: str) -> list[tuple]:
    from sqlalchemy import text

    return _raw_rows(session, text(sql))


def item_sums(session, round_id: int, top_box: float, tolerance: float) -> list[tuple]:
    """Per item of the round: (item id, n, sum, shift, sum of x - shift, sum of (x - shift)^2, min, max,
    answers below the item's limit, answers in the top box).

    The shift is the item's action limit, which lies inside the data's range, so the sums of squares
    stay small and the variance computed from them keeps its precision.
    """
    sql = f"""
    SELECT a.item_id, COUNT(*), SUM(a.score), MIN(ri.action_limit),
           SUM(a.score - ri.action_limit), SUM((a.score - ri.action_limit) * (a.score - ri.action_limit)),
           MIN(a.score), MAX(a.score),
           SUM(CASE WHEN a.score < ri.action_limit - {float(tolerance)!r} THEN 1 ELSE 0 END),
           SUM(CASE WHEN a.score >= {float(top_box) - float(tolerance)!r} THEN 1 ELSE 0 END)
    {_round_answers(session, round_id)}
    GROUP BY a.item_id
    """
    return _text_rows(session, sql)


def item_medians(session, round_id: int) -> dict[int, float]:
    """item id -> median of its counted scores (the middle one, or the mean of the middle two), by window function."""
    sql = f"""
    SELECT item_id, AVG(score) FROM (
        SELECT a.item_id AS item_id, a.score AS score,
               ROW_NUMBER() OVER (PARTITION BY a.item_id ORDER BY a.score) AS position,
               COUNT(*) OVER (PARTITION BY a.item_id) AS n
        {_round_answers(session, round_id)}
    ) ranked
    WHERE position IN ((n + 1) / 2, (n + 2) / 2)
    GROUP BY item_id
    """
    return {item_id: float(median) for item_id, median in _text_rows(session, sql)}


def customer_scores(session, round_id: int) -> list[tuple]:
    """(code, name, score, answers, respondents) of every customer who responded, lowest score first
    (customers without a counted answer last, score None), then by code.

    A customer's score is the template-weighted mean of its item means (its respondents averaged per
    item first), renormalised over the items it answered.
    """
    round_id = int(round_id)
    sql = f"""
    WITH cell AS (
        SELECT r.customer_id AS customer_id, a.item_id AS item_id, AVG(a.score) AS mean, COUNT(*) AS n,
               MIN(ri.weight) AS weight
        {_round_answers(session, round_id)}
        GROUP BY r.customer_id, a.item_id
    ), scored AS (
        SELECT customer_id, SUM(mean * weight) / NULLIF(SUM(weight), 0) AS score, SUM(n) AS n
        FROM cell GROUP BY customer_id
    ), people AS (
        SELECT r.customer_id AS customer_id, COUNT(*) AS respondents
        FROM response r WHERE r.round_id = {round_id} AND r.withdrawn_at IS NULL
        GROUP BY r.customer_id
    )
    SELECT c.code, c.name, scored.score, COALESCE(scored.n, 0), people.respondents
    FROM people
    JOIN customer c ON c.id = people.customer_id
    LEFT JOIN scored ON scored.customer_id = people.customer_id
    ORDER BY CASE WHEN scored.score IS NULL THEN 1 ELSE 0 END, scored.score, c.code
    """
    return _text_rows(session, sql)


def driver_sums(session, round_id: int, basis_item_id: int | None, basis_shift: float) -> list[tuple]:
    """Per item: (item id, pairs, shifts, sums, sums of squares and the cross-product, min and max of both sides)
    of each respondent's score on the item against the respondent's basis: the score on basis_item_id, or
    (None) the respondent's weighted score over all items. Pearson r follows from these sums.
    """
    answers = _round_answers(session, round_id)
    if basis_item_id is None:
        basis = f"""SELECT a.response_id AS response_id, SUM(a.score * ri.weight) / NULLIF(SUM(ri.weight), 0) AS y
                    {answers} GROUP BY a.response_id"""
    else:
        basis = f"SELECT a.response_id AS response_id, a.score AS y {answers} AND a.item_id = {int(basis_item_id)}"
    shift = repr(float(basis_shift))
    sql = f"""
    WITH basis AS ({basis}),
    pairs AS (
        SELECT a.item_id AS item_id, a.score - ri.action_limit AS x, basis.y - {shift} AS y, a.score AS raw_x,
               basis.y AS raw_y
        {answers.replace("WHERE", "JOIN basis ON basis.response_id = a.response_id WHERE", 1)}
          AND basis.y IS NOT NULL
    )
    SELECT item_id, COUNT(*), SUM(x), SUM(y), SUM(x * x), SUM(y * y), SUM(x * y),
           MIN(raw_x), MAX(raw_x), MIN(raw_y), MAX(raw_y)
    FROM pairs GROUP BY item_id
    """
    return _text_rows(session, sql)


def comment_rows(session, round_id: int) -> list[tuple]:
    """(customer code, name, respondent, item id or None, text) of every non-empty comment of the round:
    the response's own comment and its answers' comments, by customer, respondent and item."""
    round_id = int(round_id)
    sql = f"""
    SELECT c.code, c.name, r.respondent, NULL, r.comment, r.id, 0
    FROM response r JOIN customer c ON c.id = r.customer_id
    WHERE r.round_id = {round_id} AND r.withdrawn_at IS NULL AND r.comment IS NOT NULL AND TRIM(r.comment) != ''
    UNION ALL
    SELECT c.code, c.name, r.respondent, a.item_id, a.comment, r.id, 1
    FROM answer a JOIN response r ON r.id = a.response_id JOIN customer c ON c.id = r.customer_id
    WHERE r.round_id = {round_id} AND r.withdrawn_at IS NULL AND a.comment IS NOT NULL AND TRIM(a.comment) != ''
    """
    return _text_rows(session, sql)


def answer_table(session, round_id: int, batch: int = 20_000):
    """(response id, customer code, name, respondent, answered on, comment, item id, score, not applicable)
    of every live response of the round and its answers (blanks and N/A included; item id None for a
    response without answers), by customer, respondent and response: fetched in batches, never all at once."""
    round_id = int(round_id)
    sql = f"""
    SELECT r.id, c.code, c.name, r.respondent, r.answered_on, r.comment, a.item_id, a.score, a.not_applicable
    FROM response r
    JOIN customer c ON c.id = r.customer_id
    LEFT JOIN answer a ON a.response_id = r.id
    WHERE r.round_id = {round_id} AND r.withdrawn_at IS NULL
    ORDER BY c.code, r.respondent, r.id
    """
    cursor = session.connection().connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(batch):
            yield from rows
    finally:
        cursor.close()
