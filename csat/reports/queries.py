"""The store reads behind the survey report.

Large data stays in the database: per item and round the report needs only
count, sum and sum of squares (one GROUP BY). The requested round goes through
RoundTable: one pass over its answers into a temporary table of one row per
response, then aggregates over it (see there). Large results go straight through
the DB-API cursor (the ORM's row objects cost three times as much). Statements are built with
SQLAlchemy Core so they run on SQLite and PostgreSQL alike; the only values
inlined as literals are integer ids and the round template's numbers. Withdrawn responses are kept in the store
but read by none of these queries (`_live()`): no statistic counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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


# The requested round's statistics, aggregated where the data is. One pass over the round's answers
# (GROUP BY response) fills a temporary table with one row per live response and one score column per
# template item (`s0`, `s1`, ...: the counted score, NULL when blank, N/A or unanswered); every statistic
# is then an aggregate over that table of one row per respondent, never over Python objects. Item ids,
# action limits and weights from the round's frozen template are inlined as numeric literals (repr of a
# float reads back exactly); no text from the store or the user is ever put into SQL.
ROUND_TABLE = "csat_report_round"


def _number(value: float) -> str:
    return repr(float(value))


class RoundTable:
    """The temporary one-row-per-response table of a round (a context manager that drops it)."""

    def __init__(self, session, round_id: int, template: list[RoundItemRow], basis_position: int | None = None):
        self.session, self.round_id, self.template = session, int(round_id), template
        self.columns = [f"s{position}" for position in range(len(template))]
        self.basis_position = basis_position

    def __enter__(self) -> RoundTable:
        """Fill the table: one pass over the round's answers, grouped in the order of the response index.

        Column y is each respondent's key-driver basis: the score on the item at basis_position, or
        (None) the respondent's weighted score over all items; computed once here, not per use.
        """
        from sqlalchemy import text

        false = "0" if self.session.connection().dialect.name == "sqlite" else "false"
        scores = "".join(
            f", MAX(CASE WHEN a.item_id = {int(row.item_id)} AND a.score IS NOT NULL AND a.not_applicable = {false}"
            f" THEN a.score END) AS {column}" for row, column in zip(self.template, self.columns))
        basis = ("NULL" if not self.template else self.columns[self.basis_position]
                 if self.basis_position is not None else self._weighted(lambda column: column))
        connection = self.session.connection()
        connection.execute(text(f"DROP TABLE IF EXISTS {ROUND_TABLE}"))
        connection.execute(text(
            f"CREATE TEMPORARY TABLE {ROUND_TABLE} AS SELECT grouped.*, {basis} AS y FROM ("
            f" SELECT r.id AS response_id, r.customer_id AS customer_id,"
            f" MAX(CASE WHEN a.comment <> '' THEN 1 ELSE 0 END) AS item_comments{scores}"
            f" FROM response r LEFT JOIN answer a ON a.response_id = r.id"
            f" WHERE r.round_id = {self.round_id} AND r.withdrawn_at IS NULL"
            f" GROUP BY r.customer_id, r.respondent, r.id) grouped"))
        return self

    def __exit__(self, *_exc) -> None:
        from sqlalchemy import text

        self.session.connection().execute(text(f"DROP TABLE IF EXISTS {ROUND_TABLE}"))

    def _rows(self, sql: str) -> list[tuple]:
        from sqlalchemy import text

        return _raw_rows(self.session, text(sql))

    def item_sums(self, top_box: float, tolerance: float) -> list[tuple]:
        """Per template item: (n, sum, shift, sum of x - shift, sum of (x - shift)^2, min, max, answers below
        the item's limit, answers in the top box). The shift is the item's action limit, inside the data's
        range, so the sums of squares stay small and the variance keeps its precision."""
        if not self.template:
            return []
        parts = []
        for row, column in zip(self.template, self.columns):
            shift = _number(row.action_limit)
            parts.append(
                f"COUNT({column}), SUM({column}), SUM({column} - {shift}),"
                f" SUM(({column} - {shift}) * ({column} - {shift})), MIN({column}), MAX({column}),"
                f" SUM(CASE WHEN {column} < {_number(row.action_limit - tolerance)} THEN 1 ELSE 0 END),"
                f" SUM(CASE WHEN {column} >= {_number(top_box - tolerance)} THEN 1 ELSE 0 END)")
        values = self._rows(f"SELECT {', '.join(parts)} FROM {ROUND_TABLE}")[0]
        return [(values[8 * index], values[8 * index + 1], row.action_limit, *values[8 * index + 2:8 * index + 8])
                for index, row in enumerate(self.template)]

    def medians(self) -> list[float | None]:
        """The median of each template item's counted scores, from the table's item columns read in batches
        into numpy (one float per respondent and item: 6.4 MB for 100,000 x 8; sorting in SQL with a window
        function costs several times more)."""
        import numpy as np

        if not self.columns:
            return []
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        blocks = []
        try:
            cursor.execute(f"SELECT {', '.join(self.columns)} FROM {ROUND_TABLE}")
            while rows := cursor.fetchmany(20_000):
                blocks.append(np.array(rows, dtype=float))   # NULL (None) becomes NaN
        finally:
            cursor.close()
        if not blocks:
            return [None] * len(self.columns)
        matrix = np.concatenate(blocks)
        medians = []
        for index in range(len(self.columns)):
            values = matrix[:, index]
            values = values[~np.isnan(values)]
            medians.append(float(np.median(values)) if values.size else None)
        return medians

    def _weighted(self, mean_of) -> str:
        """The weighted mean over the columns that have a value, renormalised over their weights."""
        total = " + ".join(f"COALESCE({mean_of(column)} * {_number(row.weight)}, 0)"
                           for row, column in zip(self.template, self.columns))
        weights = " + ".join(f"CASE WHEN {mean_of(column)} IS NOT NULL THEN {_number(row.weight)} ELSE 0 END"
                             for row, column in zip(self.template, self.columns))
        return f"({total}) / NULLIF({weights}, 0)"

    def driver_sums(self, basis_shift: float) -> list[tuple | None]:
        """Per template item (None for the basis item itself): (pairs, sum of x, sum of y, sum of x^2, sum of
        y^2, sum of x*y, min x, max x, min y, max y) of each respondent's score on the item (x, shifted by the
        item's limit) against the respondent's basis (y, shifted by basis_shift)."""
        result: list[tuple | None] = [None] * len(self.template)
        parts, wanted = [], []
        shift_y = _number(basis_shift)
        for index, (row, column) in enumerate(zip(self.template, self.columns)):
            if index == self.basis_position:
                continue
            wanted.append(index)
            x, y = f"({column} - {_number(row.action_limit)})", f"(CASE WHEN {column} IS NOT NULL THEN y - {shift_y} END)"
            raw_y = f"(CASE WHEN {column} IS NOT NULL THEN y END)"
            parts.append(f"COUNT({column}), SUM({x}), SUM({y}), SUM({x} * {x}), SUM({y} * {y}), SUM({x} * {y}),"
                         f" MIN({column}), MAX({column}), MIN({raw_y}), MAX({raw_y})")
        if not parts:
            return result
        values = self._rows(f"SELECT {', '.join(parts)} FROM {ROUND_TABLE} WHERE y IS NOT NULL")[0]
        for number, index in enumerate(wanted):
            result[index] = tuple(values[10 * number:10 * number + 10])
        return result

    def customer_scores(self, action_limit: float, tolerance: float, limit: int | None = None) -> tuple[list[tuple], int, int]:
        """((code, name, score, answers, respondents) of the customers who responded, lowest score first
        (customers without a counted answer last, score None), then by code; how many responded; how many
        score below action_limit). With limit, only that many rows come back (the lowest scored ones).

        A customer's score is the template-weighted mean of its item means (its respondents averaged per
        item first), renormalised over the items it answered."""
        answers = " + ".join(f"COUNT({column})" for column in self.columns) or "0"
        score = self._weighted(lambda column: f"AVG({column})") if self.template else "NULL"
        scored = f"""SELECT customer_id, {score} AS score, {answers} AS answers, COUNT(*) AS respondents
                     FROM {ROUND_TABLE} GROUP BY customer_id"""
        bound = _number(action_limit - tolerance)
        if limit is None:   # every customer: the counts follow from the rows
            rows = self._rows(f"""
                SELECT c.code, c.name, s.score, s.answers, s.respondents
                FROM ({scored}) s JOIN customer c ON c.id = s.customer_id
                ORDER BY CASE WHEN s.score IS NULL THEN 1 ELSE 0 END, s.score, c.code""")
            below = sum(1 for row in rows if row[2] is not None and row[2] < action_limit - tolerance)
            return rows, len(rows), below
        # The counts ride along as window functions over every customer, so the grouping runs once.
        rows = self._rows(f"""
            SELECT c.code, c.name, s.score, s.answers, s.respondents, COUNT(*) OVER (),
                   SUM(CASE WHEN s.score < {bound} THEN 1 ELSE 0 END) OVER ()
            FROM ({scored}) s JOIN customer c ON c.id = s.customer_id
            ORDER BY CASE WHEN s.score IS NULL THEN 1 ELSE 0 END, s.score, c.code
            LIMIT {max(int(limit), 1)}""")   # at least one row, which carries the counts
        total, below = (rows[0][5], rows[0][6]) if rows else (0, 0)
        rows = [row[:5] for row in rows[:int(limit)] if row[2] is not None]
        return rows, int(total or 0), int(below or 0)

    def _comment_sources(self) -> str:
        return f"""
            SELECT c.code AS code, c.name AS name, r.respondent AS respondent, NULL AS item_id, r.comment AS text
            FROM {ROUND_TABLE} t JOIN response r ON r.id = t.response_id JOIN customer c ON c.id = t.customer_id
            WHERE r.comment IS NOT NULL AND TRIM(r.comment) <> ''
            UNION ALL
            SELECT c.code, c.name, r.respondent, a.item_id, a.comment
            FROM {ROUND_TABLE} t JOIN response r ON r.id = t.response_id JOIN customer c ON c.id = t.customer_id
            JOIN answer a ON a.response_id = t.response_id
            WHERE t.item_comments = 1 AND a.comment IS NOT NULL AND TRIM(a.comment) <> ''"""

    def comments(self, flagged_item_ids: set[int], by_code: list[RoundItemRow],
                 limit: int | None = None) -> tuple[list[tuple], int]:
        """((customer code, name, respondent, item id or None, text) of the round's comments, and how many
        there are): each response's own comment and its answers' comments; those on flagged items first,
        then by customer, respondent and item code (by_code: the template sorted by code). With limit,
        only the first `limit` come back."""
        flagged = ", ".join(str(int(item_id)) for item_id in sorted(flagged_item_ids)) or "NULL"
        rank = " ".join(f"WHEN {int(row.item_id)} THEN {position}" for position, row in enumerate(by_code))
        item_rank = f"CASE item_id {rank} ELSE -1 END" if rank else "-1"
        order = f"""ORDER BY CASE WHEN item_id IN ({flagged}) THEN 0 ELSE 1 END, code, respondent,
                     CASE WHEN item_id IS NULL THEN -1 ELSE {item_rank} END"""
        if limit is None:   # every comment: the total is their number
            rows = self._rows(f"SELECT code, name, respondent, item_id, text FROM ({self._comment_sources()}) comments"
                              f" {order}")
            return rows, len(rows)
        rows = self._rows(f"""
            SELECT code, name, respondent, item_id, text, COUNT(*) OVER () FROM ({self._comment_sources()}) comments
            {order} LIMIT {max(int(limit), 1)}""")   # at least one row, which carries the count
        total = rows[0][5] if rows else 0
        return [row[:5] for row in rows[:int(limit)]], int(total)


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
