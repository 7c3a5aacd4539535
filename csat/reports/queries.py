"""The store reads behind the survey report.

Large data stays in the database: per item and round the report needs only
count, sum and sum of squares (one GROUP BY). The requested round goes through
RoundTable: one pass over its answers giving one row per response (see there),
read once into a numpy matrix of its score columns, over which every per-item,
key-driver and customer figure is a vectorised sum; nothing is written, so a
report runs in a read-only transaction. Large results go straight through
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
# gives one row per live response and one score column per template item (`s0`, `s1`, ...: the counted
# score, NULL when blank, N/A or unanswered), read once as a float matrix (8 bytes a cell); every
# statistic is a vectorised sum over it, never over Python objects: at 100,000 x 8 the four SQL
# aggregates this replaced cost three times the read. Nothing is written to the store (a report runs on
# a read-only standby too). Item ids from the round's frozen template are inlined as integer literals;
# no text from the store or the user is ever put into SQL.


def _number(value: float) -> str:
    return repr(float(value))


def _exact_sum(values) -> float:
    """The sum of a float array, exact when every value is a whole number and the total stays below 2**53
    (then every partial sum is exact: the usual case, whole-number scores), else summed pairwise in
    extended precision (numpy's longdouble, 64-bit mantissa on x86) and rounded once: off by at most the
    last bit, more precise than SQL's running SUM; math.fsum would cost 100x the time for that bit."""
    import numpy as np

    if np.array_equal(values, np.trunc(values)) and float(np.abs(values).sum()) < 2.0 ** 53:
        return float(values.sum())
    return float(np.sum(values, dtype=np.longdouble))


class RoundTable:
    """A round's live responses as one float matrix (scores by template item, key-driver basis, customer),
    read from the store on first use, and the sums, scores and lists of the report made from it.
    A context manager, so a report's reads of one round stay visibly together."""

    LOOKUP_BATCH = 500   # customer ids per look-up of codes and names

    def __init__(self, session, round_id: int, template: list[RoundItemRow], basis_position: int | None = None):
        """basis_position: the template position of the item the key drivers are measured against; None: each
        respondent's weighted score over all items."""
        self.session, self.round_id, self.template = session, int(round_id), template
        self.columns = [f"s{position}" for position in range(len(template))]
        self.basis_position = basis_position
        self._loaded = None   # the matrix, read on first use (_matrix)
        self.comment_counts = (0, 0)   # the round's comments: responses' own, answers' (counted by _matrix)

    def __enter__(self) -> RoundTable:
        return self

    def __exit__(self, *_exc) -> None:
        self._loaded = None

    def _responses(self, dialect: str) -> str:
        """The query of one row per live response: s0, s1, ..., the customer id, then whether the response
        has a comment of its own (0 or 1) and how many of its answers have one (what the comments total).

        SQLite looks up each score by the answer table's key (response, item): a third faster than
        grouping every answer through one CASE per item. PostgreSQL groups, which its hash aggregate
        does well. Both give the same rows (an answer is unique per response and item)."""
        own = "CASE WHEN r.comment IS NOT NULL AND TRIM(r.comment) <> '' THEN 1 ELSE 0 END"
        commented = "a.comment IS NOT NULL AND TRIM(a.comment) <> ''"
        if dialect == "sqlite":
            scores = "".join(
                f"(SELECT a.score FROM answer a WHERE a.response_id = r.id AND a.item_id = {int(row.item_id)}"
                f" AND a.not_applicable = 0) AS {column}, " for row, column in zip(self.template, self.columns))
            return (f"SELECT {scores}r.customer_id AS customer_id, {own} AS own_comment,"
                    f" (SELECT COUNT(*) FROM answer a WHERE a.response_id = r.id AND {commented}) AS item_comments"
                    f" FROM response r WHERE r.round_id = {self.round_id} AND r.withdrawn_at IS NULL")
        scores = "".join(
            f"MAX(CASE WHEN a.item_id = {int(row.item_id)} AND a.score IS NOT NULL AND a.not_applicable = false"
            f" THEN a.score END) AS {column}, " for row, column in zip(self.template, self.columns))
        return (f"SELECT {scores}r.customer_id AS customer_id, MAX({own}) AS own_comment,"
                f" SUM(CASE WHEN {commented} THEN 1 ELSE 0 END) AS item_comments"
                f" FROM response r LEFT JOIN answer a ON a.response_id = r.id"
                f" WHERE r.round_id = {self.round_id} AND r.withdrawn_at IS NULL GROUP BY r.id, r.customer_id")

    def _rows(self, sql: str) -> list[tuple]:
        from sqlalchemy import text

        return _raw_rows(self.session, text(sql))

    def _matrix(self):
        """The item columns, y and customer id as one float matrix (NULL becomes NaN; ids are exact below
        2**53), read once in batches of plain tuples: 8 bytes per respondent and column (8 MB for 100,000 x 8
        items), no row objects. Column y is each respondent's key-driver basis (_basis). The same read counts
        the round's comments (self.comment_counts: responses' own, answers')."""
        if self._loaded is None:
            import numpy as np

            width = len(self.columns) + 3
            connection = self.session.connection()
            cursor = connection.connection.dbapi_connection.cursor()
            blocks = []
            try:
                cursor.execute(self._responses(connection.dialect.name))
                while rows := cursor.fetchmany(20_000):
                    blocks.append(np.array(rows, dtype=float).reshape(-1, width))   # NULL (None) becomes NaN
            finally:
                cursor.close()
            read = np.concatenate(blocks) if blocks else np.empty((0, width))
            scores, customers = read[:, :len(self.columns)], read[:, len(self.columns)]
            self.comment_counts = (int(read[:, -2].sum()), int(read[:, -1].sum()))
            self._loaded = np.column_stack([scores, self._basis(scores), customers])
        return self._loaded

    def _basis(self, read):
        """Each respondent's key-driver basis: the score on the item at basis_position, or the weighted mean
        of the items it answered (renormalised over their weights; NaN when none), summed left to right."""
        import numpy as np

        if not self.template:
            return np.full(read.shape[0], np.nan)
        if self.basis_position is not None:
            return read[:, self.basis_position]
        total = weights = None
        for index, row in enumerate(self.template):
            column = read[:, index]
            present = ~np.isnan(column)
            term = np.where(present, column * float(row.weight), 0.0)
            weight = np.where(present, float(row.weight), 0.0)
            total = term if total is None else total + term
            weights = weight if weights is None else weights + weight
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(weights != 0, total / np.where(weights != 0, weights, 1.0), np.nan)

    def item_sums(self, top_box: float, tolerance: float) -> list[tuple]:
        """Per template item: (n, sum, shift, sum of x - shift, sum of (x - shift)^2, min, max, answers below
        the item's limit, answers in the top box), as SQL's COUNT, SUM, MIN and MAX give them (None over no
        value). The shift is the item's action limit, inside the data's range, so the sums of squares stay
        small and the variance keeps its precision; see _exact_sum for the sums."""
        import numpy as np

        matrix, result = self._matrix(), []
        for index, row in enumerate(self.template):
            values = matrix[:, index]
            values = values[~np.isnan(values)]
            if not values.size:
                result.append((0, None, row.action_limit, None, None, None, None, 0, 0))
                continue
            shifted = values - float(row.action_limit)
            result.append((int(values.size), _exact_sum(values), row.action_limit, _exact_sum(shifted),
                           _exact_sum(shifted * shifted), float(values.min()), float(values.max()),
                           int(np.count_nonzero(values < float(row.action_limit - tolerance))),
                           int(np.count_nonzero(values >= float(top_box - tolerance)))))
        return result

    def medians(self) -> list[float | None]:
        """The median of each template item's counted scores (from the table's matrix)."""
        import numpy as np

        matrix, medians = self._matrix(), []
        for index in range(len(self.columns)):
            values = matrix[:, index]
            values = values[~np.isnan(values)]
            medians.append(float(np.median(values)) if values.size else None)
        return medians

    def driver_sums(self, basis_shift: float) -> list[tuple | None]:
        """Per template item (None for the basis item itself): (pairs, sum of x, sum of y, sum of x^2, sum of
        y^2, sum of x*y, min x, max x, min y, max y) of each respondent's score on the item (x, shifted by the
        item's limit) against the respondent's basis (y, shifted by basis_shift), over the respondents with
        both (sums: _exact_sum), None for the sums and bounds over no pair, as SQL gives them."""
        import numpy as np

        matrix = self._matrix()
        result: list[tuple | None] = [None] * len(self.template)
        basis = matrix[:, len(self.columns)]
        for index, row in enumerate(self.template):
            if index == self.basis_position:
                continue
            column = matrix[:, index]
            paired = ~np.isnan(column) & ~np.isnan(basis)
            raw_x, raw_y = column[paired], basis[paired]
            if not raw_x.size:
                result[index] = (0, None, None, None, None, None, None, None, None, None)
                continue
            x, y = raw_x - float(row.action_limit), raw_y - float(basis_shift)
            result[index] = (int(raw_x.size), _exact_sum(x), _exact_sum(y), _exact_sum(x * x), _exact_sum(y * y),
                             _exact_sum(x * y), float(raw_x.min()), float(raw_x.max()), float(raw_y.min()),
                             float(raw_y.max()))
        return result

    def _customer_table(self):
        """(customer ids, score, answers, respondents) per customer who responded, in numpy from the matrix.

        The score is the mean of each item over the customer's respondents, then the weighted sum over
        the items left to right over the sum of their weights (the order of operations of the SQL this
        replaced, so a customer with one respondent gets the very same number)."""
        import numpy as np

        matrix = self._matrix()
        width = len(self.columns)
        ids, position = np.unique(matrix[:, width + 1], return_inverse=True)
        respondents = np.bincount(position, minlength=ids.size)
        answers = np.zeros(ids.size, dtype=np.int64)
        total = weights = None
        for index, row in enumerate(self.template):
            column = matrix[:, index]
            present = ~np.isnan(column)
            counts = np.bincount(position[present], minlength=ids.size)
            sums = np.bincount(position[present], weights=column[present], minlength=ids.size)
            answers += counts
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
            term = np.where(counts > 0, mean * float(row.weight), 0.0)
            weight = np.where(counts > 0, float(row.weight), 0.0)
            total = term if total is None else total + term
            weights = weight if weights is None else weights + weight
        if total is None:
            scores = np.full(ids.size, np.nan)
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                scores = np.where(weights != 0, total / np.where(weights != 0, weights, 1.0), np.nan)
        return ids.astype(np.int64), scores, answers, respondents

    def customer_scores(self, action_limit: float, tolerance: float, limit: int | None = None,
                        stream: bool = False) -> tuple[Any, int, int]:
        """((code, name, score, answers, respondents) of the customers who responded, lowest score first
        (customers without a counted answer last, score None), then by code; how many responded; how many
        score below action_limit), all from the numpy scores (_customer_table) and a look-up of codes and
        names. With limit, only that many rows come back (the lowest scored ones); without, every
        customer, as CustomerRows read while iterated (stream) or as a list.

        A customer's score is the template-weighted mean of its item means (its respondents averaged per
        item first), renormalised over the items it answered."""
        import numpy as np

        ids, scores, answers, respondents = self._customer_table()
        scored = ~np.isnan(scores)
        below = int(np.count_nonzero(scores[scored] < float(action_limit - tolerance)))
        total = int(ids.size)
        if limit is None:   # every customer, in order: by score from numpy, ties by code as the database sorts
            order = self._customer_order(ids, scores)
            rows = CustomerRows(self.session, ids, scores, answers, respondents, order)
            return (rows if stream else list(rows)), total, below
        limit = max(int(limit), 0)
        candidates = np.flatnonzero(scored)
        if limit == 0 or not candidates.size:
            return [], total, below
        ordered = np.sort(scores[candidates])
        boundary = ordered[min(limit, ordered.size) - 1]
        candidates = candidates[scores[candidates] <= boundary]   # every tie at the boundary: codes break them
        position = {int(ids[index]): int(index) for index in candidates}
        rows = []
        for start in range(0, candidates.size, self.LOOKUP_BATCH):   # in code order, as the database sorts them
            chunk = ", ".join(str(int(customer_id)) for customer_id in ids[candidates[start:start + self.LOOKUP_BATCH]])
            rows += self._rows(f"SELECT id, code, name FROM customer WHERE id IN ({chunk}) ORDER BY code")
        if candidates.size > self.LOOKUP_BATCH:
            rows = [rows[index] for index in self._code_order([row[1] for row in rows])]
        rows = [(code, name, float(scores[position[customer_id]]), int(answers[position[customer_id]]),
                 int(respondents[position[customer_id]])) for customer_id, code, name in rows]
        rows.sort(key=lambda row: row[2])   # stable: ties keep the code order
        return rows[:limit], total, below

    def _code_order(self, codes: list[str]) -> list[int]:
        """Positions of codes sorted as the database sorts them (its collation), for ties over several look-ups."""
        rank = self._code_ranks()
        return sorted(range(len(codes)), key=lambda index: rank[codes[index]])

    def _code_ranks(self) -> dict[str, int]:
        return {code: number for number, (code,) in enumerate(self._rows("SELECT code FROM customer ORDER BY code"))}

    def _customer_order(self, ids, scores):
        """Positions of the customers (in ids) lowest score first, no score last, ties by code in the
        database's order (one read of the customer ids sorted by code: 8 bytes a customer)."""
        import numpy as np

        cursor = self.session.connection().connection.dbapi_connection.cursor()
        blocks = []
        try:
            cursor.execute("SELECT id FROM customer ORDER BY code")
            while rows := cursor.fetchmany(50_000):
                blocks.append(np.array(rows, dtype=np.int64).reshape(-1))
        finally:
            cursor.close()
        by_code = np.concatenate(blocks) if blocks else np.empty(0, dtype=np.int64)
        sorter = np.argsort(by_code, kind="stable")
        code_rank = sorter[np.searchsorted(by_code, ids, sorter=sorter)]
        missing = np.isnan(scores)
        return np.lexsort((code_rank, np.where(missing, 0.0, scores), missing))

    def _comment_sources(self, answers: bool) -> str:
        """Each live response's own comment (item NULL) and, with answers, its answers' comments; none blank."""
        live = f"r.round_id = {self.round_id} AND r.withdrawn_at IS NULL"
        sources = f"""
            SELECT c.code AS code, c.name AS name, r.respondent AS respondent, CAST(NULL AS INTEGER) AS item_id,
                   r.comment AS text
            FROM response r JOIN customer c ON c.id = r.customer_id
            WHERE {live} AND r.comment IS NOT NULL AND TRIM(r.comment) <> ''"""
        if answers:
            sources += f"""
            UNION ALL
            SELECT c.code, c.name, r.respondent, a.item_id, a.comment
            FROM response r JOIN answer a ON a.response_id = r.id JOIN customer c ON c.id = r.customer_id
            WHERE {live} AND a.comment IS NOT NULL AND TRIM(a.comment) <> ''"""
        return sources

    def comments(self, flagged_item_ids: set[int], by_code: list[RoundItemRow],
                 limit: int | None = None, stream: bool = False) -> tuple[Any, int]:
        """((customer code, name, respondent, item id or None, text) of the round's comments, and how many
        there are): each response's own comment and its answers' comments; those on flagged items first,
        then by customer, respondent and item code (by_code: the template sorted by code). With limit,
        only the first `limit` come back; without, every one, as StreamedRows (stream) or a list.
        The answers are searched only when the matrix's read found comments on them (it counted both)."""
        self._matrix()
        own, on_answers = self.comment_counts
        total = own + on_answers
        flagged = ", ".join(str(int(item_id)) for item_id in sorted(flagged_item_ids)) or "NULL"
        rank = " ".join(f"WHEN {int(row.item_id)} THEN {position}" for position, row in enumerate(by_code))
        item_rank = f"CASE item_id {rank} ELSE -1 END" if rank else "-1"
        order = f"""ORDER BY CASE WHEN item_id IN ({flagged}) THEN 0 ELSE 1 END, code, respondent,
                     CASE WHEN item_id IS NULL THEN -1 ELSE {item_rank} END"""
        sql = (f"SELECT code, name, respondent, item_id, text FROM ({self._comment_sources(on_answers > 0)})"
               f" comments {order}")
        if limit is None:
            return (StreamedRows(self.session, sql, total) if stream else self._rows(sql)), total
        if int(limit) <= 0 or not total:
            return [], total
        return self._rows(f"{sql} LIMIT {int(limit)}"), total   # SQL keeps only the first rows while it sorts


class CustomerRows:
    """(code, name, score, answers, respondents) of each customer in the given order, the numbers from
    numpy and the code and name read while iterated; len() is their number.

    The codes and names come from one pass over the customer table in id order (the ids are sorted, so
    numpy finds each row's place): a look-up per customer in score order would cost the store a random
    probe each, three times the pass. Only the codes and names are held (about 20 MB per 100,000)."""

    BATCH = 20_000   # customer rows per fetch

    def __init__(self, session, ids, scores, answers, respondents, order):
        self.session, self.ids, self.scores, self.answers = session, ids, scores, answers
        self.respondents, self.order = respondents, order

    def __len__(self) -> int:
        return int(self.order.size)

    def _names(self) -> tuple[list, list]:
        """The codes and the names of the customers, each list in the order."""
        import numpy as np

        place = np.empty(self.order.size, dtype=np.int64)
        place[self.order] = np.arange(self.order.size)   # position in ids -> place in the order
        codes: list = [None] * int(self.order.size)
        names: list = [None] * int(self.order.size)
        if not self.ids.size:
            return codes, names
        low, high = int(self.ids[0]), int(self.ids[-1])
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        try:
            cursor.execute(f"SELECT id, code, name FROM customer WHERE id BETWEEN {low} AND {high} ORDER BY id")
            while rows := cursor.fetchmany(self.BATCH):
                found = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                positions = np.searchsorted(self.ids, found)
                positions[positions >= self.ids.size] = 0
                wanted = self.ids[positions] == found
                for index, position in zip(np.flatnonzero(wanted).tolist(), place[positions[wanted]].tolist()):
                    _id, codes[position], names[position] = rows[index]
        finally:
            cursor.close()
        return codes, names

    def __iter__(self):
        codes, names = self._names()
        positions = self.order
        scores = [None if score != score else score for score in self.scores[positions].tolist()]   # NaN: no score
        return zip(codes, names, scores, self.answers[positions].tolist(), self.respondents[positions].tolist())


class StreamedRows:
    """The rows of one query, read from the session's DB-API cursor in batches each time they are iterated
    (a JSON or workbook writer walks a round's 100,000 customers or comments without holding them); len()
    is the count the query was known to give. Iterate inside the session that ran the report."""

    def __init__(self, session, sql: str, count: int, batch: int = 5_000):
        self.session, self.sql, self.count, self.batch = session, sql, count, batch

    def __len__(self) -> int:
        return self.count

    def __iter__(self):
        cursor = self.session.connection().connection.dbapi_connection.cursor()
        try:
            cursor.execute(self.sql)
            while rows := cursor.fetchmany(self.batch):
                yield from rows
        finally:
            cursor.close()


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
