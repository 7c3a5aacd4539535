"""A block's answers into the answer table: a million rows without a million tuples.

On SQLite each statement carries whole responses: the response id is bound
once and every answer row of that response refers to it by number (?1),
item ids are integer literals in the statement (they come from the store),
and scores are bound straight from the block's matrix (SQLite stores a NaN
bound as NULL, which is what a missing score is). So a response of ten
answers costs eleven bound values, not forty. That path talks to the
sqlite3 connection itself, so it can also run in a thread (see early.py).
PostgreSQL (psycopg) takes whole answer rows, extras included, with COPY
(csat.store.bulk.copy_rows) in the session's transaction. Other databases get
the same rows with plain positional parameters; cells with more than a
number (N/A, a label as written, a note) are then set by primary key: they
are few.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from csat.importer.answers import AnswerBlock
from csat.store.bulk import MAX_PARAMETERS, STATEMENTS_PER_CALL, copy_rows, placeholder, uses_copy

_COLUMNS = "INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment) VALUES "
_EXTRAS = "UPDATE answer SET not_applicable = {0}, raw = {0}, comment = {0} WHERE response_id = {0} AND item_id = {0}"


@lru_cache(maxsize=64)
def _numbered_statement(item_ids: tuple[int, ...], responses: int) -> str:
    width = len(item_ids) + 1
    return _COLUMNS + ", ".join(
        f"(?{response * width + 1}, {item_id}, ?{response * width + 2 + column}, FALSE, '', '')"
        for response in range(responses) for column, item_id in enumerate(item_ids))


@lru_cache(maxsize=64)
def _positional_statement(mark: str, answers: int) -> str:
    return _COLUMNS + ", ".join([f"({mark}, {mark}, {mark}, FALSE, '', '')"] * answers)


def insert_block(connection, block: AnswerBlock, rows: list[int], response_ids: list[int]) -> int:
    """Store the answers of `rows` of the block for these response ids; returns the answers stored."""
    if connection.dialect.name == "sqlite":
        return store_on_sqlite(connection.connection.dbapi_connection, block, rows, response_ids)
    if not rows or not block.width:
        return 0
    if uses_copy(connection):
        return copy_rows(connection, "answer", ("response_id", "item_id", "score", "not_applicable", "raw", "comment"),
                         _answer_tuples(block, rows, response_ids))
    _insert_positional(connection, block, rows, response_ids)
    updates = _extras(block, rows, response_ids)
    if updates:
        connection.exec_driver_sql(_EXTRAS.format(placeholder(connection)), updates)
    return len(rows) * block.width


def store_on_sqlite(database, block: AnswerBlock, rows: list[int], response_ids) -> int:
    """The SQLite path, on a sqlite3 connection inside the caller's transaction."""
    width = block.width
    if not len(rows) or not width:
        return 0
    matrix = np.empty((len(rows), width + 1), dtype=np.float64)
    matrix[:, 0] = response_ids          # whole floats: the INTEGER column stores them as integers
    matrix[:, 1:] = block.scores[rows]
    per_statement = max(1, MAX_PARAMETERS // (width + 1))
    full = len(rows) // per_statement * per_statement
    if full:
        batches = matrix[:full].reshape(-1, per_statement * (width + 1)).tolist()
        sql = _numbered_statement(block.item_ids, per_statement)
        for start in range(0, len(batches), STATEMENTS_PER_CALL):
            database.executemany(sql, batches[start:start + STATEMENTS_PER_CALL])
    if full < len(rows):
        database.execute(_numbered_statement(block.item_ids, len(rows) - full), matrix[full:].ravel().tolist())
    updates = _extras(block, rows, response_ids)
    if updates:
        database.executemany(_EXTRAS.format("?"), updates)
    return len(rows) * width


def _insert_positional(connection, block: AnswerBlock, rows: list[int], response_ids: list[int]) -> None:
    """Other databases: (response id, item id, score) per answer, NaN as NULL."""
    mark = placeholder(connection)
    values = []
    for response_id, scores in zip(response_ids, block.scores[rows].tolist()):
        for item_id, score in zip(block.item_ids, scores):
            values.append((response_id, item_id, None if score != score else score))
    per_statement = MAX_PARAMETERS // 3
    for start in range(0, len(values), per_statement):
        chunk = values[start:start + per_statement]
        connection.exec_driver_sql(_positional_statement(mark, len(chunk)),
                                   tuple(value for answer in chunk for value in answer))


def _answer_tuples(block: AnswerBlock, rows: list[int], response_ids: list[int]):
    """(response id, item id, score, not_applicable, raw, note) of every answer of these rows, NaN as NULL."""
    with_extras = block.rows_with_extras()
    item_ids = block.item_ids
    for row, response_id, scores in zip(rows, response_ids, block.scores[rows].tolist()):
        response_id = int(response_id)
        special = with_extras.get(row, ()) if with_extras else ()
        for column, (item_id, score) in enumerate(zip(item_ids, scores)):
            if column in special:
                not_applicable, raw, note = block.extras[(row, column)]
                yield (response_id, item_id, None if score != score else score, bool(not_applicable), raw, note)
            else:
                yield (response_id, item_id, None if score != score else score, False, "", "")


def _extras(block: AnswerBlock, rows, response_ids) -> list[tuple]:
    """(not_applicable, raw, note, response id, item id) for the cells of these rows that have extras."""
    with_extras = block.rows_with_extras()
    updates = []
    if with_extras:
        for row, response_id in zip(rows, response_ids):
            for column in with_extras.get(row, ()):
                not_applicable, raw, note = block.extras[(row, column)]
                updates.append((not_applicable, raw, note, int(response_id), block.item_ids[column]))
    return updates


def delete_answers(connection, response_ids: list[int]) -> None:
    """Delete the answers of these responses (replaced ones, or rows stored early that did not become new)."""
    mark = placeholder(connection)
    for start in range(0, len(response_ids), 500):
        chunk = response_ids[start:start + 500]
        connection.exec_driver_sql(f"DELETE FROM answer WHERE response_id IN ({', '.join([mark] * len(chunk))})",
                                   tuple(chunk))
