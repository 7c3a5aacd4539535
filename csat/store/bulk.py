"""Bulk inserts through a Core connection: multi-row VALUES statements run with executemany.

A one-row INSERT per record costs more in per-statement overhead than in
SQLite's own work, and SQLAlchemy's insert() with dictionaries costs more
again; a statement that carries a few hundred rows, executed many times, is
the fastest portable path (the importer's responses, the audit trail's entries).
On PostgreSQL the same rows go through COPY ... FROM STDIN (psycopg 3's copy
support) on the session's own driver connection, so they stay inside the
caller's transaction: one stream instead of thousands of statements.

A large load into a table with foreign keys checks them once, as a set, not row
by row (foreign_keys_checked_once): PostgreSQL checks a foreign key with one
index lookup and row lock per inserted row, which for a million answers costs
five times the COPY itself. See that function for how and when.
"""

from __future__ import annotations

from contextlib import contextmanager
from itertools import chain, islice
from typing import Any, Iterable, Iterator, Optional, Sequence

MAX_PARAMETERS = 990   # under SQLite's historical limit of 999 bound parameters per statement
STATEMENTS_PER_CALL = 200   # statements per executemany: bounds the memory held in parameters

# foreign_keys_checked_once: below this many rows the row-by-row checks cost less than a
# second and the tables are not worth locking; above it, checking the whole table once must
# cost less than checking the new rows one by one. Measured on PostgreSQL 15, a row check of
# the answer table's two keys costs about 15 times what re-checking a stored row does.
CHECK_ONCE_MIN_ROWS = 20_000
CHECK_ONCE_STORED_PER_NEW_ROW = 10


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


@contextmanager
def foreign_keys_checked_once(connection, table: str, rows: int) -> Iterator[bool]:
    """Load `rows` rows into `table` inside this block with its foreign keys checked once, at the end.

    PostgreSQL only; yields whether it does so. The table's foreign key constraints are dropped
    and added back as they were (pg_get_constraintdef) in the caller's transaction: adding a
    foreign key checks every row of the table with one join, and a row that refers to nothing
    fails the whole transaction, as a row-by-row check would. DDL is transactional, so a
    failure or a crash leaves the constraints as they were. Dropping them needs the table
    and the tables it refers to locked ACCESS EXCLUSIVE until commit: the lock is asked for
    with NOWAIT, so the import never waits for (or deadlocks with) another session reading
    them; when one is, or the role does not own the table, or the load is small next to what
    the table holds, the rows are checked one by one as usual. Readers that come while the
    lock is held wait for the commit.
    """
    if not uses_copy(connection) or rows < CHECK_ONCE_MIN_ROWS:
        yield False
        return
    import psycopg

    database = connection.connection.driver_connection
    constraints = database.execute(
        "SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname", (table,)).fetchall()
    stored = database.execute(
        "SELECT greatest(reltuples, pg_relation_size(oid) / 40) FROM pg_class WHERE oid = %s::regclass",
        (table,)).fetchone()[0]
    referenced = sorted({target for _, _, target in constraints})
    allowed = database.execute(
        "SELECT pg_has_role(relowner, 'USAGE') FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()[0] \
        and all(database.execute("SELECT has_table_privilege(%s, 'REFERENCES')", (target,)).fetchone()[0]
                for target in referenced)
    if not constraints or not allowed or stored > rows * CHECK_ONCE_STORED_PER_NEW_ROW:
        yield False
        return
    quote = connection.dialect.identifier_preparer.quote
    try:
        with database.transaction():          # a savepoint: a refused lock leaves the import's transaction usable
            database.execute(f"LOCK TABLE {', '.join([table, *referenced])} IN ACCESS EXCLUSIVE MODE NOWAIT")
            database.execute(f"ALTER TABLE {table} "
                             + ", ".join(f"DROP CONSTRAINT {quote(name)}" for name, _, _ in constraints))
    except (psycopg.errors.LockNotAvailable, psycopg.errors.InsufficientPrivilege):
        yield False
        return
    yield True
    database.execute(f"ALTER TABLE {table} "
                     + ", ".join(f"ADD CONSTRAINT {quote(name)} {definition}" for name, definition, _ in constraints))


def copy_binary(connection, table: str, columns: Sequence[str], chunks: Iterable[bytes]) -> None:
    """COPY ... (FORMAT BINARY) of chunks the caller encoded whole, signature and trailer included
    (see binary_signature): for rows built with numpy, where formatting a million of them one by
    one would cost more than the server takes to store them."""
    from psycopg.copy import QueuedLibpqWriter

    database = connection.connection.driver_connection
    with database.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)",
                         writer=QueuedLibpqWriter(cursor)) as copy:
            for chunk in chunks:
                copy.write(chunk)


# PostgreSQL's binary COPY stream: this signature, then each row as a 16-bit field count and
# each field as a 32-bit length (-1 for NULL) and its bytes, all big-endian; then BINARY_TRAILER.
BINARY_SIGNATURE = b"PGCOPY\n\xff\r\n\0" + bytes(8)
BINARY_TRAILER = b"\xff\xff"


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
