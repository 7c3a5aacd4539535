"""Bulk inserts through a Core connection: multi-row VALUES statements run with executemany.

A one-row INSERT per record costs more in per-statement overhead than in
SQLite's own work, and SQLAlchemy's insert() with dictionaries costs more
again; a statement that carries a few hundred rows, executed many times, is
the fastest portable path (the importer's answers, the audit trail's entries).
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Iterable, Sequence

MAX_PARAMETERS = 990   # under SQLite's historical limit of 999 bound parameters per statement
STATEMENTS_PER_CALL = 200   # statements per executemany: bounds the memory held in parameters


def placeholder(connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def insert_rows(connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                literal_tail: Sequence[str] = ()) -> int:
    """Insert tuples with multi-row VALUES statements through executemany; returns the row count.

    Columns named in literal_tail are set to '' in the statement itself rather than bound.
    """
    mark = placeholder(connection)
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    row_marks = "(" + ", ".join([mark] * len(columns) + ["''"] * len(literal_tail)) + ")"
    head = f"INSERT INTO {table} ({', '.join([*columns, *literal_tail])}) VALUES "
    full_sql = head + ", ".join([row_marks] * per_statement)
    iterator = iter(rows)
    batches: list[tuple] = []
    tail: list[tuple] = []
    count = 0
    while True:
        chunk = list(islice(iterator, per_statement))
        count += len(chunk)
        if len(chunk) < per_statement:
            tail = chunk
            break
        batches.append(tuple(chain.from_iterable(chunk)))
        if len(batches) == STATEMENTS_PER_CALL:
            connection.exec_driver_sql(full_sql, batches)
            batches = []
    if batches:
        connection.exec_driver_sql(full_sql, batches)
    if tail:
        connection.exec_driver_sql(head + ", ".join([row_marks] * len(tail)), tuple(chain.from_iterable(tail)))
    return count
