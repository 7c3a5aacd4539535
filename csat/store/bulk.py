"""Bulk inserts through a Core connection: multi-row VALUES statements run with executemany.

A one-row INSERT per record costs more in per-statement overhead than in
SQLite's own work, and SQLAlchemy's insert() with dictionaries costs more
again; a statement that carries a few hundred rows, executed many times, is
the fastest portable path (the importer's responses, the audit trail's entries).
On PostgreSQL the same rows go through COPY ... FROM STDIN (psycopg 3's copy
support) on the session's own driver connection, so they stay inside the
caller's transaction: one stream instead of thousands of statements.
"""

from __future__ import annotations

from itertools import chain, islice
from typing import Any, Iterable, Optional, Sequence

MAX_PARAMETERS = 990   # under SQLite's historical limit of 999 bound parameters per statement
STATEMENTS_PER_CALL = 200   # statements per executemany: bounds the memory held in parameters


def placeholder(connection) -> str:
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def uses_copy(connection) -> bool:
    """Whether bulk rows go in with COPY: PostgreSQL through psycopg 3."""
    return connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"


def copy_rows(connection, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """COPY tuples into `table` on the connection's psycopg connection, in its open transaction.

    Text format: psycopg writes each Python value (int, float, str, bool, date, datetime,
    None) as PostgreSQL reads it back for the column's type; returns the row count.
    """
    from psycopg.copy import QueuedLibpqWriter

    database = connection.connection.driver_connection
    count = 0
    with database.cursor() as cursor:
        # The queued writer sends from a worker thread: formatting the next rows here overlaps
        # the server's work on the last ones (a million answers: the server is the slower side).
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)
                count += 1
    return count


def insert_rows(connection, table: str, columns: Sequence[str], rows: Iterable[tuple],
                same: Optional[dict[str, Any]] = None) -> int:
    """Insert tuples with multi-row VALUES statements through executemany; returns the row count.

    Values in `same` (column -> value) are the same for every row: SQLite binds them once
    per statement as numbered parameters that every row refers to; other databases get
    them appended to each row. PostgreSQL (psycopg) takes the rows with COPY.
    """
    same = same or {}
    if uses_copy(connection):
        shared = tuple(same.values())
        return copy_rows(connection, table, [*columns, *same],
                         (tuple(row) + shared for row in rows) if shared else rows)
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
