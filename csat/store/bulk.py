"""Bulk inserts through a Core connection: multi-row VALUES statements run with executemany.

A one-row INSERT per record costs more in per-statement overhead than in
SQLite's own work, and SQLAlchemy's insert() with dictionaries costs more
again; a statement that carries a few hundred rows, executed many times, is
the fastest portable path (the importer's responses, the audit trail's entries).
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Any, Iterable, Optional, Sequence

MAX_PARAMETERS = 990   # under SQLite's historical limit of 999 bound parameters per statement
STATEMENTS_PER_CALL = 200   # statements per executemany: bounds the memory held in parameters


def placeholder(connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def insert_rows(connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                same: Optional[dict[str, Any]] = None) -> int:
    """Insert tuples with multi-row VALUES statements through executemany; returns the row count.

    Values in `same` (column -> value) are the same for every row: SQLite binds them once
    per statement as numbered parameters that every row refers to; other databases get
    them appended to each row.
    """
    same = same or {}
    numbered = bool(same) and connection.dialect.paramstyle == "qmark"
    shared = tuple(same.values())
    if same and not numbered:
        rows = (tuple(row) + shared for row in rows)
        columns, same = [*columns, *same], {}
    names = [*columns, *same]
    width = len(columns)
    per_statement = max(1, (MAX_PARAMETERS - len(same)) // width)

    def statement(count: int) -> str:
        if numbered:
            first = len(same) + 1
            tail = [f"?{number}" for number in range(1, len(same) + 1)]
            values = ", ".join(
                "(" + ", ".join([f"?{first + row * width + column}" for column in range(width)] + tail) + ")"
                for row in range(count))
        else:
            mark = placeholder(connection)
            values = ", ".join(["(" + ", ".join([mark] * width) + ")"] * count)
        return f"INSERT INTO {table} ({', '.join(names)}) VALUES {values}"

    full_sql = statement(per_statement)
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
        batches.append(shared * numbered + tuple(chain.from_iterable(chunk)))
        if len(batches) == STATEMENTS_PER_CALL:
            connection.exec_driver_sql(full_sql, batches)
            batches = []
    if batches:
        connection.exec_driver_sql(full_sql, batches)
    if tail:
        connection.exec_driver_sql(statement(len(tail)), shared * numbered + tuple(chain.from_iterable(tail)))
    return count
