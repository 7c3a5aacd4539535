"""A block's answers into the answer table: a million rows without a million tuples.

On SQLite each statement carries whole responses: the response id is bound
once and every answer row of that response refers to it by number (?1),
item ids are integer literals in the statement (they come from the store),
and scores are bound straight from the block's matrix (SQLite stores a NaN
bound as NULL, which is what a missing score is). So a response of ten
answers costs eleven bound values, not forty. That path talks to the
sqlite3 connection itself, so it can also run in a thread (see early.py).
PostgreSQL (psycopg) takes whole answer rows, extras included, with a binary
COPY in the session's transaction (csat.store.bulk.copy_binary): numpy lays
out the rows from the block's matrix, so a million answers are not a million
tuples formatted one by one on the client. Other databases get
the same rows with plain positional parameters; cells with more than a
number (N/A, a label as written, a note) are then set by primary key: they
are few.
"""

from __future__ import annotations

import sqlite3
import struct
from functools import lru_cache

import numpy as np

from csat.importer.answers import AnswerBlock
from csat.store.bulk import MAX_PARAMETERS, STATEMENTS_PER_CALL, copy_binary, placeholder, uses_copy

THREADED_PARAMETERS = 3960
_COLUMNS = "INSERT INTO answer (response_id, item_id, score, not_applicable, raw, comment) VALUES "
_EXTRAS = "UPDATE answer SET not_applicable = {0}, raw = {0}, comment = {0} WHERE response_id = {0} AND item_id = {0}"


@lru_cache(maxsize=64)
def _numbered_statement(item_ids: tuple[int, ...], responses: int) -> str:
    width = len(item_ids) + 1
    return _COLUMNS + ", ".join(
        f"(?{response * width + 1}, {item_id}, ?{response * width + 2 + column}, FALSE, '', '')"
        for response in range(responses) for column, item_id in enumerate(item_ids))


def _parameters_per_statement(database) -> int:
    """Bound values per answer statement: about 4,000 where SQLite allows it (3.32 and later allow 32,766).

    Each statement is a hand-over of Python's GIL when answers are stored by a thread beside
    a busy main thread (early.py): the thread waits for the GIL after every statement, so
    four times fewer statements let it store as fast as it does alone.
    """
    try:
        allowed = database.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):
        allowed = MAX_PARAMETERS + 9
    return max(MAX_PARAMETERS, min(THREADED_PARAMETERS, allowed - 9))


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
        encoding = connection.connection.driver_connection.info.encoding      # binary text is in the client's
        copy_binary(connection, "answer", _ANSWER_COLUMNS, _binary_answers(block, rows, response_ids, encoding))
        return len(rows) * block.width
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
    parameters = _parameters_per_statement(database)
    per_statement = max(1, parameters // (width + 1))
    per_call = max(1, STATEMENTS_PER_CALL * MAX_PARAMETERS // parameters)
    full = len(rows) // per_statement * per_statement
    if full:
        # Python floats only for the statements of one call at a time: a million at once would
        # hold some 30 MB while the import's main thread builds its responses.
        batches = matrix[:full].reshape(-1, per_statement * (width + 1))
        sql = _numbered_statement(block.item_ids, per_statement)
        for start in range(0, len(batches), per_call):
            database.executemany(sql, batches[start:start + per_call].tolist())
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


_ANSWER_COLUMNS = ("response_id", "item_id", "score", "not_applicable", "raw", "comment")
# Binary COPY rows of the answer table: response_id and item_id integer, score double precision
# (or NULL), not_applicable boolean, raw and comment empty text. Cells with extras go separately.
_SCORED = np.dtype([("fields", ">i2"), ("response_length", ">i4"), ("response_id", ">i4"), ("item_length", ">i4"),
                    ("item_id", ">i4"), ("score_length", ">i4"), ("score", ">f8"), ("flag_length", ">i4"),
                    ("not_applicable", "u1"), ("raw_length", ">i4"), ("comment_length", ">i4")])
_UNSCORED = np.dtype([("fields", ">i2"), ("response_length", ">i4"), ("response_id", ">i4"), ("item_length", ">i4"),
                      ("item_id", ">i4"), ("score_length", ">i4"), ("flag_length", ">i4"),
                      ("not_applicable", "u1"), ("raw_length", ">i4"), ("comment_length", ">i4")])
_ROWS_PER_CHUNK = 10_000     # responses encoded at a time: bounds the memory the encoded rows hold


def _binary_answers(block: AnswerBlock, rows: list[int], response_ids: list[int], encoding: str = "utf-8"):
    """The answers of these rows as binary COPY data, in chunks: numpy lays out the rows with a plain
    score (or none), a few struct-packed rows carry the cells with extras."""
    from csat.store.bulk import BINARY_SIGNATURE, BINARY_TRAILER

    width = block.width
    item_ids = np.asarray(block.item_ids, dtype=np.int64)
    with_extras = block.rows_with_extras()
    yield BINARY_SIGNATURE
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        chunk_rows = rows[start:start + _ROWS_PER_CHUNK]
        chunk_ids = response_ids[start:start + _ROWS_PER_CHUNK]
        scores = block.scores[chunk_rows].ravel()
        answer_response = np.repeat(np.asarray(chunk_ids, dtype=np.int64), width)
        answer_item = np.tile(item_ids, len(chunk_rows))
        plain = np.ones(len(scores), dtype=bool)
        special = []
        if with_extras:
            for position, (row, response_id) in enumerate(zip(chunk_rows, chunk_ids)):
                for column in with_extras.get(row, ()):
                    plain[position * width + column] = False
                    special.append((int(response_id), block.item_ids[column], scores[position * width + column],
                                    *block.extras[(row, column)]))
        missing = np.isnan(scores)
        for dtype, selected in ((_SCORED, plain & ~missing), (_UNSCORED, plain & missing)):
            count = int(selected.sum())
            if not count:
                continue
            encoded = np.zeros(count, dtype=dtype)
            encoded["fields"] = 6
            encoded["response_length"] = encoded["item_length"] = 4
            encoded["response_id"] = answer_response[selected]
            encoded["item_id"] = answer_item[selected]
            if dtype is _SCORED:
                encoded["score_length"] = 8
                encoded["score"] = scores[selected]
            else:
                encoded["score_length"] = -1
            encoded["flag_length"] = 1
            yield encoded.tobytes()
        if special:
            yield b"".join(_binary_row(*answer, encoding) for answer in special)
    yield BINARY_TRAILER


def _binary_row(response_id: int, item_id: int, score: float, not_applicable: bool, raw: str, note: str,
                encoding: str) -> bytes:
    """One answer row of binary COPY data; text goes in the client encoding, as in text COPY."""
    raw_bytes, note_bytes = raw.encode(encoding), note.encode(encoding)
    score_field = struct.pack(">i", -1) if score != score else struct.pack(">id", 8, score)
    return (struct.pack(">hiiii", 6, 4, response_id, 4, item_id) + score_field
            + struct.pack(">i?i", 1, bool(not_applicable), len(raw_bytes)) + raw_bytes
            + struct.pack(">i", len(note_bytes)) + note_bytes)


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
