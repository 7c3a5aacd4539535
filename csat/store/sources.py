"""Imported files kept whole in the store, under their SHA-256: what every imported record came from.

An auditor asks "show me the form this 62 came from". So every file an import reads (returned
forms, consolidated sheets, feedback logs, customer lists) is kept byte for byte in the
`source_file` table, and the responses and feedback entries it produced point at it
(source_file_id, with the sheet and row inside it).

Why a table and not a workspace `archive/` folder: the archive row is written in the same
transaction as the records it produced, so an import that rolls back (a problem in any cell, a
crash) leaves no file behind, and a committed one never lacks its file; it rides along with
`csat db backup` and pg_dump, so a restored store still has its evidence; and it works the same
on SQLite and PostgreSQL (bytea), where several machines share one store and no folder is
shared. A file is kept once whatever its name: the same bytes imported again (a nightly re-import,
a copy under another name) find the row already there (INSERT ... ON CONFLICT DO NOTHING, so two
imports of one file at once do not fail each other). Survey files are a few hundred kilobytes,
a 100,000-row sheet a few megabytes: the store grows by what was imported, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Optional

from csat.errors import CsatError, NotFound, StoreError
from csat.i18n import _

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "csv": "text/csv",
}
KINDS = ("responses", "feedback", "customers")
SHORT = 12   # hex digits of a SHA-256 shown to people (`response show`); `sources get` takes any prefix


def media_type(kind: str) -> str:
    """The media type of a file sniffed as xlsx, xls, ods or csv (csat.sheets.read.sniff_kind)."""
    return MEDIA_TYPES.get(kind, "application/octet-stream")


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Archived:
    """A file in the archive: its id, hash and whether this transaction added it."""

    id: int
    sha256: str
    name: str
    new: bool


def archive(connection, content: bytes, name: str, kind: str, file_kind: str = "") -> Archived:
    """Keep `content` in the archive inside the caller's transaction; the same bytes are kept once.

    `kind` says what the file fed (responses, feedback, customers); `file_kind` is what it was read
    as (xlsx, xls, ods, csv), for its media type. A new file gets an audit entry (name, hash, size).
    """
    from sqlalchemy import select

    from csat.store import audit
    from csat.store.models import SourceFile, now

    digest = sha256_of(content)
    table = SourceFile.__table__
    values = {"sha256": digest, "name": name[:500], "size": len(content), "media_type": media_type(file_kind),
              "kind": kind, "content": content, "imported_at": now(), "actor": audit.actor()[:100],
              "host": audit.host()}
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    inserted = connection.execute(insert(table).values(**values).on_conflict_do_nothing(index_elements=["sha256"])
                                  .returning(table.c.id)).first()
    if inserted is None:
        found = connection.execute(select(table.c.id, table.c.name).where(table.c.sha256 == digest)).one()
        return Archived(found.id, digest, found.name, False)
    audit.record(connection, "source_file", "insert", inserted.id, digest[:SHORT], {"new": {
        "sha256": digest, "name": values["name"], "size": values["size"], "media_type": values["media_type"],
        "kind": kind}})
    return Archived(inserted.id, digest, values["name"], True)


def _records_by_file(session) -> dict[int, int]:
    """How many responses, feedback entries and customers refer to each archived file."""
    from sqlalchemy import func, select

    from csat.store.models import Customer, Feedback, Response

    counts: dict[int, int] = {}
    for model in (Response, Feedback, Customer):
        for file_id, count in session.execute(select(model.source_file_id, func.count())
                                              .where(model.source_file_id.is_not(None))
                                              .group_by(model.source_file_id)):
            counts[file_id] = counts.get(file_id, 0) + count
    return counts


def list_sources(session) -> list[dict[str, Any]]:
    """Every archived file, oldest first (the JSON shape of `csat sources list`), without its bytes."""
    from sqlalchemy import select

    from csat.store.models import SourceFile

    records = _records_by_file(session)
    rows = session.execute(select(SourceFile.id, SourceFile.sha256, SourceFile.name, SourceFile.size,
                                  SourceFile.media_type, SourceFile.kind, SourceFile.imported_at, SourceFile.actor,
                                  SourceFile.host).order_by(SourceFile.id)).all()
    return [{"id": row.id, "sha256": row.sha256, "name": row.name, "size": row.size, "media_type": row.media_type,
             "kind": row.kind, "imported_at": row.imported_at, "imported_by": row.actor, "host": row.host,
             "records": records.get(row.id, 0)} for row in rows]


def find(session, prefix: str):
    """The archived file whose SHA-256 starts with `prefix` (at least 6 hex digits, one match)."""
    from sqlalchemy import select

    from csat.store.models import SourceFile

    text = (prefix or "").strip().lower()
    if len(text) < 6 or any(char not in "0123456789abcdef" for char in text):
        raise CsatError(_("give at least 6 hex digits of the file's SHA-256 (see `csat sources list`), not {prefix!r}",
                          prefix=prefix))
    matches = session.execute(select(SourceFile.id, SourceFile.sha256).where(SourceFile.sha256.startswith(text))
                              .limit(2)).all()
    if not matches:
        raise NotFound(_("no archived file with SHA-256 {prefix}...; see `csat sources list`", prefix=text))
    if len(matches) > 1:
        raise CsatError(_("several archived files start with {prefix}; give more digits", prefix=text))
    return session.get(SourceFile, matches[0].id)


def content_of(session, prefix: str) -> tuple[dict[str, Any], bytes]:
    """(the file's record as in `sources list`, its exact bytes); the bytes are checked against the hash."""
    found = find(session, prefix)
    content = bytes(found.content)
    if sha256_of(content) != found.sha256:      # never hand out bytes that are not what was imported
        raise StoreError(_("the archived file {name} no longer matches its SHA-256 {sha256}",
                                 name=found.name, sha256=found.sha256))
    record = next(record for record in list_sources(session) if record["id"] == found.id)
    return record, content


def reference(session, file_id: Optional[int]) -> Optional[dict[str, Any]]:
    """{"id", "sha256", "name", "imported_at"} of an archived file, None for no file."""
    from sqlalchemy import select

    from csat.store.models import SourceFile

    if file_id is None:
        return None
    row = session.execute(select(SourceFile.id, SourceFile.sha256, SourceFile.name, SourceFile.imported_at)
                          .where(SourceFile.id == file_id)).first()
    return None if row is None else {"id": row.id, "sha256": row.sha256, "name": row.name,
                                     "imported_at": row.imported_at}


def imported_at(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M")
